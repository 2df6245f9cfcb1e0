//! Loading and validating configuration: every error names its key and prints no value.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::{Figment, Jail};

use super::*;
use crate::demo_keys;

/// The shipped demo configuration with its key files inline (as `key = """..."""`).
fn demo_text() -> String {
    include_str!("../../config.toml")
        .replace(
            "key_file = \"demo-keys/signing-demo.key.pem\"",
            &format!("key = \"\"\"{}\"\"\"", demo_keys::SIGNING_PRIVATE),
        )
        .replace(
            "key_file = \"demo-keys/receiver-demo.pub.pem\"",
            &format!("key = \"\"\"{}\"\"\"", demo_keys::RECEIVER_PUBLIC),
        )
}

fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::from_figment(Figment::from(Toml::string(text)), Path::new("."))
}

fn keys_of(errors: &ConfigErrors) -> Vec<&str> {
    errors.0.iter().map(|e| e.key.as_str()).collect()
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
fn the_shipped_config_is_valid() {
    // In a Jail too: it reads the environment, which the Jail tests change, and Jails take
    // turns, so this never sees their variables.
    Jail::expect_with(|_| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let config = Config::load(&path).map_err(|e| e.to_string())?;
        assert_eq!(config.mode, Mode::Demo);
        assert!(config.test_means.enabled);
        assert_eq!(config.signing.alg, SigningAlg::Rs256);
        assert_eq!(config.encryption.alg, EncryptionAlg::RsaOaep);
        Ok(())
    });
}

#[test]
fn production_refuses_demo_material() {
    let text = demo_text().replace("mode = \"demo\"", "mode = \"production\"");
    let errors = load(&text).unwrap_err();
    let keys = keys_of(&errors);
    for key in [
        "public_url",
        "keys.signing.key",
        "keys.encryption.key",
        "means.test.enabled",
    ] {
        assert!(keys.contains(&key), "{key} not reported: {errors}");
    }
}

#[test]
fn bad_key_material_is_named_but_never_printed() {
    let broken = demo_keys::SIGNING_PRIVATE.replace("MII", "XXX");
    let text = demo_text().replace(demo_keys::SIGNING_PRIVATE, &broken);
    let errors = load(&text).unwrap_err();
    assert_eq!(keys_of(&errors), ["keys.signing.key"]);
    let shown = errors.to_string();
    assert!(
        !shown.contains("XXX") && !shown.contains("BEGIN"),
        "{shown}"
    );

    // a PEM block where a number belongs: figment's own message would quote it
    let text = demo_text().replace(
        "port = 8400",
        &format!("port = \"\"\"{}\"\"\"", demo_keys::SIGNING_PRIVATE),
    );
    let shown = load(&text).unwrap_err().to_string();
    assert!(
        shown.contains("server.port") && !shown.contains("BEGIN"),
        "{shown}"
    );
}

#[test]
fn wrong_key_type_size_and_reuse_are_refused() {
    let text = demo_text().replacen("type = \"RSA\"", "type = \"EC\"", 1);
    assert_eq!(keys_of(&load(&text).unwrap_err()), ["keys.signing.key"]);
    let reuse = demo_text().replace(demo_keys::RECEIVER_PUBLIC, demo_keys::SIGNING_PUBLIC);
    assert_eq!(keys_of(&load(&reuse).unwrap_err()), ["keys.encryption"]);
    // The same key in another PEM layout (base64 lines of 40, not 64) is still the same key.
    let body: String = demo_keys::SIGNING_PUBLIC
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let rewrapped: Vec<&str> = body
        .as_bytes()
        .chunks(40)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        rewrapped.join("\n")
    );
    let reuse = demo_text().replace(demo_keys::RECEIVER_PUBLIC, &pem);
    assert_eq!(keys_of(&load(&reuse).unwrap_err()), ["keys.encryption"]);
    let both = demo_text().replace(
        &format!("key = \"\"\"{}\"\"\"", demo_keys::SIGNING_PRIVATE),
        &format!(
            "key = \"\"\"{}\"\"\"\nkey_file = \"x.pem\"",
            demo_keys::SIGNING_PRIVATE
        ),
    );
    assert_eq!(keys_of(&load(&both).unwrap_err()), ["keys.signing"]);
}

#[test]
fn delivery_retries_must_fit_in_the_token_lifetime() {
    for bad in ["0", "301"] {
        let text = demo_text().replace(
            "retry_for_seconds = 290",
            &format!("retry_for_seconds = {bad}"),
        );
        assert_eq!(
            keys_of(&load(&text).unwrap_err()),
            ["delivery.retry_for_seconds"],
            "{bad}"
        );
    }
    let ok = demo_text().replace("retry_for_seconds = 290", "retry_for_seconds = 300");
    assert!(load(&ok).is_ok());
}

