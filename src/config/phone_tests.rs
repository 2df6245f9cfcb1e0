//! `[phone]` checks.

use super::*;

fn check(raw: RawPhone, mode: Mode) -> Vec<String> {
    let mut errors = Vec::new();
    phone(&raw, mode, true, Path::new("."), &mut errors);
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn defaults_with_the_demo_sender_pass_in_demo_mode_only() {
    let raw = || RawPhone {
        sender: Some("demo".into()),
        ..RawPhone::default()
    };
    assert!(check(raw(), Mode::Demo).is_empty());
    let said = check(raw(), Mode::Production);
    assert!(said.iter().any(|e| e.contains("phone.sender")), "{said:?}");
}

#[test]
fn bad_values_are_named() {
    let raw = RawPhone {
        countries: vec![0],
        default_region: "Belgium".into(),
        code_lifetime_seconds: 0,
        max_tries: 9,
        sender: Some("gateway".into()),
        gateway: Some(RawGateway {
            url: "ftp://x".into(),
            token: None,
            token_file: None,
            sender_id: None,
            attempts: 0,
        }),
        ..RawPhone::default()
    };
    let said = check(raw, Mode::Demo).join("\n");
    for key in [
        "phone.countries[0]",
        "phone.default_region",
        "phone.code_lifetime_seconds",
        "phone.max_tries",
        "phone.gateway.url",
        "phone.gateway.token",
        "phone.gateway.attempts",
    ] {
        assert!(said.contains(key), "{key} in {said}");
    }
}
