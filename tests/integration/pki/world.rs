//! The shared test PKI: every certificate the tests need, generated once per test process.

use std::path::PathBuf;
use std::sync::OnceLock;

use openssl::nid::Nid;

use super::gen::{date_of_birth_ext, issue, now, write_issued, Issued, KeyKind, Spec, DAY};

/// The shared test PKI.
pub struct World {
    pub dir: PathBuf,
    pub rsa_root: Issued,
    pub rsa_int: Issued,
    pub ec_root: Issued,
    pub ec_int: Issued,
    /// A rogue root and an intermediate under it with the same DN as `rsa_int`.
    pub rogue_root: Issued,
    pub rogue_int: Issued,
    pub good: Issued,
    pub good2: Issued,
    pub revoked: Issued,
    pub unknown: Issued,
    pub expired: Issued,
    pub not_yet: Issued,
    pub wrong_ku: Issued,
    pub no_eku: Issued,
    pub ca_leaf: Issued,
    pub rogue_leaf: Issued,
    pub self_signed: Issued,
    pub rsa6144: Issued,
    pub ec_leaf: Issued,
    pub smart: Issued,
    /// Delegated OCSP signer of `rsa_int` (id-kp-OCSPSigning).
    pub responder: Issued,
    /// Issued by `rsa_int` but without id-kp-OCSPSigning.
    pub not_responder: Issued,
    /// OCSPSigning, but issued by the rogue intermediate.
    pub rogue_responder: Issued,
    /// Delegated OCSP signer of `ec_int`.
    pub ec_responder: Issued,
}

pub const SMART_POLICY_Q: &str = "1.3.6.1.4.1.10015.17.2";
pub const ETSI_NCP_PLUS: &str = "0.4.0.2042.1.2";

