//! CPU-bound work off the async runtime's worker threads. OpenSSL path validation (about 1 ms
//! for a P-384 chain), signature checks of card and Smart-ID evidence and OCSP/CRL signature
//! checks run on tokio's blocking pool, at most one job per core at a time: the workers stay
//! free for I/O and quick requests (health probes) during a burst, and a burst queues here
//! instead of starting hundreds of blocking threads.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

/// The job did not run to its end (it panicked, or the runtime is shutting down). Always our
/// failure, never the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CPU-bound job did not complete")]
pub struct CpuError;

fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs `job` on the blocking pool once a permit is free. The permit travels with the job, so
/// a caller that stops waiting does not let another job start beside a running one.
pub async fn run<T, F>(job: F) -> Result<T, CpuError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let permit = permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| CpuError)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .map_err(|_| CpuError)
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
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_panic() {
        let r: Result<(), _> = super::run(|| panic!("boom")).await;
        assert_eq!(r, Err(super::CpuError));
    }
}
