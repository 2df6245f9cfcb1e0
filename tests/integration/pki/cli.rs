//! `auth-eid check-cert`: exit codes 0 / 1 / 2 and the report on stdout.

use std::process::Command;

use super::responder::{make_crl, write_crl};
use super::world::world;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .arg("check-cert")
        .args(args)
        .env_remove("AUTH_EID_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_and_report() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let crl = write_crl(
        dir.path(),
        "int.crl",
        &make_crl(&w.rsa_int, &[&w.revoked.cert], 7),
    );
    // The root's CRL answers for the issuing CA (revocation covers the whole path).
    let root_crl = write_crl(dir.path(), "root.crl", &make_crl(&w.rsa_root, &[], 7));
    // Relative paths resolve against the configuration file's directory.
    std::fs::copy(w.path("rsa_root.pem"), dir.path().join("root.pem")).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"demo\"\n[trust.beid_auth]\nanchors = [\"root.pem\"]\n\
             crl = [\"{}\", \"{}\"]\nrequire_key_usage = [\"digitalSignature\"]\n",
            crl.file_name().unwrap().to_str().unwrap(),
            root_crl.file_name().unwrap().to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let chain = w.path("rsa_int.pem");

    let (code, out, err) = run(&[
        "--config",
        &cfg,
        "--profile",
        "beid_auth",
        "--chain",
        &chain,
        &w.path("good.pem"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["profile"], "beid_auth");
    assert_eq!(report["chain"].as_array().unwrap().len(), 3);

    let (code, out, _) = run(&[
        "--config",
        &cfg,
        "--profile",
        "beid_auth",
        "--chain",
        &chain,
        &w.path("revoked.pem"),
    ]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["verdict"], "invalid");

    // --at before the leaf's notBefore.
    let (code, out, _) = run(&[
        "--config",
        &cfg,
        "--profile",
        "beid_auth",
        "--chain",
        &chain,
        "--at",
        "2001-01-01T00:00:00Z",
        &w.path("good.pem"),
    ]);
    assert_eq!(code, 1, "{out}");

    // Caller mistakes: exit 2, and stderr names the mistake.
    let good = w.path("good.pem");
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--config", &cfg, "--profile", "nope", &good],
            "no profile `trust.nope`",
        ),
        (
            vec![
                "--config",
                "/nonexistent.toml",
                "--profile",
                "beid_auth",
                &good,
            ],
            "/nonexistent.toml not found",
        ),
        (
            vec![
                "--config",
                &cfg,
                "--profile",
                "beid_auth",
                "--at",
                "yesterday",
                &good,
            ],
            "yesterday",
        ),
        (
            vec![
                "--config",
                &cfg,
                "--profile",
                "beid_auth",
                "/nonexistent.pem",
            ],
            "/nonexistent.pem cannot be read",
        ),
    ];
    for (args, says) in cases {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "mode = \"demo\"\n[trust.beid_auth]\nanchors = [\"missing.pem\"]\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "--config",
        &bad.display().to_string(),
        "--profile",
        "beid_auth",
        &w.path("good.pem"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("trust.beid_auth.anchors[0]"), "{err}");
}
