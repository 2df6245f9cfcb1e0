//! Fuzzing entry points: one function per target, each taking arbitrary bytes and feeding them
//! to the real parsers and checks, returning nothing. None may panic on any input: a panic is a
//! bug in the code under test. The harness in `fuzz/` (AFL++) runs them, and the integration
//! test `fuzz_corpus` replays the committed corpora and regression inputs through them on every
//! `cargo test`. A new target is one function here plus one line in [`TARGETS`].

use std::path::Path;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use figment::providers::{Format, Toml};
use figment::Figment;

use crate::config::Config;
use crate::contract::parse_start;
use crate::means::card::apdu::{Command, Response};
use crate::means::card::date::CardDate;
use crate::means::card::files::{parse_tlv, AddressFile, IdentityFile};
use crate::means::card::session::{authenticate, card_status, AuthRequest};
use crate::means::card::{verify_token, Pin, WebEidToken};
use crate::means::smart_id::client::parse_session_status;
use crate::means::smart_id::http1::ResponseParser;
use crate::means::smart_id::{
    conclude, AuthHash, AuthTarget, CertificateLevel, Checks, Country, HashType,
    PendingAuthentication, PersonalCode, SessionStatus,
};
use crate::pki::identity_from_der;
use crate::urls::{AllowList, UrlPrefix};

mod scripted;
#[cfg(test)]
mod seeds;

use scripted::ScriptedCard;

/// One fuzz target: the name `scripts/fuzz` and the corpus folders use, and its entry point.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target. The corpus of `name` lives in `fuzz/corpus/<name>/`, crashes it found in
/// `fuzz/regressions/<name>/`.
pub const TARGETS: &[Target] = &[
    Target {
        name: "card_files",
        run: card_files,
    },
    Target {
        name: "apdu",
        run: apdu,
    },
    Target {
        name: "web_eid_token",
        run: web_eid_token,
    },
    Target {
        name: "smart_id",
        run: smart_id,
    },
    Target {
        name: "start_authentication",
        run: start_authentication,
    },
    Target {
        name: "config",
        run: config,
    },
    Target {
        name: "http_response",
        run: http_response,
    },
];

/// The entry point of the target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|t| t.name == name).map(|t| t.run)
}

/// The origin and the challenge the card seeds were signed for: with them, a seed token passes
/// the Web eID signature check and mutations reach the `beid` files behind it.
pub const ORIGIN: &str = "https://auth-eid.example";
pub const CHALLENGE: &[u8] = b"auth-eid fuzzing challenge, 32 b";
/// The Smart-ID hash (SHA-512) and account the Smart-ID seeds were signed for.
pub const SMART_ID_DIGEST: [u8; 64] = [0x5A; 64];
pub const SMART_ID_ACCOUNT: &str = "PNOEE-50001029996";
const SMART_ID_SESSION: &str = "00000000-0000-4000-8000-000000000000";

/// The identity (EF 4031) and address (EF 4033) TLV files, their dates, and the certificate
/// fields read from a card certificate.
pub fn card_files(data: &[u8]) {
    let _ = parse_tlv(data, 0xFF);
    let _ = IdentityFile::parse(data);
    let _ = AddressFile::parse(data);
    let _ = identity_from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CardDate::parse_birth(text);
        let _ = CardDate::parse_numeric(text);
    }
}

/// APDUs: the input parsed as one command and one response, then as the card's whole side of
/// a status query and of a Web eID authentication (see [`ScriptedCard`]).
pub fn apdu(data: &[u8]) {
    let _ = Command::parse(data);
    let _ = Response::parse(data);
    let _ = card_status(&mut ScriptedCard::new(data));
    let Ok(pin) = Pin::parse("1234") else { return };
    let nonce = STANDARD.encode(CHALLENGE);
    let req = AuthRequest {
        origin: ORIGIN,
        nonce: &nonce,
        pin: &pin,
        with_photo: false,
    };
    let _ = authenticate(&mut ScriptedCard::new(data), &req);
}

/// A Web eID token as the browser posts it, through the whole pure verification.
pub fn web_eid_token(data: &[u8]) {
    if let Ok(token) = serde_json::from_slice::<WebEidToken>(data) {
        let _ = verify_token(&token, ORIGIN, CHALLENGE);
    }
}

/// Smart-ID: the session-status answer through parsing and result verification, and the input
/// as the personal code a citizen types.
pub fn smart_id(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PersonalCode::from_semantics_id(text, Checks::Strict);
        for country in [Country::EE, Country::LV, Country::LT, Country::BE] {
            if let Ok(code) = PersonalCode::parse(country, text, Checks::Strict) {
                let _ = code.birth_date();
            }
        }
    }
    if let (Ok(SessionStatus::Complete(done)), Some(pending)) =
        (parse_session_status(data), smart_id_pending())
    {
        let _ = conclude(&pending, &done, SystemTime::now());
    }
}

/// An RP API response as the Smart-ID client reads it off the TLS stream (`http1.rs`): the
/// first byte says how big the reads are, the rest arrives in reads of that size, then the close;
/// a 200 body goes on to `parse_session_status`.
pub fn http_response(data: &[u8]) {
    let Some((&step, wire)) = data.split_first() else {
        return;
    };
    let mut parser = ResponseParser::new(64 * 1024);
    let mut done = false;
    for piece in wire.chunks(usize::from(step).max(1)) {
        match parser.feed(piece) {
            Ok(complete) => done = complete,
            Err(_) => return,
        }
    }
    if !done && parser.eof().is_err() {
        return;
    }
    if let Ok((200, body)) = parser.finish() {
        let _ = parse_session_status(&body);
    }
}

/// The session the Smart-ID seeds answer.
fn smart_id_pending() -> Option<PendingAuthentication> {
    Some(PendingAuthentication {
        session_id: SMART_ID_SESSION.into(),
        target: AuthTarget::Etsi(
            PersonalCode::from_semantics_id(SMART_ID_ACCOUNT, Checks::FormatOnly).ok()?,
        ),
        hash: AuthHash::from_digest(HashType::Sha512, SMART_ID_DIGEST.to_vec())?,
        certificate_level: CertificateLevel::Advanced,
        v3: None,
    })
}

/// The body of `POST /start_authentication`, against fixed allow-lists.
pub fn start_authentication(data: &[u8]) {
    let list = |p: &str| AllowList::new(UrlPrefix::parse(p).into_iter().collect(), false);
    let continuations = list("https://rp.example/return");
    let attr_urls = list("https://rp.example/attributes");
    let _ = parse_start(data, &continuations, &attr_urls);
}

/// A configuration file, through extraction and validation (no environment layer). Relative
/// paths resolve against the crate directory, so the committed demo keys can load.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let figment = Figment::from(Toml::string(text));
        let _ = Config::from_figment(figment, Path::new(env!("CARGO_MANIFEST_DIR")));
    }
}
