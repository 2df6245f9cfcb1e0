//! What the binary says when it starts (issue 12, "small things"): a taken port is the first
//! and only thing said, with what to do, and no panic output; the demo's banner comes once the
//! port is bound; the favicon and a missing asset are no ERROR log lines.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};

use crate::harness::app::config_text;
use crate::harness::process::PluginProcess;
use crate::harness::{free_port, Options};

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auth-eid"));
    cmd.env_remove("RUST_LOG").stdin(Stdio::null());
    cmd
}

/// The demo's state (its simulator's test PKI), kept between runs as the demo tests keep it.
fn demo_state() -> String {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("demo-smart-id")
        .display()
        .to_string()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_taken_port_is_said_first_and_alone_by_serve() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = std::env::temp_dir().join(format!("auth-eid-taken-{port}.toml"));
    std::fs::write(&config, config_text(port, &Options::default(), None)).unwrap();
    let out = binary()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        format!(
            "auth-eid: port {port} is in use (another auth-eid?); try server.port (or AUTH_EID_SERVER__PORT=N) with a free port\n"
        )
    );
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_file(config);
}

#[test]
fn a_taken_port_is_said_first_and_alone_by_the_demo_without_its_banner() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = binary()
        .args([
            "demo",
            "--port",
            &port.to_string(),
            "--state-dir",
            &demo_state(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        format!(
            "auth-eid: port {port} is in use (another auth-eid?); try --port N with a free port\n"
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_demo_banner_comes_once_the_port_is_bound() {
    let port = free_port();
    let mut child = binary()
        .args([
            "demo",
            "--port",
            &port.to_string(),
            "--state-dir",
            &demo_state(),
        ])
        .env("AUTH_EID_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    // Connect the moment the banner is read: a bound, listening port takes it.
    let connected = TcpStream::connect(("127.0.0.1", port));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with(&format!(
            "auth-eid demo: open http://127.0.0.1:{port}/demo/"
        )),
        "{first}"
    );
    assert!(connected.is_ok(), "banner before the port was bound");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_favicon_and_a_missing_asset_log_no_error() {
    let mut server = PluginProcess::start_logged(&Options::default()).await;
    let http = reqwest::Client::new();
    let icon = http
        .get(format!("{}/favicon.ico", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().contains("<svg"));
    for missing in ["/static/nothing-here.css", "/apple-touch-icon.png"] {
        let res = http
            .get(format!("{}{missing}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
    let logs = server.logs();
    // The request log runs (at info), and says the favicon was served.
    assert!(logs.contains("route=\"/favicon.ico\" status=200"), "{logs}");
    for line in logs.lines() {
        assert!(
            !line.contains("ERROR") && !line.contains("\"level\":\"error\""),
            "an error line: {line}"
        );
    }
}
