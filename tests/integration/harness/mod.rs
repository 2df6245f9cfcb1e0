//! Test harness: keys made at test time, the plugin on a free loopback port, an attr_url
//! receiver that is a real HTTP server.

pub mod app;
pub mod browser;
pub mod keys;
pub mod receiver;

pub use app::{Options, TestApp};

/// A free loopback port (bound and released; the caller binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
