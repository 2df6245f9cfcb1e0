//! The published demo keys (`demo-keys/`): used by `auth-eid demo` and the shipped demo
//! configuration, recognised and refused in production mode.

pub const SIGNING_PRIVATE: &str = include_str!("../demo-keys/signing-demo.key.pem");
pub const SIGNING_PUBLIC: &str = include_str!("../demo-keys/signing-demo.pub.pem");
pub const RECEIVER_PRIVATE: &str = include_str!("../demo-keys/receiver-demo.key.pem");
pub const RECEIVER_PUBLIC: &str = include_str!("../demo-keys/receiver-demo.pub.pem");

/// The demo's session-API relying party (`/demo/api`): its API key and webhook secret are as
/// published as the keys above, so their use is refused in production mode.
pub const API_KEY: &str = "demo-api-key-published-in-the-auth-eid-sources-not-secret";
pub const WEBHOOK_SECRET: &str = "demo-webhook-secret-published-in-the-auth-eid-sources";
