//! Rate limits (`src/limits`): 429s exactly at the configured budget, `Retry-After`, the
//! client address behind (un)trusted proxies, Smart-ID starts per person, and (in `shared`)
//! two instances on one Redis spending one budget.

use serde_json::{json, Value};

use crate::harness::app::CONTINUATION;
use crate::harness::{Options, TestApp};

mod page_browser;
mod shared;
mod smart_id;

/// `[limits]` with `start_authentication` at `count` per minute and the given proxies.
pub fn start_limit(count: u64, trusted_proxies: &[&str]) -> String {
    format!(
        "[limits]\ntrusted_proxies = {}\n[limits.start_authentication]\nenabled = true\ncount = {count}\nwindow_seconds = 60\n",
        serde_json::to_string(trusted_proxies).unwrap()
    )
}

pub fn good_start() -> Value {
    json!({"attributes": ["email"], "continuation": CONTINUATION})
}

/// A start from `forwarded_for` (as an `X-Forwarded-For` header, if any): status and the
/// `Retry-After` seconds.
pub async fn start_from(base: &str, forwarded_for: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/start_authentication"))
        .json(&good_start());
    if let Some(xff) = forwarded_for {
        request = request.header("X-Forwarded-For", xff);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().expect("integer seconds"));
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn app(limits_toml: String) -> TestApp {
    TestApp::spawn(Options {
        limits_toml,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn the_429_comes_exactly_after_the_budget_with_a_sane_retry_after() {
    let app = app(start_limit(3, &[])).await;
    for i in 0..3 {
        let (status, retry, _) = start_from(&app.base, None).await;
        assert_eq!(
            (status, retry),
            (200, None),
            "start {i} is within the budget"
        );
    }
    let (status, retry, body) = start_from(&app.base, None).await;
    assert_eq!(status, 429);
    let retry = retry.expect("Retry-After on a 429");
    assert!((1..=60).contains(&retry), "within the window: {retry}");
    assert_eq!(body["error"], "rate_limited");
    assert!(body["message"].as_str().unwrap().contains("retry after"));
    assert_eq!(start_from(&app.base, None).await.0, 429, "still over");
}

#[tokio::test]
async fn start_authentication_is_not_limited_by_default() {
    let app = TestApp::spawn(Options::default()).await;
    for _ in 0..20 {
        assert_eq!(start_from(&app.base, None).await.0, 200);
    }
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The test client is the TCP peer 127.0.0.1, which is no trusted proxy here: every start
    // counts against 127.0.0.1 whatever the header claims.
    let app = app(start_limit(2, &["10.0.0.0/8"])).await;
    assert_eq!(start_from(&app.base, Some("198.51.100.1")).await.0, 200);
    assert_eq!(start_from(&app.base, Some("198.51.100.2")).await.0, 200);
    assert_eq!(start_from(&app.base, Some("198.51.100.3")).await.0, 429);
    assert_eq!(start_from(&app.base, None).await.0, 429);
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = app(start_limit(2, &["127.0.0.1/32"])).await;
    let alice = Some("198.51.100.1");
    assert_eq!(start_from(&app.base, alice).await.0, 200);
    assert_eq!(start_from(&app.base, alice).await.0, 200);
    assert_eq!(start_from(&app.base, alice).await.0, 429, "alice's budget");
    // Another client behind the same proxy has her own budget; a forged entry left of the
    // proxy's own (rightmost) one changes nothing.
    assert_eq!(start_from(&app.base, Some("198.51.100.2")).await.0, 200);
    let forged = Some("203.0.113.9, 198.51.100.1");
    assert_eq!(start_from(&app.base, forged).await.0, 429, "still alice");
}

/// `check-config` names every bad `[limits]` key, and says what is wrong with it.
#[test]
fn check_config_explains_bad_limits() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{root}/config.toml")).unwrap();
    let text = shipped
        .replace("\"demo-keys/", &format!("\"{root}/demo-keys/"))
        .replace("trusted_proxies = []", "trusted_proxies = [\"10.0.0.0/33\"]")
        .replace(
            "[limits.smart_id_start]\ncount = 3",
            "[limits.smart_id_start]\ncount = 0",
        )
        .replace(
            "[limits.otp_check]\ncount = 10\nwindow_seconds = 600",
            "[limits.otp_check]\ncount = 10\nwindow_seconds = 0\n[limits.smart_id_starts]\ncount = 1",
        );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args(["check-config", "--config", path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    for (key, why) in [
        ("`limits.trusted_proxies[0]`", "IP networks"),
        ("`limits.smart_id_start.count`", "at least 1"),
        ("`limits.otp_check.window_seconds`", "between 1 and 86400"),
        ("`limits.smart_id_starts`", "not a known budget"),
    ] {
        let line = said
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} not named:\n{said}"));
        assert!(line.contains(why), "{key}: {line}\n{said}");
    }
}
