//! Device links (SK RP API v3 "Device link flows" and "authCode calculation"): the link the
//! QR code or the Web2App button carries, its `authCode`, and the checks of the Web2App
//! callback. The link must match SK's form bit for bit: fixed parameter order, no URL encoding.
//!
//! ```text
//! unprotected = deviceLinkBase ?deviceLinkType=QR &elapsedSeconds=N &sessionToken=…
//!               &sessionType=auth &version=1.0 &lang=eng          (Web2App: no elapsedSeconds)
//! authCode    = BASE64URL_NOPAD(HMAC-SHA256(B64DECODE(sessionSecret),
//!               scheme|ACSP_V2|rpChallenge|B64(rpName)|B64(brokeredRpName)|interactions|
//!               initialCallbackUrl (empty for QR)|unprotected))
//! link        = unprotected &authCode=…
//! ```
//! A QR code is made afresh every second from the seconds elapsed since SK answered the start
//! request; future codes are never computed ahead. The secret never leaves the server.

use std::fmt;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::ACSP_V2;
use crate::mac::hmac_sha256;
use crate::means::smart_id::errors::SmartIdError;
use crate::means::smart_id::session::PendingAuthentication;

/// `sessionSecret` of a device-link session (Base64 as received). It keys the authCode and
/// must never reach the browser or a log: Debug prints nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSecret(String);

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<hidden>)")
    }
}

impl SessionSecret {
    /// Base64 of at least 16 bytes (SK: at least 24 characters).
    pub fn parse(b64: &str) -> Result<Self, SmartIdError> {
        match B64.decode(b64) {
            Ok(key) if b64.len() >= 24 && key.len() >= 16 => Ok(SessionSecret(b64.to_string())),
            _ => Err(SmartIdError::BrokenResponse("sessionSecret".into())),
        }
    }

    fn key(&self) -> Vec<u8> {
        // Checked in `parse`; a stored value that no longer decodes keys nothing useful.
        B64.decode(&self.0).unwrap_or_default()
    }

    /// `sessionSecretDigest` the app appends to the callback: BASE64URL(SHA-256(secret)).
    pub fn digest(&self) -> String {
        B64URL.encode(openssl::sha::sha256(&self.key()))
    }
}

/// How the link is used: scanned from our page, or opened on the same phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Qr { elapsed_seconds: u64 },
    Web2App,
}

/// Everything a link and its authCode are made of.
pub struct LinkParts<'a> {
    pub device_link_base: &'a str,
    pub session_token: &'a str,
    /// `auth`, `sign` or `cert`.
    pub session_type: &'a str,
    /// ISO 639-2, e.g. `eng`; only SK's fallback page uses it.
    pub lang: &'a str,
    pub scheme_name: &'a str,
    /// `ACSP_V2` for authentication; empty for certificate choice.
    pub signature_protocol: &'a str,
    /// rpChallenge (authentication) or digest (signing), as sent.
    pub digest: &'a str,
    pub relying_party_name: &'a str,
    pub brokered_rp_name: &'a str,
    pub interactions: &'a str,
    /// Only for Web2App/App2App links.
    pub initial_callback_url: Option<&'a str>,
}

/// The complete link with its authCode. The callback URL takes part for Web2App only (QR
/// keeps the empty field, `||`).
pub fn build_link(parts: &LinkParts<'_>, secret: &SessionSecret, kind: LinkKind) -> String {
    let (link_type, elapsed) = match kind {
        LinkKind::Qr { elapsed_seconds } => ("QR", Some(elapsed_seconds)),
        LinkKind::Web2App => ("Web2App", None),
    };
    let mut link = format!("{}?deviceLinkType={link_type}", parts.device_link_base);
    if let Some(n) = elapsed {
        link.push_str(&format!("&elapsedSeconds={n}"));
    }
    link.push_str(&format!(
        "&sessionToken={}&sessionType={}&version=1.0&lang={}",
        parts.session_token, parts.session_type, parts.lang
    ));
    let callback = match kind {
        LinkKind::Qr { .. } => "",
        LinkKind::Web2App => parts.initial_callback_url.unwrap_or(""),
    };
    let payload = [
        parts.scheme_name,
        parts.signature_protocol,
        parts.digest,
        &B64.encode(parts.relying_party_name),
        &B64.encode(parts.brokered_rp_name),
        parts.interactions,
        callback,
        &link,
    ]
    .join("|");
    let code = hmac_sha256(&secret.key(), &[payload.as_bytes()]);
    link.push_str("&authCode=");
    link.push_str(&B64URL.encode(code));
    link
}

/// `BASE64URL(SHA-256(utf8(userChallengeVerifier)))`: must equal the signature's
/// `userChallenge` for a Web2App result.
pub fn user_challenge_of(verifier: &str) -> String {
    B64URL.encode(openssl::sha::sha256(verifier.as_bytes()))
}

/// Constant-time string equality for values the other side should not be able to probe.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// A started device-link authentication, as the flow keeps it (serializable for the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLinkSession {
    pub pending: PendingAuthentication,
    pub session_token: String,
    pub session_secret: SessionSecret,
    pub device_link_base: String,
    /// When SK's answer to the start request was received (Unix ms): `elapsedSeconds` counts
    /// from here.
    pub received_at_ms: u64,
}

