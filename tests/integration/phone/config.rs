//! `check-config` names each bad `[phone]` key.

#[test]
fn check_config_explains_a_bad_phone_section() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{root}/config.toml")).unwrap();
    let mut text = shipped.replace("\"demo-keys/", &format!("\"{root}/demo-keys/"));
    text.push_str(
        r#"
[phone]
enabled = true
countries = [32, 0]
default_region = "Belgium"
code_lifetime_seconds = 3600
max_tries = 0
sender = "gateway"
[phone.gateway]
url = "not a url"
attempts = 9
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args(["check-config", "--config", path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    for (key, why) in [
        ("`phone.countries[1]`", "country calling code"),
        ("`phone.default_region`", "ISO 3166"),
        ("`phone.code_lifetime_seconds`", "between 1 and 600"),
        ("`phone.max_tries`", "between 1 and 5"),
        ("`phone.gateway.url`", ""),
        ("`phone.gateway.token`", "token_file"),
        ("`phone.gateway.attempts`", "between 1 and 5"),
    ] {
        let line = said
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} not named:\n{said}"));
        assert!(line.contains(why), "{key}: {line}\n{said}");
    }

    // The demo sender in production mode is refused by name.
    let production = shipped
        .replace("\"demo-keys/", &format!("\"{root}/demo-keys/"))
        .replace("mode = \"demo\"", "mode = \"production\"")
        + "\n[phone]\nenabled = true\nsender = \"demo\"\n";
    std::fs::write(&path, production).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args(["check-config", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.lines()
            .any(|l| l.contains("`phone.sender`") && l.contains("production")),
        "{said}"
    );
}
