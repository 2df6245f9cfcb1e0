//! A liveness probe beside a load: `GET /health/live` on a new connection (as an orchestrator's
//! probe makes it) every 20 ms, from its own thread and runtime, so the load generator's busy
//! thread cannot delay it and the latency is the plugin's. A probe that fails or takes longer
//! than 2 s counts as 2 s.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::Conn;
use crate::load;

const EVERY: Duration = Duration::from_millis(20);
const GIVE_UP: Duration = Duration::from_secs(2);

pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<u32>>,
}

impl Probe {
    pub fn start(addr: SocketAddr) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            load::block_on(async move {
                let mut lat_us = Vec::new();
                while !flag.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let mut c = Conn::new(addr);
                    let ok = tokio::time::timeout(GIVE_UP, c.get("/health/live"))
                        .await
                        .is_ok_and(|r| r.is_ok_and(|a| a.status == 200));
                    let took = if ok { t.elapsed() } else { GIVE_UP };
                    lat_us.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                    tokio::time::sleep(EVERY.saturating_sub(t.elapsed())).await;
                }
                lat_us
            })
        });
        Probe { stop, thread }
    }

    /// Stops the probe; gives its latencies in microseconds.
    pub fn stop(self) -> Vec<u32> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
