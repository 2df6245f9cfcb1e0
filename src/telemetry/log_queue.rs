//! The queue between the threads that log and the one thread that writes to stderr.
//!
//! A line is appended to one shared buffer under a lock held only for the copy; the writer
//! thread takes the whole buffer at once and writes it with one `write(2)`. The writer is woken
//! only when it is parked on an empty queue: a quiet server's line goes out at once, a busy
//! server's lines go out in batches every [`BATCH_EVERY`]. (tracing-appender, used before, sends
//! every line as its own allocation through a channel and wakes the writer for most of them; at
//! 40,000 requests/s the wake-ups, context switches and per-line writes cost about as much CPU
//! as the request handling itself: docs/performance.md.)
//!
//! Never blocks a request: past [`QUEUE_BYTES`] waiting, lines are dropped and counted, and the
//! count is written as soon as there is room. A stalled or closed stderr only loses lines.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes waiting for the writer before new lines are dropped (about 8,000 typical lines).
const QUEUE_BYTES: usize = 1 << 20;

/// How long a busy writer gathers lines before its next write.
const BATCH_EVERY: Duration = Duration::from_millis(10);

/// How long the guard's drop waits for the last lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    dropped: u64,
    /// The writer waits for a line (only then does a line wake it).
    parked: bool,
    closing: bool,
    /// The writer has written everything and stopped.
    done: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer (a line for a parked writer, or closing) and the guard (done).
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves only bytes behind: still usable.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Appends lines; cheap to clone, one per formatted event.
#[derive(Clone)]
pub struct LogQueue(Arc<Shared>);

impl LogQueue {
    pub fn push(&self, line: &[u8]) {
        let mut p = self.0.lock();
        if p.closing || p.lines.len() + line.len() > QUEUE_BYTES {
            p.dropped += 1;
            return;
        }
        p.lines.extend_from_slice(line);
        let wake = std::mem::take(&mut p.parked);
        drop(p);
        if wake {
            self.0.wake.notify_all();
        }
    }
}

/// Keeps the writer thread; dropping it writes what is queued (waiting at most a second).
pub struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let mut p = self.shared.lock();
        p.closing = true;
        self.shared.wake.notify_all();
        let (p, _) = self
            .shared
            .wake
            .wait_timeout_while(p, FLUSH_WAIT, |p| !p.done)
            .unwrap_or_else(|e| e.into_inner());
        let done = p.done;
        drop(p);
        if done {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The queue and its writer thread, writing to `out`.
pub fn start(out: impl Write + Send + 'static) -> io::Result<(LogQueue, WriterGuard)> {
    let shared = Arc::new(Shared::default());
    let writer = shared.clone();
    let thread = std::thread::Builder::new()
        .name("auth-eid-log".into())
        .spawn(move || write_all(&writer, out))?;
    Ok((
        LogQueue(shared.clone()),
        WriterGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_all(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut p = shared.lock();
        while p.lines.is_empty() && p.dropped == 0 && !p.closing {
            p.parked = true;
            p = shared.wake.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        p.parked = false;
        // The emptied buffer goes back in, so neither side allocates once both have grown.
        std::mem::swap(&mut p.lines, &mut batch);
        let dropped = std::mem::take(&mut p.dropped);
        let closing = p.closing;
        drop(p);
        if dropped > 0 {
            let note = format!("[{dropped} log lines dropped: the log queue was full]\n");
            batch.extend_from_slice(note.as_bytes());
        }
        let _ = out.write_all(&batch);
        let _ = out.flush();
        batch.clear();
        if closing {
            let mut p = shared.lock();
            if p.lines.is_empty() {
                p.done = true;
                shared.wake.notify_all();
                return;
            }
            continue;
        }
        // Gather the next batch; the lines arriving meanwhile do not wake this thread.
        let p = shared.lock();
        let _ = shared
            .wake
            .wait_timeout_while(p, BATCH_EVERY, |p| !p.closing)
            .unwrap_or_else(|e| e.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the writer thread writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_come_out_in_order_and_the_guard_flushes() {
        let sink = Sink::default();
        let (queue, guard) = start(sink.clone()).unwrap();
        for i in 0..1000 {
            queue.push(format!("line {i}\n").as_bytes());
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let want: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, want);
    }

    #[test]
    fn a_quiet_line_is_written_at_once() {
        let sink = Sink::default();
        let (queue, _guard) = start(sink.clone()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        queue.push(b"hello\n");
        for _ in 0..100 {
            if sink.0.lock().unwrap().as_slice() == b"hello\n" {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the line did not come out");
    }

    /// A writer that never returns: the queue fills, lines are dropped, pushing never blocks.
    #[test]
    fn a_stalled_stderr_drops_lines_instead_of_blocking() {
        struct Stalled;
        impl Write for Stalled {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_secs(3600));
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (queue, guard) = start(Stalled).unwrap();
        let line = [b'x'; 1000];
        let began = std::time::Instant::now();
        for _ in 0..5000 {
            queue.push(&line);
        }
        assert!(began.elapsed() < Duration::from_secs(1));
        assert!(queue.0.lock().dropped > 0);
        // The guard gives up after FLUSH_WAIT instead of waiting for the stalled write.
        drop(guard);
    }
}
