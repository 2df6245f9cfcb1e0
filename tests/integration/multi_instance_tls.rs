//! Instances reach Redis over TLS (`rediss://`), with the server certificate verified: the
//! plugin runs as a process whose trust store (`SSL_CERT_FILE`, read by OpenSSL) holds the
//! test CA, or does not.

use std::time::{Duration, Instant};

use auth_eid::config::StoreKind;

use crate::harness::process::PluginProcess;
use crate::harness::{Options, TestApp};
use crate::support::redis_tls::TlsRedis;

async fn ready(base: &str) -> u16 {
    reqwest::get(format!("{base}/health/ready"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_over_tls_serves_flows_and_an_untrusted_certificate_is_refused() {
    let redis = TlsRedis::start();
    let options = Options {
        store: StoreKind::Redis,
        ..Options::default()
    };
    let ca = redis.ca_file.to_str().unwrap();
    let trusted =
        PluginProcess::start_with_env(&options, Some(&redis.url()), &[("SSL_CERT_FILE", ca)]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready(&trusted.base).await != 200 {
        assert!(Instant::now() < deadline, "ready over TLS");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client_url = trusted.start_ok(&["email"], None).await;
    let done = trusted.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(done.status(), 303);

    // Without the CA the handshake fails: unready and 503, never a plaintext fallback.
    let empty = std::env::temp_dir().join("auth-eid-no-such-ca.pem");
    let untrusted = PluginProcess::start_with_env(
        &options,
        Some(&redis.url()),
        &[
            ("SSL_CERT_FILE", empty.to_str().unwrap()),
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    )
    .await;
    assert_eq!(ready(&untrusted.base).await, 503);
    let res = untrusted
        .start(&serde_json::json!({"attributes": ["email"], "continuation": crate::harness::app::CONTINUATION}))
        .await;
    assert_eq!(res.status(), 503);
}
