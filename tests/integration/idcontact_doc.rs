//! docs/idcontact.md's worked local setup, run as written: the commands of its `sh` blocks in
//! order, in one bash with `set -euo pipefail`, with the built `auth-eid` on the PATH.

use std::path::Path;
use std::process::Command;

/// The `sh` blocks of the section headed `heading`, in order.
fn sh_blocks(markdown: &str, heading: &str) -> Vec<String> {
    let section = markdown
        .split_once(heading)
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .expect("the section exists");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_worked_local_setup_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/idcontact.md")).unwrap();
    let blocks = sh_blocks(&doc, "## A worked local setup");
    assert!(blocks.len() >= 3, "the setup has its steps");
    let script = format!("set -euo pipefail\n{}", blocks.concat());
    let bin = Path::new(env!("CARGO_BIN_EXE_auth-eid")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("timeout")
        .args(["60", "bash", "-c", &script])
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("signing key: read from [signing_privkey]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"client_url\":\"http://127.0.0.1:8400/flow/"),
        "{stdout}"
    );
    assert!(stdout.contains("continuation_not_allowed"), "{stdout}");
    // check-config's fingerprint is the one sha256sum printed for the public key file.
    let printed = stdout
        .split("public key SHA-256 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a fingerprint");
    assert!(stdout.contains(&format!("{printed}  -")), "{stdout}");
}
