//! Log setup: one subscriber for our `tracing` events, with three promises.
//!
//! - Logging never blocks or fails a request: events go into a bounded, lossy queue that a
//!   writer thread drains to stderr ([`log_queue`]). A full queue drops lines; a stderr that is a
//!   closed pipe or a stalled reader only loses lines. (tracing-subscriber's own writer reports a
//!   failed write with `eprintln!`, which panics when stderr is gone: that took every request
//!   down.)
//! - No line is longer than [`MAX_LINE`]: one request cannot make the log grow by more than a
//!   few lines of bounded size, whatever it sends.
//! - Rocket's own records are dropped. They quote request bodies (a failed form or JSON guard
//!   prints the value) and raw paths, whose flow and session ids are bearer capabilities; our
//!   request fairing logs each request by its route template instead.

mod clock;
mod log_queue;

use std::io::{self, IsTerminal, Write};

use tracing::Metadata;
use tracing_log::AsLog;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{filter, EnvFilter, Layer};

use crate::config::LogFormat;

/// The longest line written; a longer one is cut and says how much was cut.
pub const MAX_LINE: usize = 2048;

/// Keeps the writer thread; dropping it flushes what is queued (for at most a second).
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(
    /// Held for its `Drop`, which flushes the queue.
    #[allow(dead_code)]
    Option<log_queue::WriterGuard>,
);

/// Installs the global subscriber. `RUST_LOG` overrides the configured level (Rocket's records
/// stay dropped whatever it says).
pub fn init(format: LogFormat, level: &str) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},hyper=warn,reqwest=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (queue, guard) = match log_queue::start(QuietStderr) {
        Ok(started) => started,
        Err(e) => {
            // No thread for the writer: the process cannot be served well; say so and go on
            // without logs rather than not start.
            eprintln!("auth-eid: no log writer thread ({e}); logging is off");
            return LogGuard(None);
        }
    };
    // Colours only on a terminal: files and collectors get plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(BoundedLines(queue))
        .with_timer(clock::Utc)
        .with_ansi(io::stderr().is_terminal())
        .log_internal_errors(false);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(
        fmt.with_filter(filter::filter_fn(not_rocket))
            .with_filter(filter),
    );
    // A second init (tests build several apps in one process) keeps the first subscriber.
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return LogGuard(None);
    }
    // The `log` bridge, as tracing-subscriber's `try_init` installs it, but refusing Rocket's
    // records at once: the filter above would drop each anyway, after the bridge had made a
    // tracing event of it (Rocket logs several records per request).
    let _ = tracing_log::LogTracer::builder()
        .with_max_level(tracing::level_filters::LevelFilter::current().as_log())
        .ignore_crate("rocket")
        .init();
    LogGuard(Some(guard))
}

/// Rocket logs under `rocket::*`, and its route macros under `<module>::_`.
fn not_rocket(meta: &Metadata<'_>) -> bool {
    !is_rocket_target(meta.target())
}

fn is_rocket_target(target: &str) -> bool {
    target == "rocket" || target.starts_with("rocket::") || target == "_" || target.ends_with("::_")
}

/// stderr that swallows its errors: the writer thread has nobody to tell.
struct QuietStderr;

impl Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hands each formatted event (one `write` per event) to the queue, cut to [`MAX_LINE`].
struct BoundedLines(log_queue::LogQueue);

impl<'a> MakeWriter<'a> for BoundedLines {
    type Writer = BoundedLine<'a>;

    fn make_writer(&'a self) -> BoundedLine<'a> {
        BoundedLine(&self.0)
    }
}

struct BoundedLine<'a>(&'a log_queue::LogQueue);

impl Write for BoundedLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(&bounded(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The line itself, or its first [`MAX_LINE`] bytes (at a character boundary) and a note.
fn bounded(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if line.len() <= MAX_LINE {
        return line.into();
    }
    let mut cut = MAX_LINE - 64;
    while cut > 0 && line[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    let mut short = line[..cut].to_vec();
    short.extend_from_slice(format!(" [{} bytes cut]\n", line.len() - cut).as_bytes());
    short.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let short = b"a line\n";
        assert_eq!(&*bounded(short), short);
        let long = "é".repeat(3000) + "\n";
        let cut = bounded(long.as_bytes());
        assert!(cut.len() <= MAX_LINE, "{}", cut.len());
        let text = std::str::from_utf8(&cut).expect("still UTF-8");
        assert!(text.ends_with("bytes cut]\n"), "{text}");
    }

    #[test]
    fn rocket_records_are_recognised_by_target() {
        for (target, rocket) in [
            ("rocket::server", true),
            ("rocket", true),
            ("_", true),
            ("auth_eid::web::flow::_", true),
            ("auth_eid::web::headers", false),
            ("rocketry", false),
        ] {
            assert_eq!(is_rocket_target(target), rocket, "{target}");
        }
    }
}
