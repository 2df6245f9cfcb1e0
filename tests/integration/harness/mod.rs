//! Test harness: keys made at test time, the plugin on a free loopback port, an attr_url
//! receiver that is a real HTTP server.

pub mod app;
pub mod browser;
pub mod keys;
pub mod openapi;
pub mod pages;
pub mod process;
pub mod receiver;

/// A free loopback port (bound and released; the caller binds it right after).
pub use crate::support::redis::free_port;
pub use app::{Options, TestApp};

/// Runs each listed `async fn case(store: StoreKind)` twice: as `memory::case` and as
/// `redis::case` (each Redis case on a redis-server of its own).
macro_rules! for_each_store {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $case() {
                    super::$case(auth_eid::config::StoreKind::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $case() {
                    super::$case(auth_eid::config::StoreKind::Redis).await;
                }
            )*
        }
    };
}
pub(crate) use for_each_store;
