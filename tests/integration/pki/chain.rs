//! Revocation of the whole path: the issuing CA itself is asked about, through a real
//! `openssl ocsp` responder for the root (or the root's CRL, or the OCSP URL in the CA
//! certificate's own AIA), and the leaf policy applies when that answer is missing.

use auth_eid::pki::{CheckResult, RevocationSource, Verdict};

use super::gen::{issue, Issued, KeyKind, Spec};
use super::responder::{free_port, index_line, make_crl, store, write_crl, Responder};
use super::world::world;
use super::{check, refused_by, validate};

/// `rsa_root` > `rsa_int` > leaf, with the leaf's responder and the root's (`root_url`).
fn profile(leaf_url: &str, root_url: &str, policy: &str, extra: &str) -> String {
    let w = world();
    format!(
        "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation = \"{policy}\"\n\
         timeout_seconds = 2\n{extra}\nocsp = [\
         {{ issuer = \"{}\", url = \"{leaf_url}\" }}, {{ issuer = \"{}\", url = \"{root_url}\" }}]\n",
        w.path("rsa_root.pem"),
        w.path("rsa_int.pem"),
        w.path("rsa_int.pem"),
        w.path("rsa_root.pem"),
    )
}

/// The leaf responder (the world's leaves, `good` valid) and the root's, which says whether
/// `rsa_int` is revoked. Both sign as their CA.
fn responders(int_revoked: bool) -> (tempfile::TempDir, Responder, Responder) {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let leaves = index_line(&w.good.cert, false) + &index_line(&w.revoked.cert, true);
    let leaf = Responder::start(dir.path(), &leaves, &w.rsa_int, &w.responder, Some(1));
    let cas = index_line(&w.rsa_int.cert, int_revoked);
    let root = Responder::start(dir.path(), &cas, &w.rsa_root, &w.rsa_root, Some(1));
    (dir, leaf, root)
}

#[tokio::test]
async fn a_revoked_issuing_ca_refuses_its_good_leaf() {
    let w = world();
    let (_d, leaf, root) = responders(false);
    let s = store(&profile(&leaf.url(), &root.url(), "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let c = check(&v, "revocation");
    assert_eq!(c.source, Some(RevocationSource::Ocsp));
    assert!(c.reason.contains("its issuing CA"), "{}", c.reason);
    assert_eq!((leaf.requests(), root.requests()), (1, 1));

    let (_d, leaf, root) = responders(true);
    let s = store(&profile(&leaf.url(), &root.url(), "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    refused_by(
        &v,
        RevocationSource::Ocsp,
        "CA certificate at depth 1: revoked at",
    );
    // Top down: a revoked CA ends the check before its leaf is asked about.
    assert_eq!((leaf.requests(), root.requests()), (0, 1));
    // Revoked is an answer: failing open does not accept it.
    let s = store(&profile(&leaf.url(), &root.url(), "fail_open", ""));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Invalid);
    // With the leaf-only scope the CA's responder is never asked.
    let before = root.requests();
    let scope = "revocation_scope = \"leaf\"";
    let s = store(&profile(&leaf.url(), &root.url(), "fail_closed", scope));
    assert_eq!(validate(&s, "t", &w.good).await.verdict, Verdict::Valid);
    assert_eq!(root.requests(), before);
}

#[tokio::test]
async fn an_unreachable_ca_responder_follows_the_leaf_policy() {
    let w = world();
    let (_d, leaf, _root) = responders(false);
    let down = format!("http://127.0.0.1:{}/", free_port());
    let s = store(&profile(&leaf.url(), &down, "fail_closed", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    let c = check(&v, "revocation");
    assert!(c.reason.starts_with("no revocation answer"), "{}", c.reason);
    assert!(
        c.reason.contains("CA certificate at depth 1"),
        "{}",
        c.reason
    );

    let s = store(&profile(&leaf.url(), &down, "fail_open", ""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(check(&v, "revocation").result, CheckResult::Skipped);
    // Failing open for the CA still checks the leaf: a revoked leaf is refused.
    assert_eq!(
        validate(&s, "t", &w.revoked).await.verdict,
        Verdict::Invalid
    );
}

#[tokio::test]
async fn without_a_ca_responder_the_roots_crl_answers() {
    let w = world();
    let (dir, leaf, _root) = responders(false);
    let crl = |revoked: &[&openssl::x509::X509]| {
        let c = write_crl(dir.path(), "root.crl", &make_crl(&w.rsa_root, revoked, 7));
        let toml = format!(
            "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\ncrl = [\"{}\"]\n\
             ocsp = [{{ issuer = \"{}\", url = \"{}\" }}]\n",
            w.path("rsa_root.pem"),
            w.path("rsa_int.pem"),
            c.display(),
            w.path("rsa_int.pem"),
            leaf.url()
        );
        store(&toml)
    };
    let v = validate(&crl(&[]), "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let v = validate(&crl(&[&w.rsa_int.cert]), "t", &w.good).await;
    refused_by(
        &v,
        RevocationSource::Crl,
        "CA certificate at depth 1: revoked at",
    );
}

/// An issuing CA whose AIA names a responder; asked only with `ca_ocsp_from_aia = true`.
#[tokio::test]
async fn the_ca_certificates_own_aia_responder_when_allowed() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let ca = issue(&Spec {
        aia: Some(format!("OCSP;URI:http://127.0.0.1:{port}/")),
        ..Spec::ca("Test AIA CA", KeyKind::Rsa(2048), Some(&w.rsa_root))
    });
    let leaf: Issued = issue(&Spec::leaf("Aia Leaf Example", &ca));
    super::gen::write_issued(dir.path(), "aia_ca", &ca);
    let p = |f: &str| dir.path().join(f).display().to_string();
    let leaf_crl = write_crl(dir.path(), "aia_ca.crl", &make_crl(&ca, &[], 7));
    let root = Responder::start_at(
        dir.path(),
        &index_line(&ca.cert, true),
        &w.rsa_root,
        &w.rsa_root,
        port,
    );
    let toml = |aia: bool| {
        format!(
            "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\ncrl = [\"{}\"]\n\
             revocation = \"fail_open\"\nca_ocsp_from_aia = {aia}\n",
            w.path("rsa_root.pem"),
            p("aia_ca.pem"),
            leaf_crl.display(),
        )
    };
    // Not allowed: no source for the CA (fail_open accepts), the AIA URL is not contacted.
    let v = validate(&store(&toml(false)), "t", &leaf).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(root.requests(), 0);
    // Allowed: the CA's own AIA responder says revoked.
    let v = validate(&store(&toml(true)), "t", &leaf).await;
    assert_eq!(v.verdict, Verdict::Invalid, "{:#?}", v.report);
    assert_eq!(root.requests(), 1);
    assert!(check(&v, "revocation").reason.contains("depth 1"));
}
