//! The real binary's logs over Smart-ID flows: what happened, never a code, name or hash.

use std::time::Duration;

use super::{choose, finish, settle, smart_id_toml, start, OK, TAGS};
use crate::harness::process::PluginProcess;
use crate::harness::{Options, TestApp};
use crate::smart_id::simulator;

#[tokio::test(flavor = "multi_thread")]
async fn smart_id_logs_hold_no_personal_data() {
    let sim = simulator(100).await;
    let options = Options {
        extra_toml: smart_id_toml(&sim, 10),
        ..Options::default()
    };
    let mut server = PluginProcess::start_logged(&options).await;
    let app = &server.client;
    for code in [OK, "30403039917"] {
        let client_url = app.start_ok(TAGS, None).await;
        let b = TestApp::browser();
        let csrf = choose(&b, &client_url).await;
        start(&b, &client_url, &csrf, "EE", code).await;
        settle(&b, &client_url).await;
        finish(&b, &client_url, &csrf).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = server.logs();
    for expected in [
        "smart-id: verified",
        "smart-id: attempt failed",
        "flow finished",
    ] {
        assert!(logs.contains(expected), "no {expected:?} in:\n{logs}");
    }
    let hashes: Vec<String> = sim
        .recent_requests()
        .iter()
        .map(|r| r["hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hashes.len(), 2);
    let mut personal = vec![OK.to_string(), "30403039917".into(), "TESTNUMBER".into()];
    personal.push("1905-04-04".into());
    personal.extend(hashes);
    for p in personal {
        assert!(!logs.contains(&p), "{p:?} leaked into the logs");
    }
    sim.shutdown().await;
}