#[test]
fn typos_and_bad_values_name_their_keys() {
    let text = demo_text()
        .replace("ttl_seconds = 900", "ttl_seconds = 900\nttl_secnds = 1")
        .replace(
            "continuation = [\"http://127.0.0.1:8400/demo/\"]",
            "continuation = [\"javascript:x\"]",
        );
    let shown = load(&text).unwrap_err().to_string();
    assert!(shown.contains("flow.ttl_secnds"), "{shown}");
    let text = demo_text().replace(
        "continuation = [\"http://127.0.0.1:8400/demo/\"]",
        "continuation = [\"javascript:x\"]",
    );
    assert_eq!(
        keys_of(&load(&text).unwrap_err()),
        ["allow.continuation[0]"]
    );
    let text = demo_text().replace("mode = \"demo\"", "mode = \"prod\"");
    assert!(load(&text)
        .unwrap_err()
        .to_string()
        .contains("demo, production"));
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
fn environment_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file("config.toml", &demo_text())?;
        jail.set_env("AUTH_EID_SERVER__PORT", "9123");
        jail.set_env("AUTH_EID_MEANS__TEST__ENABLED", "false");
        jail.set_env("AUTH_EID_CONFIG", "ignored: names the file, not a key");
        let config = Config::load(Path::new("config.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.server.port, 9123);
        assert!(!config.test_means.enabled);
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
fn unrelated_environment_variables_are_ignored_and_typos_name_their_key_once() {
    Jail::expect_with(|jail| {
        jail.create_file("config.toml", &demo_text())?;
        jail.set_env("AUTH_EID_BIN", "/usr/local/bin/auth-eid");
        let config = Config::load(Path::new("config.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.server.port, 8400);
        assert_eq!(unrelated_env_vars(), ["AUTH_EID_BIN"]);
        jail.set_env("AUTH_EID_SERVER__ADRESS", "0.0.0.0");
        let shown = Config::load(Path::new("config.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            shown.contains("`server.adress`: is not a known setting"),
            "{shown}"
        );
        assert!(!shown.contains("adress.adress"), "{shown}");
        Ok(())
    });
    let text = demo_text().replace("port = 8400", "port = 8400\nadress = \"x\"");
    let shown = load(&text).unwrap_err().to_string();
    assert!(shown.contains("`server.adress`: is not"), "{shown}");
}

#[test]
fn live_smart_id_refuses_the_sk_demo_service() {
    let with = |base_url: &str| {
        let text = demo_text().replacen(
            "[means.smart_id]\nenabled = false",
            &format!("[means.smart_id]\nenabled = true\nenvironment = \"live\"\nbase_url = \"{base_url}\""),
            1,
        );
        let errors = load(&text).unwrap_err();
        keys_of(&errors).contains(&"means.smart_id.base_url")
    };
    assert!(with("https://sid.demo.sk.ee/smart-id-rp/v2/"));
    assert!(with("https://SID.DEMO.SK.EE./smart-id-rp/v2/"));
    assert!(!with("https://rp-api.smart-id.com/v2/"));
}

#[test]
fn reference_key_names_are_read_and_reported() {
    // A block pasted from an auth-test or core configuration: top-level reference tables.
    let top = demo_text()
        .replace("[keys.signing]", "[signing_privkey]")
        .replace("[keys.encryption]", "[encryption_pubkey]");
    let config = load(&top).unwrap();
    assert_eq!(config.key_names.signing, "signing_privkey");
    assert_eq!(config.key_names.encryption, "encryption_pubkey");
    assert_eq!(config.signing.alg, SigningAlg::Rs256);
    // The same names under [keys].
    let nested = demo_text()
        .replace("[keys.signing]", "[keys.signing_privkey]")
        .replace("[keys.encryption]", "[keys.encryption_pubkey]");
    let config = load(&nested).unwrap();
    assert_eq!(config.key_names.signing, "keys.signing_privkey");
    assert_eq!(config.key_names.encryption, "keys.encryption_pubkey");
    // Ours, as shipped.
    let config = load(&demo_text()).unwrap();
    assert_eq!(
        (config.key_names.signing, config.key_names.encryption),
        ("keys.signing", "keys.encryption")
    );
}

#[test]
fn a_key_given_twice_or_not_at_all_is_named() {
    let signing_block = |name: &str| {
        format!(
            "\n[{name}]\ntype = \"RSA\"\nkey = \"\"\"{}\"\"\"\n",
            demo_keys::SIGNING_PRIVATE
        )
    };
    let twice = format!("{}{}", demo_text(), signing_block("signing_privkey"));
    let errors = load(&twice).unwrap_err();
    assert_eq!(keys_of(&errors), ["signing_privkey"], "{errors}");
    assert!(errors.to_string().contains("same key as keys.signing"));

    let none = without_block(&demo_text(), "[keys.encryption]");
    let errors = load(&none).unwrap_err();
    assert_eq!(keys_of(&errors), ["keys.encryption"], "{errors}");
    assert!(errors.to_string().contains("[encryption_pubkey]"));

    let theirs = format!("{}{}", demo_text(), signing_block("signature_pubkey"));
    let errors = load(&theirs).unwrap_err();
    assert_eq!(keys_of(&errors), ["signature_pubkey"], "{errors}");
    assert!(errors.to_string().contains("communication plugin"));
}

/// `text` without the table `header` and its lines up to the next blank line.
fn without_block(text: &str, header: &str) -> String {
    let (before, rest) = text.split_once(header).unwrap();
    let after = rest.split_once("\n\n").map_or("", |(_, a)| a);
    format!("{before}{after}")
}

#[test]
fn reference_key_names_are_settings_in_the_environment() {
    // Not through the process environment: other tests load configurations at the same time.
    for name in [
        "signing_privkey.key",
        "encryption_pubkey.type",
        "keys.signing_privkey.key",
    ] {
        assert!(is_setting(name), "{name}");
    }
    let text = without_block(&demo_text(), "[keys.signing]");
    let block = format!(
        "[signing_privkey]\ntype = \"RSA\"\nkey = \"\"\"{}\"\"\"\n",
        demo_keys::SIGNING_PRIVATE
    );
    let layered = Figment::from(Toml::string(&text)).merge(Toml::string(&block));
    let config = Config::from_figment(layered, Path::new(".")).unwrap();
    assert_eq!(config.key_names.signing, "signing_privkey");
}

#[test]
fn smart_id_resume_lease_is_bounded() {
    let errors_with = |lease: u64| {
        let text = demo_text().replacen(
            "[means.smart_id]\nenabled = false",
            &format!("[means.smart_id]\nenabled = true\nresume_after_ms = {lease}"),
            1,
        );
        let errors = load(&text).unwrap_err();
        keys_of(&errors).contains(&"means.smart_id.resume_after_ms")
    };
    assert!(errors_with(2_999));
    assert!(errors_with(300_001));
    assert!(!errors_with(3_000));
    assert!(!errors_with(15_000));
}

/// The demo configuration with `[pages]` replaced by `pages`.
fn with_pages(pages: &str) -> String {
    let text = demo_text();
    let start = text.find("[pages]").unwrap();
    let end = text.find("[log]").unwrap();
    format!("{}{pages}\n{}", &text[..start], &text[end..])
}

#[test]
fn pages_branding_is_checked_with_the_contrast_ratio() {
    let dir = std::env::temp_dir().join(format!("auth-eid-branding-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("logo.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .unwrap();
    let good = format!(
        "[pages]\nstatic_dir = \"{}\"\nlogo = \"logo.svg\"\nlogo_alt = {{ en = \"City\" }}\n\
         primary_color = \"#0b5394\"\nfooter = {{ nl = \"Stad\" }}\n\
         [[pages.services]]\nprefix = \"http://127.0.0.1:8400/demo/\"\nname = \"Demo\"\n\
         [pages.labels.email]\nen = \"Mail\"\n",
        dir.display()
    );
    let config = load(&with_pages(&good)).unwrap();
    let branding = &config.pages.branding;
    assert_eq!(branding.primary.unwrap().to_string(), "#0b5394");
    assert_eq!(
        branding.logo.as_ref().unwrap().content_type,
        "image/svg+xml"
    );
    assert_eq!(
        config
            .pages
            .requesters
            .display_name("http://127.0.0.1:8400/demo/result"),
        Some("Demo")
    );

    // Too light for white text: refused, with the ratio in the message.
    let errors = load(&with_pages("[pages]\nprimary_color = \"#66aaff\"\n")).unwrap_err();
    let text = errors.to_string();
    assert!(keys_of(&errors).contains(&"pages.primary_color"), "{text}");
    assert!(text.contains(":1") && text.contains("4.5:1"), "{text}");

    let bad = "[pages]\nprimary_color = \"blue\"\nlogo = \"../x.svg\"\n\
               [[pages.services]]\nprefix = \"https://elsewhere.example/\"\nname = \"X\"\n\
               [pages.labels.email]\nxx = \"Mail\"\n";
    let errors = load(&with_pages(bad)).unwrap_err();
    let keys = keys_of(&errors);
    for key in [
        "pages.primary_color",
        "pages.logo",
        "pages.services[0].prefix",
        "pages.labels.email.xx",
    ] {
        assert!(keys.contains(&key), "{key} not reported: {errors}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn smart_id_pins_an_old_and_a_new_certificate_at_once_and_warns_of_the_old_one() {
    use crate::means::smart_id::tls::test_certificate;
    let dir = tempfile::tempdir().unwrap();
    // A rotation in progress: last year's certificate (expired) beside this year's.
    let old = test_certificate("sid.demo.sk.ee", -2);
    let new = test_certificate("sid.demo.sk.ee", 200);
    std::fs::write(dir.path().join("old.pem"), old.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("new.pem"), new.to_pem().unwrap()).unwrap();
    let raw = raw::RawSmartIdMeans {
        enabled: true,
        environment: "demo".into(),
        base_url: "https://sid.demo.sk.ee/smart-id-rp/v3/".into(),
        relying_party_uuid: "00000000-0000-4000-8000-000000000000".into(),
        relying_party_name: "DEMO".into(),
        tls_pins: vec![crate::means::smart_id::Pin([9; 32]).to_string()],
        tls_pin_certificates: vec!["old.pem".into(), "new.pem".into()],
        attributes: [("nin".to_string(), "national_identity_number".to_string())].into(),
        ..Default::default()
    };
    let mut errors = Vec::new();
    let settings = means::smart_id(&raw, dir.path(), false, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let pins = &settings.client.as_ref().unwrap().tls.pins;
    let pin_of = |c: &openssl::x509::X509| crate::means::smart_id::Pin::of_certificate(c).unwrap();
    assert_eq!(pins.len(), 3, "the raw pin and both certificates' keys");
    assert!(pins.contains(&pin_of(&old)) && pins.contains(&pin_of(&new)));
    let warnings = settings.pin_warnings(std::time::SystemTime::now());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("old.pem") && warnings[0].contains("expired"),
        "{warnings:?}"
    );
    assert!(warnings[0].starts_with("means.smart_id.tls_pin_certificates"));
}

#[test]
fn smart_id_api_version_follows_the_base_url_unless_given_and_never_contradicts_it() {
    use crate::means::smart_id::ApiVersion;
    let dir = tempfile::tempdir().unwrap();
    let with = |base_url: &str, api_version: Option<&str>, environment: &str| {
        let raw = raw::RawSmartIdMeans {
            enabled: true,
            environment: environment.into(),
            base_url: base_url.into(),
            api_version: api_version.map(str::to_string),
            relying_party_uuid: "00000000-0000-4000-8000-000000000000".into(),
            relying_party_name: "DEMO".into(),
            tls_pins: vec![crate::means::smart_id::Pin([9; 32]).to_string()],
            attributes: [("nin".to_string(), "national_identity_number".to_string())].into(),
            ..Default::default()
        };
        let mut errors = Vec::new();
        let s = means::smart_id(&raw, dir.path(), false, &mut errors);
        let keys: Vec<String> = errors.iter().map(|e| e.key.clone()).collect();
        (s.client.map(|c| (c.api_version, c.scheme_name)), keys)
    };
    let v3 = "https://sid.demo.sk.ee/smart-id-rp/v3/";
    let v2 = "https://sid.demo.sk.ee/smart-id-rp/v2/";
    assert_eq!(
        with(v3, None, "demo").0,
        Some((ApiVersion::V3, "smart-id-demo".into()))
    );
    assert_eq!(
        with(v2, None, "demo").0,
        Some((ApiVersion::V2, "smart-id-demo".into()))
    );
    let live = with("https://rp-api.smart-id.com/v3/", None, "live").0;
    assert_eq!(live, Some((ApiVersion::V3, "smart-id".into())));
    // A base URL without a version segment (a proxy) takes the key, and v3 by default.
    assert_eq!(
        with("https://proxy.example/sid/", Some("v2"), "demo")
            .0
            .unwrap()
            .0,
        ApiVersion::V2
    );
    assert_eq!(
        with("https://proxy.example/sid/", None, "demo")
            .0
            .unwrap()
            .0,
        ApiVersion::V3
    );
    assert_eq!(
        with(v3, Some("v2"), "demo").1,
        ["means.smart_id.api_version"]
    );
    assert_eq!(
        with(v3, Some("v4"), "demo").1,
        ["means.smart_id.api_version"]
    );
}
