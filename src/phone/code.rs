//! The one-time code of the phone step (threat T34): 6 digits from a CSPRNG, kept only as an
//! HMAC bound to the flow and the number, single use, a bounded lifetime, a bounded number of
//! wrong tries per code and of sends per flow, a wait before a resend; compared in constant
//! time. Pure: the caller passes the time and stores the `PhoneStep` with its flow.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::number::PhoneNumber;
use crate::mac::hmac_sha256;
use crate::store::Millis;

/// The key of the code hashes. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct CodeKey(Vec<u8>);

impl CodeKey {
    pub fn new(key: Vec<u8>) -> Self {
        CodeKey(key)
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

/// A code as sent to the citizen. `Debug` prints nothing of it.
pub struct OtpCode(String);

impl OtpCode {
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(..)")
    }
}

/// The limits of the step (docs/phone.md); defaults as issue 14 sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRules {
    pub lifetime_ms: Millis,
    pub resend_after_ms: Millis,
    pub max_sends: u8,
    pub max_wrong_tries: u8,
}

impl Default for CodeRules {
    fn default() -> Self {
        CodeRules {
            lifetime_ms: 5 * 60 * 1000,
            resend_after_ms: 30 * 1000,
            max_sends: 3,
            max_wrong_tries: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A resend before `resend_after`: a caller's mistake, not counted.
    #[error("a new code can be sent in {retry_after_ms} ms")]
    TooSoon { retry_after_ms: Millis },
    #[error("no more codes can be sent for this flow")]
    SendsUsedUp,
    /// Not 6 digits: not counted as a try (it cannot be a guess).
    #[error("a code is 6 digits")]
    Malformed,
    #[error("no code is waiting to be entered")]
    NoCode,
    #[error("the code has expired")]
    Expired,
    #[error("wrong code, {tries_left} tries left")]
    Wrong { tries_left: u8 },
    /// The last wrong try: the step is over for this flow.
    #[error("wrong code too many times")]
    TriesUsedUp,
}

/// What a flow keeps of its phone step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneStep {
    /// E.164; needed for a resend.
    pub number: String,
    /// HMAC of the waiting code (unpadded Base64url); none once used, used up or not yet sent.
    code_mac: Option<String>,
    expires_at: Millis,
    last_sent_at: Millis,
    sends: u8,
    wrong_tries: u8,
    pub verified: bool,
}

impl fmt::Debug for PhoneStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneStep")
            .field("sends", &self.sends)
            .field("wrong_tries", &self.wrong_tries)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl PhoneStep {
    pub fn new(number: &PhoneNumber) -> Self {
        Self::for_recipient(number.e164())
    }

    /// A step for any checked recipient: an E.164 number, or an e-mail address when the codes
    /// go by e-mail.
    pub fn for_recipient(to: &str) -> Self {
        PhoneStep {
            number: to.to_string(),
            code_mac: None,
            expires_at: 0,
            last_sent_at: 0,
            sends: 0,
            wrong_tries: 0,
            verified: false,
        }
    }

    /// Codes sent so far in this flow.
    pub fn sends(&self) -> u8 {
        self.sends
    }

    /// When the last code was sent.
    pub fn last_sent_at(&self) -> Millis {
        self.last_sent_at
    }

    pub fn tries_left(&self, rules: &CodeRules) -> u8 {
        rules.max_wrong_tries.saturating_sub(self.wrong_tries)
    }

    /// A fresh code for `flow`, replacing any waiting one; the caller sends it, then stores
    /// the step (a lost store write makes the sent code useless, never a code that works twice).
    pub fn issue(
        &mut self,
        key: &CodeKey,
        flow: &str,
        rules: &CodeRules,
        now: Millis,
    ) -> Result<OtpCode, CodeError> {
        if self.sends >= rules.max_sends {
            return Err(CodeError::SendsUsedUp);
        }
        if self.sends > 0 {
            let ready = self.last_sent_at.saturating_add(rules.resend_after_ms);
            if now < ready {
                return Err(CodeError::TooSoon {
                    retry_after_ms: ready - now,
                });
            }
        }
        let code = OtpCode(format!("{:06}", uniform_below_a_million()));
        self.code_mac = Some(mac(key, flow, &self.number, code.digits()));
        self.expires_at = now.saturating_add(rules.lifetime_ms);
        self.last_sent_at = now;
        self.sends += 1;
        self.wrong_tries = 0;
        Ok(code)
    }

    /// Checks what the citizen typed (spaces allowed). Right: the code is spent and the step
    /// verified. Wrong: one try fewer; the last wrong try ends the step.
    pub fn check(
        &mut self,
        key: &CodeKey,
        flow: &str,
        typed: &str,
        rules: &CodeRules,
        now: Millis,
    ) -> Result<(), CodeError> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Malformed);
        }
        if self.tries_left(rules) == 0 {
            return Err(CodeError::TriesUsedUp);
        }
        let Some(expected) = &self.code_mac else {
            return Err(CodeError::NoCode);
        };
        if now >= self.expires_at {
            self.code_mac = None;
            return Err(CodeError::Expired);
        }
        let given = mac(key, flow, &self.number, &typed);
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            self.code_mac = None;
            self.verified = true;
            return Ok(());
        }
        self.wrong_tries += 1;
        match self.tries_left(rules) {
            0 => {
                self.code_mac = None;
                Err(CodeError::TriesUsedUp)
            }
            tries_left => Err(CodeError::Wrong { tries_left }),
        }
    }
}

/// A uniform number in 0..1,000,000 from the thread's CSPRNG: 32 random bits, drawn again in
/// the rare case they fall in the last, incomplete million (no modulo bias).
fn uniform_below_a_million() -> u32 {
    const LIMIT: u32 = 4_294_000_000; // the largest multiple of 1,000,000 below 2^32
    loop {
        let mut b = [0u8; 4];
        rand::rng().fill_bytes(&mut b);
        let n = u32::from_le_bytes(b);
        if n < LIMIT {
            return n % 1_000_000;
        }
    }
}

/// Bound to the flow and the number, so a code of one flow (or sent to another number) never
/// passes in another.
fn mac(key: &CodeKey, flow: &str, number: &str, code: &str) -> String {
    let mac = hmac_sha256(
        &key.0,
        &[
            b"auth-eid otp v1\0",
            flow.as_bytes(),
            b"\0",
            number.as_bytes(),
            b"\0",
            code.as_bytes(),
        ],
    );
    B64URL.encode(mac)
}

#[cfg(test)]
#[path = "code_tests.rs"]
mod tests;
