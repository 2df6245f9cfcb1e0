//! Path validation and the profile's rules, revocation off.

use std::net::TcpListener;
use std::time::SystemTime;

use auth_eid::pki::{CheckResult, Verdict};

use super::gen::{der, issue, Spec};
use super::responder::store;
use super::world::{self, world};
use super::{check, result, validate};

fn rsa_profile(extra: &str) -> String {
    let w = world();
    format!(
        "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation = \"off\"\n\
         require_key_usage = [\"digitalSignature\"]\nrequire_eku = [\"clientAuth\"]\n{extra}",
        w.path("rsa_root.pem"),
        w.path("rsa_int.pem")
    )
}

#[tokio::test]
async fn valid_rsa_chain_is_valid_with_full_report() {
    let w = world();
    let s = store(&rsa_profile(""));
    let v = validate(&s, "t", &w.good).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(v.report.verdict, Verdict::Valid);
    assert_eq!(v.report.chain.len(), 3);
    assert_eq!(v.report.chain[0].key_type, "EC");
    assert_eq!(
        v.report.chain[2].subject,
        "C=ZZ, O=Test PKI, CN=Test RSA Root"
    );
    assert_eq!(v.report.chain[1].key_bits, 2048);
    assert_eq!(v.report.chain[0].sha256.len(), 64);
    for name in [
        "anchor",
        "signature",
        "validity",
        "end_entity",
        "key",
        "key_usage",
        "eku",
    ] {
        assert_eq!(result(&v, name), CheckResult::Pass, "{name}");
    }
    assert_eq!(result(&v, "revocation"), CheckResult::Skipped);
    let json = serde_json::to_value(&v.report).unwrap();
    assert_eq!(json["verdict"], "valid");
    assert_eq!(json["checks"][0]["result"], "pass");
    assert!(json["validated_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn ec_p384_chain_is_valid() {
    let w = world();
    let s = store(&format!(
        "[trust.ec]\nanchors = [\"{}\"]\nrevocation = \"off\"\nrequire_eku = [\"clientAuth\"]\n",
        w.path("ec_root.pem")
    ));
    // The intermediate comes from the caller, as the card sends it.
    let v = s
        .validate("ec", &der(&w.ec_leaf), &[der(&w.ec_int)], SystemTime::now())
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(v.report.chain[0].curve.as_deref(), Some("P-384"));
    // Without the intermediate there is no path.
    let v = validate(&s, "ec", &w.ec_leaf).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "anchor"), CheckResult::Fail);
}

#[tokio::test]
async fn expired_and_not_yet_valid_leaves_fail_validity_only() {
    let w = world();
    let s = store(&rsa_profile(""));
    for (leaf, word) in [(&w.expired, "expired"), (&w.not_yet, "not valid before")] {
        let v = validate(&s, "t", leaf).await;
        assert_eq!(v.verdict, Verdict::Invalid);
        let c = check(&v, "validity");
        assert_eq!(c.result, CheckResult::Fail);
        assert!(c.reason.contains(word), "{}", c.reason);
        // The path itself is still recognised as trusted.
        assert_eq!(result(&v, "anchor"), CheckResult::Pass);
        assert_eq!(result(&v, "revocation"), CheckResult::Skipped);
    }
}

#[tokio::test]
async fn validation_time_is_honoured() {
    let w = world();
    let s = store(&rsa_profile(""));
    let future = SystemTime::now() + std::time::Duration::from_secs(20 * 86_400);
    let v = s
        .validate("t", &der(&w.not_yet), &[], future)
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    let v = s
        .validate(
            "t",
            &der(&w.good),
            &[],
            future + std::time::Duration::from_secs(400 * 86_400),
        )
        .await
        .unwrap();
    assert_eq!(result(&v, "validity"), CheckResult::Fail);
}

#[tokio::test]
async fn wrong_key_usage_fails() {
    let w = world();
    let v = validate(&store(&rsa_profile("")), "t", &w.wrong_ku).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(check(&v, "key_usage").reason.contains("digitalSignature"));
}

#[tokio::test]
async fn missing_eku_fails_unless_optional() {
    let w = world();
    let v = validate(&store(&rsa_profile("")), "t", &w.no_eku).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "eku"), CheckResult::Fail);
    let v = validate(
        &store(&rsa_profile("eku_optional = true\n")),
        "t",
        &w.no_eku,
    )
    .await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    // Optional means "absent is fine", not "anything goes".
    let v = validate(
        &store(&rsa_profile("eku_optional = true\n")),
        "t",
        &w.responder,
    )
    .await;
    assert_eq!(result(&v, "eku"), CheckResult::Fail);
}