/// Removes worlds of earlier runs (a static is never dropped, so each run leaves its own);
/// an hour's grace leaves a concurrently running test process alone.
fn sweep_old_worlds(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old && e.file_name().to_string_lossy().starts_with("pki-world-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn generate() -> World {
    sweep_old_worlds(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let dir = tempfile::Builder::new()
        .prefix("pki-world-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let rsa_root = issue(&Spec::ca("Test RSA Root", KeyKind::Rsa(2048), None));
    let rsa_int = issue(&Spec::ca(
        "Test Citizen CA",
        KeyKind::Rsa(2048),
        Some(&rsa_root),
    ));
    let ec_root = issue(&Spec::ca("Test EC Root", KeyKind::Ec(Nid::SECP384R1), None));
    let ec_int = issue(&Spec::ca(
        "Test EC Issuing CA",
        KeyKind::Ec(Nid::SECP384R1),
        Some(&ec_root),
    ));
    let rogue_root = issue(&Spec::ca("Rogue Root", KeyKind::Rsa(2048), None));
    let rogue_int = issue(&Spec::ca(
        "Test Citizen CA",
        KeyKind::Rsa(2048),
        Some(&rogue_root),
    ));

    let leaf = |cn| issue(&Spec::leaf(cn, &rsa_int));
    let good = leaf("Alice Example (Authentication)");
    let good2 = leaf("Bob Example (Authentication)");
    let revoked = leaf("Revoked Example (Authentication)");
    let unknown = leaf("Unknown Example (Authentication)");
    let expired = issue(&Spec {
        not_before: now() - 400 * DAY,
        not_after: now() - 10 * DAY,
        ..Spec::leaf("Expired Example", &rsa_int)
    });
    let not_yet = issue(&Spec {
        not_before: now() + 10 * DAY,
        not_after: now() + 400 * DAY,
        ..Spec::leaf("Future Example", &rsa_int)
    });
    let wrong_ku = issue(&Spec {
        key_usage: Some("critical,keyEncipherment"),
        ..Spec::leaf("Wrong KU Example", &rsa_int)
    });
    let no_eku = issue(&Spec {
        eku: None,
        ..Spec::leaf("No EKU Example", &rsa_int)
    });
    let ca_leaf = issue(&Spec {
        ca: true,
        key_usage: Some("critical,digitalSignature,keyCertSign"),
        ..Spec::leaf("CA As Leaf Example", &rsa_int)
    });
    let rogue_leaf = issue(&Spec::leaf("Alice Example (Authentication)", &rogue_int));
    let self_signed = issue(&Spec {
        issuer: None,
        subject: vec![(Nid::SERIALNUMBER, "00000000097")],
        ..Spec::leaf("Self Signed Example", &rsa_int)
    });
    let rsa6144 = issue(&Spec {
        key: KeyKind::Rsa(6144),
        ..Spec::leaf("Big Key Example", &rsa_int)
    });
    let ec_leaf = issue(&Spec {
        key: KeyKind::Ec(Nid::SECP384R1),
        ..Spec::leaf("EC Example (Authentication)", &ec_int)
    });
    let smart = issue(&Spec {
        subject: vec![
            (Nid::COUNTRYNAME, "EE"),
            (Nid::SERIALNUMBER, "PNOEE-30001010000"),
            (Nid::GIVENNAME, "Testy"),
            (Nid::SURNAME, "Example"),
        ],
        eku: Some("1.3.6.1.4.1.62306.5.7.0"),
        policies: Some(&format!("{SMART_POLICY_Q},{ETSI_NCP_PLUS}")),
        raw_ext: vec![("2.5.29.9", date_of_birth_ext("19000101"))],
        ..Spec::leaf("EXAMPLE,TESTY", &ec_int)
    });
    let responder = issue(&Spec {
        key_usage: Some("critical,digitalSignature"),
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test Citizen CA OCSP Responder", &rsa_int)
    });
    let not_responder = issue(&Spec {
        eku: Some("clientAuth"),
        ..Spec::leaf("Not A Responder", &rsa_int)
    });
    let rogue_responder = issue(&Spec {
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test Citizen CA OCSP Responder", &rogue_int)
    });
    let ec_responder = issue(&Spec {
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test EC OCSP Responder", &ec_int)
    });
    let w = World {
        dir,
        rsa_root,
        rsa_int,
        ec_root,
        ec_int,
        rogue_root,
        rogue_int,
        good,
        good2,
        revoked,
        unknown,
        expired,
        not_yet,
        wrong_ku,
        no_eku,
        ca_leaf,
        rogue_leaf,
        self_signed,
        rsa6144,
        ec_leaf,
        smart,
        responder,
        not_responder,
        rogue_responder,
        ec_responder,
    };
    for (name, i) in w.all() {
        write_issued(&w.dir, name, i);
    }
    w
}

impl World {
    fn all(&self) -> Vec<(&'static str, &Issued)> {
        vec![
            ("rsa_root", &self.rsa_root),
            ("rsa_int", &self.rsa_int),
            ("ec_root", &self.ec_root),
            ("ec_int", &self.ec_int),
            ("rogue_root", &self.rogue_root),
            ("rogue_int", &self.rogue_int),
            ("good", &self.good),
            ("good2", &self.good2),
            ("revoked", &self.revoked),
            ("unknown", &self.unknown),
            ("expired", &self.expired),
            ("not_yet", &self.not_yet),
            ("wrong_ku", &self.wrong_ku),
            ("no_eku", &self.no_eku),
            ("ca_leaf", &self.ca_leaf),
            ("rogue_leaf", &self.rogue_leaf),
            ("self_signed", &self.self_signed),
            ("rsa6144", &self.rsa6144),
            ("ec_leaf", &self.ec_leaf),
            ("smart", &self.smart),
            ("responder", &self.responder),
            ("not_responder", &self.not_responder),
            ("rogue_responder", &self.rogue_responder),
            ("ec_responder", &self.ec_responder),
        ]
    }

    /// Path of `<name>.pem` (or `.key`) in the world directory, as a TOML-safe string.
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(generate)
}
