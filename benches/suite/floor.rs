//! The floors: `openssl speed` on one core (it runs single-threaded without `-multi`), measured
//! in each run right before the figures they bound.

use std::process::Command;

/// A signature algorithm `openssl speed` knows, and its `-mr` result line.
#[derive(Debug, Clone, Copy)]
pub enum Alg {
    Rsa2048,
    P256,
}

impl Alg {
    pub fn label(self) -> &'static str {
        match self {
            Alg::Rsa2048 => "RSA-2048",
            Alg::P256 => "EC P-256",
        }
    }

    fn speed_name(self) -> &'static str {
        match self {
            Alg::Rsa2048 => "rsa2048",
            Alg::P256 => "ecdsap256",
        }
    }

    /// `+F2:<i>:2048:<sign/s>:<verify/s>` (RSA), `+F4:<i>:256:<sign/s>:<verify/s>` (ECDSA).
    fn line_prefix(self) -> &'static str {
        match self {
            Alg::Rsa2048 => "+F2",
            Alg::P256 => "+F4",
        }
    }
}

/// Signatures per second of one core: `openssl speed -mr -seconds 1 <alg>`.
pub fn sign_rate(alg: Alg) -> f64 {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", "1", alg.speed_name()])
        .output()
        .expect("openssl speed runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = text
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&alg.line_prefix()))
        .and_then(|f| f.get(3).and_then(|v| v.parse::<f64>().ok()));
    match rate {
        Some(r) if r > 0.0 => r,
        _ => panic!("could not read `openssl speed -mr` output:\n{text}"),
    }
}
