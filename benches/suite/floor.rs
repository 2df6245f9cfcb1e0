//! The floors: `openssl speed` on one core (it runs single-threaded without `-multi`), measured
//! in the same run as the figures they bound, once per run so each ratio compares neighbours.

use std::process::Command;

/// Operations per second of one core, from one `openssl speed` run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Speed {
    pub rsa2048_sign: f64,
    pub rsa2048_verify: f64,
    pub p256_sign: f64,
    pub p256_verify: f64,
}

/// One `openssl speed -mr rsa2048 ecdsap256` run of `seconds` per operation.
pub fn measure(seconds: u32) -> Speed {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", &seconds.to_string()])
        .args(["rsa2048", "ecdsap256"])
        .output()
        .expect("openssl speed runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let s = parse(&text);
    assert!(
        s.rsa2048_sign > 0.0 && s.p256_sign > 0.0,
        "could not read `openssl speed -mr` output:\n{text}"
    );
    s
}

/// `+F2:<i>:2048:<sign/s>:<verify/s>` (RSA) and `+F4:<i>:256:<sign/s>:<verify/s>` (ECDSA).
fn parse(text: &str) -> Speed {
    let mut s = Speed::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let rate = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        match (f.first().copied(), f.get(2).copied()) {
            (Some("+F2"), Some("2048")) => (s.rsa2048_sign, s.rsa2048_verify) = (rate(3), rate(4)),
            (Some("+F4"), Some("256")) => (s.p256_sign, s.p256_verify) = (rate(3), rate(4)),
            _ => {}
        }
    }
    s
}
