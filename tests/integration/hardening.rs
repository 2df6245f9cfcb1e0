//! Issue 18's probe findings against the real binary: bounded logs for hostile bodies, no
//! capabilities in logs, slow and idle connections closed, a dead stderr survived, head limits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::card_flow::{card_pki, card_toml};
use crate::harness::process::PluginProcess;
use crate::harness::{Options, TestApp};

const BIG: usize = 1_000_000;

fn post(base: &str, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("Content-Type", content_type)
        .header("Origin", base)
        .body(body)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_grow_the_log_by_little_and_no_capability_is_logged() {
    let options = Options {
        extra_toml: card_toml(card_pki(), "http://127.0.0.1:24801", None),
        ..Options::default()
    };
    let mut server = PluginProcess::start_logged(&options).await;
    let client_url = server.start_ok(&["email"], None).await;
    let id = client_url.rsplit('/').next().unwrap().to_string();
    let base = server.base.clone();
    let json = || {
        let mut body = b"{\"csrf\":\"".to_vec();
        body.resize(BIG, b'A');
        body
    };
    let form = |extra: &str| {
        let mut body = format!("means={extra}&csrf=").into_bytes();
        body.resize(20_000, b'A');
        body
    };
    let flow = format!("/flow/{id}");
    let requests = [
        post(&base, "/start_authentication", "application/json", json()),
        post(
            &base,
            &format!("{flow}/card/nonce"),
            "application/json",
            json(),
        ),
        post(
            &base,
            &format!("{flow}/card/token"),
            "application/json",
            json(),
        ),
        post(&base, "/session/x/update", "application/json", json()),
        post(
            &base,
            &format!("{flow}/means"),
            "application/x-www-form-urlencoded",
            form("%zz"),
        ),
        post(
            &base,
            &format!("{flow}/means"),
            "application/x-www-form-urlencoded",
            form(&"B".repeat(5000)),
        ),
        post(
            &base,
            &format!("{flow}/smart-id"),
            "application/x-www-form-urlencoded",
            form("x"),
        ),
        post(
            &base,
            &format!("{flow}/cancel"),
            "application/x-www-form-urlencoded",
            form("x"),
        ),
        post(
            &base,
            &format!("{flow}/test"),
            "application/x-www-form-urlencoded",
            form("x"),
        ),
        post(
            &base,
            &format!("{flow}/smart-id/finish"),
            "application/x-www-form-urlencoded",
            form("x"),
        ),
        // Routes that do not exist under capability paths.
        reqwest::Client::new().get(format!("{base}{flow}/means")),
        reqwest::Client::new().get(format!("{base}/session/{id}/update")),
        reqwest::Client::new().get(format!("{base}/static/{id}.css")),
    ];
    for request in requests {
        let before = server.log_size();
        let response = request.send().await.expect("an answer");
        assert!(response.status().as_u16() < 500, "{}", response.status());
        tokio::time::sleep(Duration::from_millis(150)).await;
        let grown = server.log_size() - before;
        assert!(
            grown < 2048,
            "{} grew the log by {grown} bytes",
            response.url().path()
        );
    }
    let logs = server.logs();
    assert!(!logs.contains(&id), "a flow id reached the logs:\n{logs}");
    assert!(
        !logs.contains("AAAAAAAAAAAAAAAA"),
        "a body reached the logs"
    );
    assert!(
        !logs.contains("ERROR"),
        "a client error logged as ERROR:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_asset_is_not_cacheable() {
    let server = PluginProcess::start(&Options::default(), None).await;
    let found = reqwest::get(format!("{}/static/style.css", server.base))
        .await
        .unwrap();
    assert_eq!(found.headers()["cache-control"], "public, max-age=3600");
    let missing = reqwest::get(format!("{}/static/nope.css", server.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["cache-control"], "no-store");
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

/// Whether the server has closed `s` (a read gives end of file or a reset).
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

fn port_of(server: &PluginProcess) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_closed_within_their_timeouts() {
    let env = [
        ("AUTH_EID_SERVER__KEEP_ALIVE_SECONDS", "1"),
        ("AUTH_EID_SERVER__HEADER_READ_TIMEOUT_SECONDS", "3"),
    ];
    let server = PluginProcess::start_with_env(&Options::default(), None, &env).await;
    let port = port_of(&server);
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..50).map(|_| connect(port)).collect();
    let mut body: Vec<TcpStream> = (0..50).map(|_| connect(port)).collect();
    for s in &mut body {
        s.write_all(b"POST /start_authentication HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":").unwrap();
    }
    let mut kept: Vec<TcpStream> = (0..50).map(|_| connect(port)).collect();
    for s in &mut kept {
        s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    let head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut trickle: Vec<TcpStream> = (0..50).map(|_| connect(port)).collect();
    let mut sent = 0;
    let open = |set: &mut Vec<TcpStream>| {
        set.retain_mut(|s| !closed(s));
        set.len()
    };
    while started.elapsed() < Duration::from_secs(8) {
        // One byte every 200 ms: never idle for a keep-alive period, slower than the head timeout.
        if sent < head.len() {
            trickle.retain_mut(|s| s.write_all(&head[sent..=sent]).is_ok());
            sent += 1;
        }
        let left = (
            open(&mut idle),
            open(&mut body),
            open(&mut kept),
            open(&mut trickle),
        );
        if left == (0, 0, 0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = (
        open(&mut idle),
        open(&mut body),
        open(&mut kept),
        open(&mut trickle),
    );
    assert_eq!(
        left,
        (0, 0, 0, 0),
        "(idle, mid-body, keep-alive, trickling) still open"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the trickling heads lasted the head timeout"
    );
    let live = reqwest::get(format!("{}/health/live", server.base))
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_connection_cap_clients_wait_instead_of_exhausting_descriptors() {
    let env = [
        ("AUTH_EID_SERVER__MAX_CONNECTIONS", "16"),
        ("AUTH_EID_SERVER__KEEP_ALIVE_SECONDS", "2"),
    ];
    let server = PluginProcess::start_with_env(&Options::default(), None, &env).await;
    let port = port_of(&server);
    let _held: Vec<TcpStream> = (0..20).map(|_| connect(port)).collect();
    let started = Instant::now();
    // Bounded: a held connection that is never closed would leave this request waiting forever.
    let live = tokio::time::timeout(
        Duration::from_secs(20),
        reqwest::get(format!("{}/health/live", server.base)),
    )
    .await
    .expect("served once the idle connections were closed")
    .unwrap();
    assert_eq!(live.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "answered at once: no cap ({waited:?})"
    );
}

fn raw_exchange(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn heads_without_host_or_too_large_are_refused() {
    let server = PluginProcess::start(&Options::default(), None).await;
    let port = port_of(&server);
    let no_host = raw_exchange(
        port,
        b"GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
    let old = raw_exchange(port, b"GET /health/live HTTP/1.0\r\n\r\n");
    assert!(old.starts_with("HTTP/1.0 200"), "{old}");
    let mut huge = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.resize(200_000, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let refused = raw_exchange(port, &huge);
    assert!(
        refused.starts_with("HTTP/1.1 431"),
        "{}",
        &refused[..refused.len().min(200)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stderr_pipe_neither_fails_requests_nor_blocks_shutdown() {
    let env = [("AUTH_EID_LOG__LEVEL", "info")];
    let mut server = PluginProcess::start_piped(&Options::default(), &env).await;
    drop(server.take_stderr());
    for _ in 0..50 {
        let live = reqwest::get(format!("{}/health/live", server.base))
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
    }
    let client_url = server.start_ok(&["email"], None).await;
    assert!(client_url.contains("/flow/"));
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert!(status.is_some_and(|s| s.success()), "SIGTERM: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_of_the_client_url_binds_nothing() {
    let server = PluginProcess::start(&Options::default(), None).await;
    let client_url = server.start_ok(&["email"], None).await;
    let scanner = reqwest::Client::new();
    for url in [client_url.clone(), format!("{client_url}/test")] {
        let head = scanner.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200, "{url}");
        assert!(
            head.headers().get("set-cookie").is_none(),
            "a HEAD set a cookie"
        );
    }
    let done = server.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(
        done.status(),
        303,
        "the citizen's browser is refused after a HEAD"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_checked_tag_is_quoted_back() {
    let app = TestApp::spawn(Options::default()).await;
    let start = |tag: String| serde_json::json!({"attributes": [tag], "continuation": crate::harness::app::CONTINUATION});
    for bad in [
        "x".repeat(65),
        "a\u{0}b\"<script>".to_string(),
        "é".repeat(10),
    ] {
        let res = app.start(&start(bad.clone())).await;
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_attributes");
        assert!(
            !body["message"].as_str().unwrap().contains(&bad[..4]),
            "{body}"
        );
    }
    let res = app.start(&start("no_such_tag".into())).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_attributes");
    assert!(
        body["message"].as_str().unwrap().contains("no_such_tag"),
        "{body}"
    );
}
