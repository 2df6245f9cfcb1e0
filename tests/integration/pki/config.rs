//! Trust configuration errors name the key and never print file contents.

use std::path::Path;

use auth_eid::pki::TrustStore;

use super::responder::raw_trust;
use super::world::world;

fn errors(toml: &str, production: bool) -> Vec<String> {
    match TrustStore::load(&raw_trust(toml), Path::new("/"), production) {
        Ok(_) => vec![],
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn errors_name_the_key() {
    let w = world();
    let e = errors(
        &format!(
            "[trust.beid_auth]\nanchors = [\"{}\", \"/nonexistent.pem\"]\nintermediates = [\"{}\"]\n\
             require_eku = [\"clientAuth\", \"bogusName\"]\nrequire_key_usage = [\"signEverything\"]\n\
             ocsp = [{{ issuer = \"{}\", url = \"ftp://x\" }}]\ntimeout_seconds = 0\n",
            w.path("rsa_root.pem"),
            w.path("good.key"),
            w.path("rsa_int.pem"),
        ),
        false,
    );
    let all = e.join("\n");
    for key in [
        "`trust.beid_auth.anchors[1]`",
        "`trust.beid_auth.intermediates[0]`",
        "`trust.beid_auth.require_eku[1]`",
        "`trust.beid_auth.require_key_usage[0]`",
        "`trust.beid_auth.ocsp[0].url`",
        "`trust.beid_auth.timeout_seconds`",
    ] {
        assert!(all.contains(key), "{key} missing in:\n{all}");
    }
    assert!(!all.contains("BEGIN"), "{all}");
}

#[test]
fn leaf_as_anchor_and_missing_revocation_source_are_refused() {
    let w = world();
    let e = errors(
        &format!("[trust.t]\nanchors = [\"{}\"]\n", w.path("good.pem")),
        false,
    );
    let all = e.join("\n");
    assert!(all.contains("not a CA"), "{all}");
    assert!(all.contains("`trust.t.revocation`"), "{all}");
}

#[test]
fn demo_profiles_refused_in_production_only() {
    let w = world();
    let toml = format!(
        "[trust.sid]\ndemo = true\nanchors = [\"{}\"]\ncrl = []\nrevocation = \"fail_open\"\n\
         ocsp = [{{ issuer = \"{}\", url = \"http://127.0.0.1:1/\" }}]\n",
        w.path("ec_root.pem"),
        w.path("ec_int.pem")
    );
    assert!(errors(&toml, false).is_empty());
    let e = errors(&toml, true).join("\n");
    assert!(e.contains("`trust.sid.demo`"), "{e}");
    let off = format!(
        "[trust.t]\nanchors = [\"{}\"]\nrevocation = \"off\"\n",
        w.path("ec_root.pem")
    );
    assert!(errors(&off, false).is_empty());
    assert!(errors(&off, true)
        .join("\n")
        .contains("`trust.t.revocation`"));
}

#[test]
fn unknown_keys_are_refused() {
    let r: Result<std::collections::BTreeMap<String, auth_eid::pki::TrustProfileConfig>, _> =
        figment::Figment::from(
            <figment::providers::Toml as figment::providers::Format>::string(
                "[trust.t]\nanchors = []\nrevocaton = \"off\"\n",
            ),
        )
        .extract_inner("trust");
    assert!(r.is_err());
}
