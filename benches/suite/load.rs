//! Closed-loop load on one thread: each of `conns` simulated clients runs its job back to back
//! on its own connection. Single-threaded on purpose: the generator takes at most one core and
//! needs no locks; latencies are recorded per job (microseconds) and sorted once at the end.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::http::{Conn, Fail};
use crate::plugin::usage_of;

/// Runs `f` on a current-thread runtime with a `LocalSet` (the load's tasks are `!Send`).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    tokio::task::LocalSet::new().block_on(&rt, f)
}

#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// The jobs that start and end within this time.
    Elapsed(Duration),
    /// Exactly this many jobs, all counted.
    Count(u64),
}

#[derive(Debug, Default)]
pub struct Sample {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Cores the probed process kept busy over exactly the measured window ([`measured`]).
    pub cores: Option<f64>,
    lat_us: Vec<u32>,
}

impl Sample {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency in milliseconds (nearest rank).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.lat_us, p)
    }

    /// Panics with the first error if more than `share` of the jobs failed: a broken scenario
    /// must not print figures as if it worked.
    pub fn check(&self, what: &str, share: f64) {
        let all = (self.ok + self.errors).max(1) as f64;
        if self.errors as f64 / all > share || self.ok == 0 {
            panic!(
                "{what}: {} of {} jobs failed; first: {}",
                self.errors,
                self.ok + self.errors,
                self.first_error.as_deref().unwrap_or("-")
            );
        }
    }
}

/// Nearest-rank percentile of microsecond latencies, in milliseconds.
pub fn percentile_ms(lat_us: &[u32], p: f64) -> f64 {
    if lat_us.is_empty() {
        return f64::NAN;
    }
    let mut v = lat_us.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    f64::from(v[rank.clamp(1, v.len()) - 1]) / 1000.0
}

struct Shared {
    sample: Sample,
    next: u64,
}

/// `conns` clients against `addr`, each running `job(conn, n)` (n: a number unique in this
/// load) back to back until `until`.
pub async fn run<J>(addr: SocketAddr, conns: usize, until: Until, job: J) -> Sample
where
    J: AsyncFn(&mut Conn, u64) -> Result<(), Fail> + Clone + 'static,
{
    run_probed(addr, conns, until, None, job).await
}

/// [`run`] for `d`, with the CPU time of process `pid` read at the window's start and end.
pub async fn measured<J>(addr: SocketAddr, conns: usize, d: Duration, pid: u32, job: J) -> Sample
where
    J: AsyncFn(&mut Conn, u64) -> Result<(), Fail> + Clone + 'static,
{
    run_probed(addr, conns, Until::Elapsed(d), Some(pid), job).await
}

async fn run_probed<J>(
    addr: SocketAddr,
    conns: usize,
    until: Until,
    pid: Option<u32>,
    job: J,
) -> Sample
where
    J: AsyncFn(&mut Conn, u64) -> Result<(), Fail> + Clone + 'static,
{
    let shared = Rc::new(RefCell::new(Shared {
        sample: Sample::default(),
        next: 0,
    }));
    let begun = Instant::now();
    let to = match until {
        Until::Elapsed(d) => Some(begun + d),
        Until::Count(_) => None,
    };
    // The window's end is read when it ends, not after the jobs still under way drain.
    let probe = match (pid, to) {
        (Some(pid), Some(to)) => {
            let start = usage_of(pid);
            Some(tokio::task::spawn_local(async move {
                tokio::time::sleep_until(tokio::time::Instant::from_std(to)).await;
                (usage_of(pid).cpu_s - start.cpu_s) / to.duration_since(begun).as_secs_f64()
            }))
        }
        _ => None,
    };
    let mut workers = Vec::new();
    for _ in 0..conns {
        let (shared, job) = (shared.clone(), job.clone());
        workers.push(tokio::task::spawn_local(async move {
            let mut conn = Conn::new(addr);
            loop {
                let n = {
                    let mut s = shared.borrow_mut();
                    if let Until::Count(total) = until {
                        if s.next >= total {
                            break;
                        }
                    }
                    s.next += 1;
                    s.next - 1
                };
                let started = Instant::now();
                if to.is_some_and(|t| started >= t) {
                    break;
                }
                let result = job(&mut conn, n).await;
                let ended = Instant::now();
                if to.is_some_and(|t| ended > t) {
                    continue;
                }
                let mut s = shared.borrow_mut();
                match result {
                    Ok(()) => {
                        s.sample.ok += 1;
                        let us = ended.duration_since(started).as_micros();
                        s.sample.lat_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    Err(e) => {
                        s.sample.errors += 1;
                        s.sample.first_error.get_or_insert(e);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.expect("a load worker panicked");
    }
    let end = to.unwrap_or_else(Instant::now);
    let mut sample = std::mem::take(&mut shared.borrow_mut().sample);
    sample.elapsed = end.duration_since(begun);
    if let Some(p) = probe {
        sample.cores = Some(p.await.expect("the CPU probe"));
    }
    sample
}
