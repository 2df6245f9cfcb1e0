//! Real parts the integration tests start and stop themselves.

pub mod redis;
pub mod redis_tls;
