//! The real binary's logs over Smart-ID flows: what happened, never a code, name or hash.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{choose, finish, settle, smart_id_toml, start, OK, TAGS};
use crate::harness::app::config_text;
use crate::harness::{free_port, Options, TestApp};
use crate::smart_id::simulator;

#[tokio::test(flavor = "multi_thread")]
async fn smart_id_logs_hold_no_personal_data() {
    let sim = simulator(100).await;
    let port = free_port();
    let options = Options {
        extra_toml: smart_id_toml(&sim, 10),
        ..Options::default()
    };
    let dir = std::env::temp_dir().join(format!("auth-eid-sid-logs-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, config_text(port, &options, None)).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/health/ready")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let app = crate::harness::app::Client {
        base: base.clone(),
        keys: options.keys,
    };
    for code in [OK, "30403039917"] {
        let client_url = app.start_ok(TAGS, None).await;
        let b = TestApp::browser();
        let csrf = choose(&b, &client_url).await;
        start(&b, &client_url, &csrf, "EE", code).await;
        settle(&b, &client_url).await;
        finish(&b, &client_url, &csrf).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = server.kill();
    let _ = server.wait();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
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
    let _ = std::fs::remove_dir_all(dir);
    sim.shutdown().await;
}
