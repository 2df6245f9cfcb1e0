//! The server's life as `/health/ready` reports it.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the server is shutting down: `/health/ready` then answers 503, so a load
/// balancer stops sending new work while in-flight requests finish.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}
