//! Revocation through a real `openssl ocsp` responder.

use std::time::{Duration, Instant, SystemTime};

use auth_eid::pki::{CheckResult, RevocationSource, Verdict};

use super::gen::{der, Issued};
use super::responder::{free_port, index_line, store, Responder};
use super::world::world;
use super::{check, refused_by, validate};

fn profile(url: &str, policy: &str, extra: &str) -> String {
    let w = world();
    format!(
        "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation = \"{policy}\"\n\
         revocation_scope = \"leaf\"\n\
         timeout_seconds = 2\nocsp = [{{ issuer = \"{}\", url = \"{url}\"{extra} }}]\n",
        w.path("rsa_root.pem"),
        w.path("rsa_int.pem"),
        w.path("rsa_int.pem"),
    )
}

fn index() -> String {
    let w = world();
    [
        index_line(&w.good.cert, false),
        index_line(&w.good2.cert, false),
        index_line(&w.revoked.cert, true),
    ]
    .concat()
}

fn start(signer: &Issued, ndays: Option<u32>) -> (tempfile::TempDir, Responder) {
    let dir = tempfile::tempdir().unwrap();
    let r = Responder::start(dir.path(), &index(), &world().rsa_int, signer, ndays);
    (dir, r)
}

#[tokio::test]
async fn good_revoked_unknown_with_delegated_responder() {
    let w = world();
    let (_d, r) = start(&w.responder, Some(1));
    let s = store(&profile(&r.url(), "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let c = check(&v, "revocation");
    assert_eq!(c.result, CheckResult::Pass);
    assert_eq!(c.source, Some(RevocationSource::Ocsp));
    assert!(c.this_update.is_some() && c.next_update.is_some());

    let v = validate(&s, "t", &w.revoked).await;
    refused_by(
        &v,
        RevocationSource::Ocsp,
        "revoked at 2024-01-01T00:00:00Z",
    );

    // Unknown fails even when failing open: it is an answer, not an outage.
    let s = store(&profile(&r.url(), "fail_open", ""));
    let v = validate(&s, "t", &w.unknown).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(check(&v, "revocation").reason.contains("does not know"));
}

#[tokio::test]
async fn ca_signed_responses_and_configured_responder_cert() {
    let w = world();
    let (_d, r) = start(&w.rsa_int, None);
    let s = store(&profile(&r.url(), "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    // No nextUpdate: never cached.
    assert_eq!(check(&v, "revocation").next_update, None);

    // A configured responder certificate is the only signer accepted.
    let (_d2, r2) = start(&w.not_responder, Some(1));
    let s = store(&profile(
        &r2.url(),
        "fail_closed",
        &format!(", responder = \"{}\"", w.path("not_responder.pem")),
    ));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Valid);
    let s = store(&profile(
        &r.url(),
        "fail_closed",
        &format!(", responder = \"{}\"", w.path("not_responder.pem")),
    ));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Invalid);
}

#[tokio::test]
async fn wrong_signers_are_refused_even_failing_open() {
    let w = world();
    for signer in [&w.not_responder, &w.rogue_responder, &w.ec_responder] {
        let (_d, r) = start(signer, Some(1));
        let s = store(&profile(&r.url(), "fail_open", ""));
        let v = validate(&s, "t", &w.good).await;
        assert_eq!(v.verdict, Verdict::Invalid, "{:#?}", v.report);
        assert!(check(&v, "revocation").reason.contains("not signed"));
    }
}

#[tokio::test]
async fn responder_down_fail_closed_and_fail_open() {
    let w = world();
    let url = format!("http://127.0.0.1:{}/", free_port());
    let started = Instant::now();
    let v = validate(&store(&profile(&url, "fail_closed", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    let c = check(&v, "revocation");
    assert_eq!(
        (c.result, c.source),
        (CheckResult::Fail, Some(RevocationSource::None))
    );
    let v = validate(&store(&profile(&url, "fail_open", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let c = check(&v, "revocation");
    assert_eq!(c.result, CheckResult::Skipped);
    assert!(c.reason.contains("fail_open"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn responder_hanging_times_out() {
    let w = world();
    // Accepts the connection, never answers.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", hang.local_addr().unwrap());
    let started = Instant::now();
    let v = validate(&store(&profile(&url, "fail_closed", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "revocation").reason.contains("timeout"),
        "{:#?}",
        v.report
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn stale_and_future_responses_are_refused() {
    let w = world();
    let (_d, r) = start(&w.responder, Some(1));
    let s = store(&profile(&r.url(), "fail_open", ""));
    // nextUpdate is in a day: two days on it is stale.
    let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
    let v = s.validate("t", &der(&w.good), &[], later).await.unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "revocation").reason.contains("stale"),
        "{:#?}",
        v.report
    );
    // Our clock 10 minutes behind: thisUpdate in the future but within the 15 min skew.
    let behind = SystemTime::now() - Duration::from_secs(600);
    let v = s.validate("t", &der(&w.good), &[], behind).await.unwrap();
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    // 20 minutes behind: beyond the tolerance.
    let behind = SystemTime::now() - Duration::from_secs(1200);
    let v = s.validate("t", &der(&w.good2), &[], behind).await.unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "revocation").reason.contains("future"),
        "{:#?}",
        v.report
    );
}

#[tokio::test]
async fn good_answer_cached_until_next_update() {
    let w = world();
    let (_d, mut r) = start(&w.responder, Some(1));
    let s = store(&profile(&r.url(), "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(check(&v, "revocation").source, Some(RevocationSource::Ocsp));
    assert_eq!(s.cached_ocsp_answers(), 1);
    r.stop();
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(
        check(&v, "revocation").source,
        Some(RevocationSource::Cache)
    );
    // Failures are not cached and another certificate has no cache entry.
    let v = validate(&s, "t", &w.good2).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    // Past nextUpdate the cached answer is not used.
    let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
    let v = s.validate("t", &der(&w.good), &[], later).await.unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
}

/// A `good` response recorded for an earlier request, replayed: the nonce does not match.
#[tokio::test]
async fn replayed_response_with_another_nonce_is_refused() {
    use std::io::{Read, Write};
    let w = world();
    let (_d, r) = start(&w.responder, Some(1));
    // Record one real response through a tiny proxy, then serve it again.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}/", proxy.local_addr().unwrap());
    let upstream = r.port;
    let recorder = std::thread::spawn(move || {
        let mut recorded: Option<Vec<u8>> = None;
        for _ in 0..2 {
            let (mut c, _) = proxy.accept().unwrap();
            let req = read_http(&mut c);
            let resp = match &recorded {
                None => {
                    let mut u = std::net::TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                    u.write_all(&req).unwrap();
                    let mut out = Vec::new();
                    u.read_to_end(&mut out).unwrap();
                    recorded = Some(out.clone());
                    out
                }
                Some(old) => old.clone(),
            };
            c.write_all(&resp).unwrap();
        }
    });
    let s = store(&profile(&proxy_url, "fail_open", ""));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Valid);
    // New store: empty cache, so the second request reaches the replaying proxy.
    let s = store(&profile(&proxy_url, "fail_open", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid, "{:#?}", v.report);
    assert!(check(&v, "revocation").reason.contains("nonce"));
    recorder.join().unwrap();
}

/// Reads one HTTP request (headers plus Content-Length body).
fn read_http(c: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        c.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    c.read_exact(&mut body).unwrap();
    buf.extend_from_slice(&body);
    buf
}

/// Serves `body` as an OCSP response to `n` requests; returns its URL and the thread.
fn serve_static(body: &'static [u8], n: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        for _ in 0..n {
            let (mut c, _) = l.accept().unwrap();
            read_http(&mut c);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            c.write_all(head.as_bytes()).unwrap();
            c.write_all(body).unwrap();
        }
    });
    (url, server)
}

/// tryLater (`30 03 0a 01 03`) is an outage: fail_closed refuses, fail_open accepts.
#[tokio::test]
async fn try_later_is_unavailable() {
    let w = world();
    let (url, server) = serve_static(&[0x30, 0x03, 0x0a, 0x01, 0x03], 2);
    let v = validate(&store(&profile(&url, "fail_closed", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    let v = validate(&store(&profile(&url, "fail_open", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    server.join().unwrap();
}

/// Garbage is an answer we cannot accept, not an outage: refused even failing open.
#[tokio::test]
async fn garbage_response_is_refused_even_failing_open() {
    let w = world();
    let (url, server) = serve_static(b"\x30\x82\xff\xffnot DER at all", 1);
    let v = validate(&store(&profile(&url, "fail_open", "")), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid, "{:#?}", v.report);
    assert!(check(&v, "revocation").reason.contains("DER"));
    server.join().unwrap();
}
