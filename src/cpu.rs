//! CPU-bound work off the async runtime's worker threads. OpenSSL path validation (about 1 ms
//! for a P-384 chain), signature checks of card and Smart-ID evidence, OCSP/CRL signature
//! checks and the result token's signature run on a small pool of our own threads, one per
//! core, so the workers stay free for I/O and quick requests (health probes) during a burst.
//!
//! - **Bounded**: a burst queues here instead of starting hundreds of threads.
//! - **Finish first**: [`run_last_step`] jobs (signing a result) are taken before new work, so
//!   in a burst each authentication ends as soon as its own checks are done instead of after
//!   everybody's, and what it holds is freed early.
//! - **Yields to the workers**: the pool's threads run at a lower scheduling priority (nice +10),
//!   so a worker that has a request to answer gets a core first.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use tokio::sync::oneshot;

/// The job did not run to its end (it panicked, or the pool is gone). Always our failure,
/// never the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CPU-bound job did not complete")]
pub struct CpuError;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queues {
    last_steps: VecDeque<Job>,
    new_work: VecDeque<Job>,
}

struct Pool {
    queues: Mutex<Queues>,
    ready: Condvar,
    /// Threads that started. None (the process is out of resources): jobs run in place.
    threads: AtomicUsize,
}

/// How much lower the pool's threads run than the async workers.
const NICE: i32 = 10;

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            threads: AtomicUsize::new(0),
        }));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..cores {
            let spawned = std::thread::Builder::new()
                .name(format!("auth-eid-cpu-{i}"))
                .spawn(move || work(pool));
            if spawned.is_ok() {
                pool.threads.fetch_add(1, Ordering::Relaxed);
            }
        }
        pool
    })
}

fn work(pool: &Pool) {
    // Linux: the nice value is per thread, and `None` is the calling thread. Best effort: a
    // system that refuses leaves the thread at the normal priority.
    let _ = rustix::process::setpriority_process(None, NICE);
    loop {
        let job = {
            let mut q = pool.queues.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(j) = q.last_steps.pop_front().or_else(|| q.new_work.pop_front()) {
                    break j;
                }
                q = pool.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        job();
    }
}

async fn submit<T, F>(last_step: bool, job: F) -> Result<T, CpuError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        // A caller that stopped waiting is not an error here.
        let _ = tx.send(catch_unwind(AssertUnwindSafe(job)).map_err(|_| CpuError));
    });
    let pool = pool();
    if pool.threads.load(Ordering::Relaxed) == 0 {
        job();
        return rx.await.map_err(|_| CpuError)?;
    }
    {
        let mut q = pool.queues.lock().unwrap_or_else(|p| p.into_inner());
        if last_step {
            q.last_steps.push_back(job);
        } else {
            q.new_work.push_back(job);
        }
    }
    pool.ready.notify_one();
    rx.await.map_err(|_| CpuError)?
}

/// Runs `job` on the pool, behind the jobs already waiting.
pub async fn run<T, F>(job: F) -> Result<T, CpuError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    submit(false, job).await
}

/// Runs `job`, the last CPU-bound step of a piece of work already under way (signing a
/// result), before any new work that is waiting.
pub async fn run_last_step<T, F>(job: F) -> Result<T, CpuError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    submit(true, job).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_off_the_calling_thread_and_returns_the_value() {
        let caller = std::thread::current().id();
        let (value, worker) = super::run(|| (7, std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(value, 7);
        assert_ne!(worker, caller);
        assert_eq!(super::run_last_step(|| 8).await, Ok(8));
        // The pool's threads yield to the async workers.
        let nice = super::run(|| rustix::process::getpriority_process(None).ok()).await;
        assert_eq!(nice, Ok(Some(super::NICE)));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_panic() {
        let r: Result<(), _> = super::run(|| panic!("boom")).await;
        assert_eq!(r, Err(super::CpuError));
        // ...and the pool still works.
        assert_eq!(super::run(|| 1).await, Ok(1));
    }
}