#[tokio::test]
async fn ca_certificate_as_leaf_fails() {
    let w = world();
    let v = validate(&store(&rsa_profile("")), "t", &w.ca_leaf).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "end_entity"), CheckResult::Fail);
}

#[tokio::test]
async fn rogue_ca_with_copied_name_and_self_signed_leaf_fail() {
    let w = world();
    let s = store(&rsa_profile(""));
    let v = s
        .validate(
            "t",
            &der(&w.rogue_leaf),
            &[der(&w.rogue_int)],
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "anchor"), CheckResult::Fail);
    let v = validate(&s, "t", &w.self_signed).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "anchor"), CheckResult::Fail);
    assert_eq!(result(&v, "revocation"), CheckResult::Skipped);
}

#[tokio::test]
async fn rsa_6144_leaf_allowed_by_default_refused_by_stricter_profile() {
    let w = world();
    let v = validate(&store(&rsa_profile("")), "t", &w.rsa6144).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(v.report.chain[0].key_bits, 6144);
    let v = validate(
        &store(&rsa_profile("rsa_max_bits = 4096\n")),
        "t",
        &w.rsa6144,
    )
    .await;
    assert_eq!(result(&v, "key"), CheckResult::Fail);
    let v = validate(
        &store(&rsa_profile("ec_curves = [\"P-384\"]\n")),
        "t",
        &w.good,
    )
    .await;
    assert_eq!(result(&v, "key"), CheckResult::Fail);
}

#[tokio::test]
async fn eku_and_policy_alternatives() {
    let w = world();
    let base = format!(
        "[trust.sid]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation = \"off\"\n\
         require_eku = [\"smartIdAuthentication\", \"clientAuth\"]\n",
        w.path("ec_root.pem"),
        w.path("ec_int.pem")
    );
    let q = format!(
        "[\"{}\", \"{}\"]",
        world::SMART_POLICY_Q,
        world::ETSI_NCP_PLUS
    );
    let s = store(&format!("{base}require_policies = [{q}, \"1.2.3.4\"]\n"));
    assert_eq!(validate(&s, "sid", &w.smart).await.verdict, Verdict::Valid);
    // clientAuth is the other alternative; the EC leaf has it but no policy at all.
    let v = validate(&s, "sid", &w.ec_leaf).await;
    assert_eq!(result(&v, "eku"), CheckResult::Pass);
    assert_eq!(result(&v, "policy"), CheckResult::Fail);
    // All-of inside one alternative.
    let s = store(&format!(
        "{base}require_policies = [[\"{}\", \"1.2.3.4\"]]\n",
        world::SMART_POLICY_Q
    ));
    assert_eq!(
        result(&validate(&s, "sid", &w.smart).await, "policy"),
        CheckResult::Fail
    );
    let s = store(&format!(
        "{base}forbid_policies = [\"{}\"]\n",
        world::ETSI_NCP_PLUS
    ));
    assert_eq!(
        result(&validate(&s, "sid", &w.smart).await, "policy"),
        CheckResult::Fail
    );
}

#[tokio::test]
async fn identity_is_extracted() {
    let w = world();
    let s = store(&format!(
        "[trust.sid]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation = \"off\"\n",
        w.path("ec_root.pem"),
        w.path("ec_int.pem")
    ));
    let v = validate(&s, "sid", &w.smart).await;
    let id = v.identity.expect("identity");
    assert_eq!(id.serial_number.as_deref(), Some("PNOEE-30001010000"));
    assert_eq!(id.given_name.as_deref(), Some("Testy"));
    assert_eq!(id.surname.as_deref(), Some("Example"));
    assert_eq!(id.country.as_deref(), Some("EE"));
    assert_eq!(id.common_name.as_deref(), Some("EXAMPLE,TESTY"));
    assert_eq!(id.date_of_birth.unwrap().to_string(), "1900-01-01");
    let id = auth_eid::pki::identity_from_der(&der(&w.good)).unwrap();
    assert_eq!(id.date_of_birth, None);
    assert_eq!(id.serial_number, None);
}

