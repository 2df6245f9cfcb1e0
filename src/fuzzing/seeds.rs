//! Writes the seed corpora under `fuzz/corpus/` from the project's own simulators (fictitious
//! people, test PKIs made on the spot). Run by hand, then commit what changed:
//! `cargo test --lib fuzzing::seeds -- --ignored`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::scripted::push_answer;
use super::{CHALLENGE, ORIGIN, SMART_ID_ACCOUNT, SMART_ID_DIGEST};
use crate::means::card::session::{authenticate, card_status, AuthRequest};
use crate::means::card::{CardTransport, Pin, TransportError};
use crate::means::smart_id::HashType;
use crate::simulate::card::contents::{card_contents, signed_files};
use crate::simulate::card::{BeidCard, EmulatorTransport, Profile, TestPki};
use crate::simulate::smart_id::results::{complete, Outcome};
use crate::simulate::smart_id::{accounts, TestPki as SmartIdPki};

/// Passes APDUs to the virtual card and keeps its answers in the script format.
struct Recorder<'a> {
    card: EmulatorTransport<'a>,
    script: Vec<u8>,
}

impl CardTransport for Recorder<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.card.transmit(apdu)?;
        push_answer(&mut self.script, &answer);
        Ok(answer)
    }
}

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    std::fs::write(corpus(target).join(name), bytes).unwrap();
}

fn card_seeds() {
    let pki = TestPki::generate().unwrap();
    let nonce = STANDARD.encode(CHALLENGE);
    let pin = Pin::parse("1234").unwrap();
    for (profile, tag) in [(Profile::Rsa, "rsa"), (Profile::Ec, "ec")] {
        let contents = card_contents(&pki, profile).unwrap();
        let chip = contents.chip_serial;
        let mut card = BeidCard::new(contents);

        let mut rec = Recorder {
            card: EmulatorTransport(&mut card),
            script: Vec::new(),
        };
        card_status(&mut rec).unwrap();
        write("apdu", &format!("status-{tag}"), &rec.script);
        rec.script.clear();
        let req = AuthRequest {
            origin: ORIGIN,
            nonce: &nonce,
            pin: &pin,
            with_photo: false,
        };
        let mut token = authenticate(&mut rec, &req).unwrap();
        write("apdu", &format!("authenticate-{tag}"), &rec.script);

        let json = serde_json::to_vec(&token).unwrap();
        write("web_eid_token", &format!("{tag}.json"), &json);
        token.beid = None;
        let json = serde_json::to_vec(&token).unwrap();
        write("web_eid_token", &format!("{tag}-no-beid.json"), &json);

        let files = signed_files(&pki, profile, &chip).unwrap();
        write("card_files", &format!("identity-{tag}"), &files.identity);
        write("card_files", &format!("address-{tag}"), &files.address);
    }
    let auth_cert = pki.card_rsa.cert.to_der().unwrap();
    write("card_files", "auth-cert-rsa.der", &auth_cert);
    write("card_files", "birth-date", b"30 JUL 1985");
    write("card_files", "birth-date-dotted", b"03.FEB.2001");
    write("card_files", "numeric-date", b"01.02.2020");
}

fn smart_id_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let pki = SmartIdPki::load_or_create(dir.path()).unwrap();
    let account = accounts::by_identity(SMART_ID_ACCOUNT).unwrap();
    for (end, name) in [("OK", "complete-ok.json"), ("USER_REFUSED", "refused.json")] {
        let outcome = Outcome {
            account: &account,
            hash: &SMART_ID_DIGEST,
            hash_type: HashType::Sha512,
            end_result: end,
            interaction_used: "displayTextAndPIN",
            fault: None,
        };
        let json = serde_json::to_vec(&complete(&pki, &outcome).unwrap()).unwrap();
        write("smart_id", name, &json);
    }
    write("smart_id", "running.json", br#"{"state":"RUNNING"}"#);
    write("smart_id", "code-ee", b"500 0102 9996");
    write("smart_id", "code-lv", b"PNOLV-020100-29990");
}

fn contract_seeds() {
    write(
        "start_authentication",
        "minimal.json",
        br#"{"attributes":["email"],"continuation":"https://rp.example/return"}"#,
    );
    write(
        "start_authentication",
        "attr-url.json",
        br#"{"attributes":["given_name","surname"],"continuation":"https://rp.example/return/a?x=1","attr_url":"https://rp.example/attributes/7"}"#,
    );
    let config = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap();
    write("config", "config.toml", &config);
    write(
        "config",
        "minimal.toml",
        b"mode = \"demo\"\npublic_url = \"http://127.0.0.1:8000\"\ninternal_url = \"http://127.0.0.1:8000\"\n",
    );
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_seed_corpora() {
    card_seeds();
    smart_id_seeds();
    contract_seeds();
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus(target).join(name)).unwrap()
}

/// The committed token and Smart-ID seeds carry valid signatures for the fixed origin,
/// challenge and hash, so that mutations get past the signature checks (regenerate if not).
#[test]
fn seeds_pass_the_signature_checks() {
    use crate::means::card::{verify_token, WebEidToken};
    use crate::means::smart_id::client::parse_session_status;
    use crate::means::smart_id::{Rejected, SessionStatus, VerifyError};

    for name in ["rsa.json", "ec.json"] {
        let token: WebEidToken = serde_json::from_slice(&seed("web_eid_token", name)).unwrap();
        let verified = verify_token(&token, ORIGIN, CHALLENGE).unwrap();
        assert!(verified.identity.is_some(), "{name}");
    }
    let status = parse_session_status(&seed("smart_id", "complete-ok.json")).unwrap();
    let SessionStatus::Complete(done) = status else {
        panic!("not COMPLETE")
    };
    match crate::means::smart_id::conclude(
        &super::smart_id_pending().unwrap(),
        &done,
        SystemTime::now(),
    ) {
        Ok(_) | Err(Rejected::Invalid(VerifyError::NotValidNow)) => {}
        Err(e) => panic!("{e}"),
    }
}
