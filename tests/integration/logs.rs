//! The real binary's logs over whole flows: useful lines, and no token, key or attribute value.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::app::{config_text, csrf_of, location, result_of};
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn walk(base: &str, attr_url: Option<&str>) -> reqwest::Response {
    let mut body = serde_json::json!({"attributes": ["email", "name"], "continuation": "http://127.0.0.1:9100/ui"});
    if let Some(url) = attr_url {
        body["attr_url"] = url.into();
    }
    let start = reqwest::Client::new()
        .post(format!("{base}/start_authentication"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let client_url = start.json::<serde_json::Value>().await.unwrap()["client_url"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = TestApp::browser();
    let csrf = csrf_of(
        &browser
            .get(&client_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let form = [("csrf", csrf.as_str()), ("means", "test")];
    browser
        .post(format!("{client_url}/means"))
        .form(&form)
        .send()
        .await
        .unwrap();
    browser
        .post(format!("{client_url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_say_what_happened_without_personal_data_or_secrets() {
    let receiver = Receiver::start(free_port(), 1).await;
    let options = Options {
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        ..Options::default()
    };
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("auth-eid-logs-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, config_text(port, &options, None)).unwrap();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_auth-eid"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/health/ready")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let done = walk(&base, None).await;
    let token = result_of(&location(&done)).unwrap();
    walk(&base, Some(&receiver.url("l"))).await;
    let delivered = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 2, "one refused, one accepted delivery");
    reqwest::Client::new()
        .post(format!("{base}/session/x/update?type=logout"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let _ = server.0.kill();
    let mut logs = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    for expected in [
        "flow started",
        "flow finished",
        "result delivered",
        "will retry",
        "session update",
        "route=\"/flow/<id>\"",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    let secrets = [
        &token[..40],
        &delivered[0].body[..40],
        "an@example.org",
        "An Peeters",
        "BEGIN",
        "PRIVATE KEY",
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret:?} leaked into the logs");
    }
    let _ = std::fs::remove_dir_all(dir);
}
