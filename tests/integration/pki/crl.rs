//! CRLs: fallback after OCSP, revoked-by-CRL, signature and freshness.

use auth_eid::pki::{CheckResult, RevocationSource, Verdict};

use super::responder::{free_port, make_crl, store, write_crl};
use super::world::world;
use super::{check, refused_by, validate};

fn profile(crl: &str, ocsp_url: Option<&str>) -> String {
    let w = world();
    let ocsp = ocsp_url
        .map(|u| {
            format!(
                "ocsp = [{{ issuer = \"{}\", url = \"{u}\" }}]\n",
                w.path("rsa_int.pem")
            )
        })
        .unwrap_or_default();
    format!(
        "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\ntimeout_seconds = 2\n\
         revocation_scope = \"leaf\"\n\
         crl = [\"{crl}\"]\n{ocsp}",
        w.path("rsa_root.pem"),
        w.path("rsa_int.pem"),
    )
}

#[tokio::test]
async fn crl_fallback_when_ocsp_is_down_and_revoked_by_crl() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let crl = write_crl(
        dir.path(),
        "int.crl",
        &make_crl(&w.rsa_int, &[&w.revoked.cert], 7),
    );
    let down = format!("http://127.0.0.1:{}/", free_port());
    let s = store(&profile(&crl.display().to_string(), Some(&down)));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let c = check(&v, "revocation");
    assert_eq!(
        (c.result, c.source),
        (CheckResult::Pass, Some(RevocationSource::Crl))
    );
    assert!(c.next_update.is_some());
    let v = validate(&s, "t", &w.revoked).await;
    refused_by(&v, RevocationSource::Crl, "revoked at 2024-01-01T00:00:00Z");
}

#[tokio::test]
async fn crl_over_http_is_used() {
    use std::io::Write;
    let w = world();
    let der = make_crl(&w.rsa_int, &[&w.revoked.cert], 7)
        .to_der()
        .unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/int.crl", l.local_addr().unwrap());
    // Serves once: the second validation must come from the cache.
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut c, &mut buf).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            der.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&der).unwrap();
    });
    let s = store(&profile(&url, None));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Valid);
    server.join().unwrap();
    let v = validate(&s, "t", &w.revoked).await;
    assert_eq!(check(&v, "revocation").source, Some(RevocationSource::Crl));
    assert_eq!(v.verdict, Verdict::Invalid);
}

#[tokio::test]
async fn stale_or_foreign_crl_gives_no_answer() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    // nextUpdate yesterday + 0 days = a day ago, beyond the skew.
    let stale = write_crl(dir.path(), "stale.crl", &make_crl(&w.rsa_int, &[], 0));
    let v = validate(
        &store(&profile(&stale.display().to_string(), None)),
        "t",
        &w.good,
    )
    .await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "revocation").reason.contains("stale"),
        "{:#?}",
        v.report
    );
    // Same issuer name, signed by the rogue CA's key.
    let forged = write_crl(dir.path(), "forged.crl", &make_crl(&w.rogue_int, &[], 7));
    let v = validate(
        &store(&profile(&forged.display().to_string(), None)),
        "t",
        &w.good,
    )
    .await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "revocation").reason.contains("signature"),
        "{:#?}",
        v.report
    );
}