impl DeviceLinkSession {
    fn parts<'a>(&'a self, lang: &'a str, digest: &'a str) -> Option<LinkParts<'a>> {
        let v3 = self.pending.v3.as_ref()?;
        let callback = match &v3.flow {
            super::V3Flow::DeviceLink {
                initial_callback_url,
            } => initial_callback_url.as_deref(),
            super::V3Flow::Notification => return None,
        };
        Some(LinkParts {
            device_link_base: &self.device_link_base,
            session_token: &self.session_token,
            session_type: "auth",
            lang,
            scheme_name: &v3.scheme_name,
            signature_protocol: ACSP_V2,
            digest,
            relying_party_name: &v3.relying_party_name,
            brokered_rp_name: "",
            interactions: v3.interactions.encoded(),
            initial_callback_url: callback,
        })
    }

    /// The QR code's link at `now_ms` (Unix ms): call it again every second.
    pub fn qr_link(&self, now_ms: u64, lang: &str) -> Option<String> {
        let elapsed_seconds = now_ms.saturating_sub(self.received_at_ms) / 1000;
        let digest = self.pending.hash.to_base64();
        let parts = self.parts(lang, &digest)?;
        Some(build_link(
            &parts,
            &self.session_secret,
            LinkKind::Qr { elapsed_seconds },
        ))
    }

    /// The Web2App link, when the session was started with a callback URL.
    pub fn web2app_link(&self, lang: &str) -> Option<String> {
        let digest = self.pending.hash.to_base64();
        let parts = self.parts(lang, &digest)?;
        parts.initial_callback_url?;
        Some(build_link(&parts, &self.session_secret, LinkKind::Web2App))
    }

    /// The callback's `sessionSecretDigest` is this session's.
    pub fn callback_digest_matches(&self, session_secret_digest: &str) -> bool {
        same(&self.session_secret.digest(), session_secret_digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SK's worked example ("authCode calculation", RP API v3.2.3 docs): the same secret,
    // session token, names and interactions throughout; the expected codes are SK's.
    const SECRET: &str = "B98ODiVCebRedSwdTk51zFSaGYyHtY1H2A0ocAi3/Ps=";
    const CHALLENGE: &str =
        "GYS+yoah6emAcVDNIajwSs6UB/M95XrDxMzXBUkwQJ9YFDipXXzGpPc7raWcuc2+TEoRc7WvIZ/7dU/iRXenYg==";
    const INTERACTIONS: &str = "W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2UiLCJkaXNwbGF5VGV4dDIwMCI6IkxvbmdlciBkZXNjcmlwdGlvbiBvZiB0aGUgdHJhbnNhY3Rpb24gY29udGV4dCJ9LHsidHlwZSI6ImRpc3BsYXlUZXh0QW5kUElOIiwiZGlzcGxheVRleHQ2MCI6IlNob3J0IGRlc2NyaXB0aW9uIG9mIHRoZSB0cmFuc2FjdGlvbiBjb250ZXh0In1d";
    const CALLBACK: &str = "https://rp.example.com/callback-url?value=RrKjjT4aggzu27YBddX1bQ";

    fn parts(
        protocol: &'static str,
        digest: &'static str,
        interactions: &'static str,
        session_type: &'static str,
    ) -> LinkParts<'static> {
        LinkParts {
            device_link_base: "https://smart-id.com/device-link",
            session_token: "wGIrqveE6AuGDATZKmR1mtAZ",
            session_type,
            lang: "eng",
            scheme_name: "smart-id",
            signature_protocol: protocol,
            digest,
            relying_party_name: "DEMO",
            brokered_rp_name: "Example RP",
            interactions,
            initial_callback_url: Some(CALLBACK),
        }
    }

    #[test]
    fn qr_auth_link_is_sks_example() {
        let secret = SessionSecret::parse(SECRET).unwrap();
        let link = build_link(
            &parts(ACSP_V2, CHALLENGE, INTERACTIONS, "auth"),
            &secret,
            LinkKind::Qr {
                elapsed_seconds: 22,
            },
        );
        assert_eq!(
            link,
            "https://smart-id.com/device-link?deviceLinkType=QR&elapsedSeconds=22&sessionToken=\
             wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode=\
             OY1eHaD4UYedrBwtqUbSkpa0w7ttm4FllPkCD_3wlE0"
        );
        // A second later the code is another one.
        let next = build_link(
            &parts(ACSP_V2, CHALLENGE, INTERACTIONS, "auth"),
            &secret,
            LinkKind::Qr {
                elapsed_seconds: 23,
            },
        );
        assert_ne!(next.rsplit('=').next(), link.rsplit('=').next());
    }

    #[test]
    fn web2app_auth_code_is_sks_example() {
        let secret = SessionSecret::parse(SECRET).unwrap();
        let link = build_link(
            &parts(ACSP_V2, CHALLENGE, INTERACTIONS, "auth"),
            &secret,
            LinkKind::Web2App,
        );
        assert!(link.starts_with(
            "https://smart-id.com/device-link?deviceLinkType=Web2App&sessionToken=\
             wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode="
        ));
        assert!(link.ends_with("&authCode=aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0"));
    }

    #[test]
    fn certificate_choice_qr_is_sks_example() {
        // Protocol, digest and interactions empty: their separators stay.
        let secret = SessionSecret::parse(SECRET).unwrap();
        let link = build_link(
            &parts("", "", "", "cert"),
            &secret,
            LinkKind::Qr {
                elapsed_seconds: 22,
            },
        );
        assert!(
            link.ends_with("&authCode=T5pDDPAjoMS0byqS-FoaWVjlubODXoCCF4XDB4HeYNo"),
            "{link}"
        );
    }

    #[test]
    fn callback_digests_are_sks_examples() {
        let secret = SessionSecret::parse(SECRET).unwrap();
        assert_eq!(
            secret.digest(),
            "U4CKK13H1XFiyBofev9asqrzIrY5_Gszi_nL_zDKkBc"
        );
        assert_eq!(format!("{secret:?}"), "SessionSecret(<hidden>)");
        assert!(SessionSecret::parse("c2hvcnQ=").is_err());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
