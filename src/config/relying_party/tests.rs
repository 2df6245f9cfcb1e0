//! `[[relying_party]]` checks.

use super::*;

const ALL: &[MeansId] = &[MeansId::Test, MeansId::Card, MeansId::SmartId];
const HASH: &str = "3a4f1c8e4d7b2a9e0f6c5b8a7d3e2f1c0b9a8e7d6c5b4a3f2e1d0c9b8a7f6e5d";

fn raw() -> RawRelyingParty {
    RawRelyingParty {
        id: "portal".into(),
        display_name: "City portal".into(),
        means: vec!["test".into(), "beid".into()],
        callback_prefixes: vec!["https://portal.example/back".into()],
        webhook_url: Some("https://portal.example/hook".into()),
        webhook_secret: Some("x".repeat(40)),
        api_key_sha256: HASH.into(),
        subject_in_webhook: false,
        validation_report: true,
        branding: Default::default(),
        phone_step: None,
    }
}

#[test]
fn a_good_entry_is_taken_and_its_key_found() {
    let mut errors = Vec::new();
    let rps = relying_parties(&[raw()], false, ALL, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let rp = rps.get("portal").unwrap();
    assert_eq!(rp.means, vec![MeansId::Test, MeansId::Card]);
    assert!(rps.by_key("wrong").is_none());
    let key = "k".repeat(64);
    let mut with_key = raw();
    with_key.api_key_sha256 = openssl::sha::sha256(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let rps = relying_parties(&[with_key], false, ALL, &mut errors);
    assert_eq!(rps.by_key(&key).unwrap().id.as_str(), "portal");
    assert!(!format!("{:?}", rp.webhook).contains("xxxx"));
}

#[test]
fn bad_entries_are_explained_by_key() {
    let mut bad = raw();
    bad.id = "Portal!".into();
    bad.means = vec!["card".into()];
    bad.callback_prefixes = vec!["https://portal.example/a/../b".into()];
    bad.webhook_secret = Some("short".into());
    bad.api_key_sha256 = "abc".into();
    let mut errors = Vec::new();
    let rps = relying_parties(&[bad], true, ALL, &mut errors);
    assert!(rps.is_empty());
    let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "relying_party[0].id",
            "relying_party[0].means[0]",
            "relying_party[0].callback_prefixes[0]",
            "relying_party[0].webhook_secret",
            "relying_party[0].api_key_sha256",
        ]
    );
    let mut test_in_prod = raw();
    test_in_prod.means = vec!["test".into()];
    let mut errors = Vec::new();
    relying_parties(&[test_in_prod, raw()], true, ALL, &mut errors);
    assert!(errors[0].problem.contains("production"), "{errors:?}");
    assert!(errors.iter().any(|e| e.key == "relying_party[1].means[0]"));
    let mut errors = Vec::new();
    relying_parties(&[raw()], false, &[MeansId::Test], &mut errors);
    assert_eq!(
        errors[0].key, "relying_party[0].means[1]",
        "beid is not enabled"
    );
}

#[test]
fn a_relying_partys_branding_is_checked_like_the_deployments() {
    use crate::config::pages::{pages, RawBranding, RawPages};
    let light = RawBranding {
        primary_color: Some("#66aaff".into()),
        logo: Some("portal.svg".into()),
        footer: [("xx".to_string(), "Footer".to_string())].into(),
        ..RawBranding::default()
    };
    let fine = RawBranding {
        primary_color: Some("#6b2c91".into()),
        ..RawBranding::default()
    };
    let unbranded = RawBranding::default();
    let mut errors = Vec::new();
    let settings = pages(
        &RawPages::default(),
        &[],
        &[
            ("portal".into(), &light),
            ("helpdesk".into(), &fine),
            ("kiosk".into(), &unbranded),
        ],
        std::path::Path::new("."),
        &mut errors,
    );
    let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "relying_party[0].branding.primary_color",
        "relying_party[0].branding.logo",
        "relying_party[0].branding.footer.xx",
    ] {
        assert!(keys.contains(&key), "{key} not reported: {keys:?}");
    }
    assert!(errors.iter().any(|e| e.problem.contains("4.5:1")));
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(
        settings.rp_branding["helpdesk"]
            .primary
            .unwrap()
            .to_string(),
        "#6b2c91"
    );
    assert!(!settings.rp_branding.contains_key("kiosk"));
}

#[test]
fn the_demos_published_credentials_are_refused_in_production_only() {
    use crate::demo_keys::{API_KEY, WEBHOOK_SECRET};
    let hex = |k: &str| -> String {
        openssl::sha::sha256(k.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let entry = |demo_secret: bool| {
        let mut r = raw();
        r.means = vec!["beid".into()];
        if demo_secret {
            r.webhook_secret = Some(WEBHOOK_SECRET.into());
        } else {
            r.api_key_sha256 = hex(API_KEY);
        }
        r
    };
    for demo_secret in [false, true] {
        let mut errors = Vec::new();
        relying_parties(&[entry(demo_secret)], true, ALL, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "relying_party[0].api_key_sha256");
        assert!(errors[0].problem.contains("demo"), "{errors:?}");
        let mut errors = Vec::new();
        relying_parties(&[entry(demo_secret)], false, ALL, &mut errors);
        assert!(errors.is_empty(), "the demo itself uses them: {errors:?}");
    }
}