#[tokio::test]
async fn malformed_input_is_invalid_not_a_panic() {
    let w = world();
    let s = store(&rsa_profile(""));
    let mut trailing = der(&w.good);
    trailing.push(0);
    for bad in [
        vec![],
        b"garbage".to_vec(),
        trailing,
        der(&w.good)[..100].to_vec(),
    ] {
        let v = s.validate("t", &bad, &[], SystemTime::now()).await.unwrap();
        assert_eq!(v.verdict, Verdict::Invalid);
        assert_eq!(result(&v, "parse"), CheckResult::Fail);
    }
    let v = s
        .validate("t", &der(&w.good), &[b"junk".to_vec()], SystemTime::now())
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(s
        .validate("nope", &der(&w.good), &[], SystemTime::now())
        .await
        .is_err());
}

/// T10: a leaf whose AIA/CDP point at a loopback listener; whether it validates (via the
/// configured responder) or not (self-signed), nothing ever connects to the listener.
#[tokio::test]
async fn urls_inside_certificates_are_never_contacted() {
    let w = world();
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let url = format!("http://127.0.0.1:{}/", trap.local_addr().unwrap().port());
    let aia = Some(format!("OCSP;URI:{url}ocsp,caIssuers;URI:{url}ca.crt"));
    let cdp = Some(format!("URI:{url}ca.crl"));
    let trusted = issue(&Spec {
        aia: aia.clone(),
        crl_dp: cdp.clone(),
        ..Spec::leaf("Aia Example", &w.rsa_int)
    });
    let untrusted = issue(&Spec {
        issuer: None,
        aia,
        crl_dp: cdp,
        ..Spec::leaf("Aia Self Signed", &w.rsa_int)
    });
    let dir = tempfile::tempdir().unwrap();
    let ocsp = super::responder::Responder::start(
        dir.path(),
        &super::responder::index_line(&trusted.cert, false),
        &w.rsa_int,
        &w.responder,
        Some(1),
    );
    let s = store(&format!(
        "[trust.t]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation_scope = \"leaf\"\n\
         ocsp = [{{ issuer = \"{}\", url = \"{}\" }}]\n",
        w.path("rsa_root.pem"),
        w.path("rsa_int.pem"),
        w.path("rsa_int.pem"),
        ocsp.url()
    ));
    let v = validate(&s, "t", &trusted).await;
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    assert_eq!(ocsp.requests(), 1);
    let v = validate(&s, "t", &untrusted).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    // Nothing is asked about a certificate that did not chain, not even the real responder.
    assert_eq!(ocsp.requests(), 1);
    match trap.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the URL inside a certificate: {other:?}"),
    }
}

/// T24/D.5 38: an expired intermediate, a non-CA certificate used as an intermediate, and a
/// leaf with an unknown critical extension each fail.
#[tokio::test]
async fn path_rule_violations_fail() {
    use super::gen::{now, KeyKind, DAY};
    use openssl::nid::Nid;
    let w = world();
    let s = store(&rsa_profile(""));
    let ec = KeyKind::Ec(Nid::X9_62_PRIME256V1);

    let old_int = issue(&Spec {
        not_before: now() - 800 * DAY,
        not_after: now() - DAY,
        ..Spec::ca("Test Old CA", ec, Some(&w.rsa_root))
    });
    let leaf = issue(&Spec::leaf("Under Old CA", &old_int));
    let v = s
        .validate("t", &der(&leaf), &[der(&old_int)], SystemTime::now())
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    let c = check(&v, "validity");
    assert_eq!(c.result, CheckResult::Fail);
    assert!(c.reason.contains("depth 1"), "{}", c.reason);

    // `good` is an end-entity certificate: it cannot issue.
    let under_leaf = issue(&Spec::leaf("Under A Leaf", &w.good));
    let v = s
        .validate("t", &der(&under_leaf), &[der(&w.good)], SystemTime::now())
        .await
        .unwrap();
    assert_eq!(v.verdict, Verdict::Invalid);
    assert_eq!(result(&v, "anchor"), CheckResult::Fail);

    let critical = issue(&Spec {
        raw_ext: vec![("!1.3.6.1.4.1.99999.1", vec![0x05, 0x00])],
        ..Spec::leaf("Unknown Critical", &w.rsa_int)
    });
    let v = validate(&s, "t", &critical).await;
    assert_eq!(v.verdict, Verdict::Invalid);
    assert!(
        check(&v, "anchor").reason.contains("critical"),
        "{:#?}",
        v.report
    );
}
