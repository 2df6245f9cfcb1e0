//! The named budgets: what is counted, per what, and the defaults an operator overrides in
//! `[limits.<name>]`.

use std::time::Duration;

/// One thing counted against one kind of key. The names are the config keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Smart-ID session starts per national number (each one a push on someone's phone).
    SmartIdStart,
    /// Smart-ID session starts per client IP.
    SmartIdStartIp,
    /// Card token submissions per flow (each one a PIN entered on a card).
    CardSubmit,
    /// Card token submissions per client IP.
    CardSubmitIp,
    /// `POST /start_authentication` per source IP; off by default (the core is trusted).
    StartAuthentication,
    /// Relying-party API session creations per relying party.
    ApiSessionCreate,
    /// Relying-party API session creations per client IP.
    ApiSessionCreateIp,
    /// One-time code sends per phone number (the phone step counts against it).
    OtpSend,
    /// One-time code sends per client IP.
    OtpSendIp,
    /// One-time code checks per flow.
    OtpCheck,
    /// One-time code checks per client IP.
    OtpCheckIp,
}

/// A budget's setting: at most `count` hits per `window` (fixed windows, see `docs/limits.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub count: u64,
    pub window: Duration,
}

impl Budget {
    pub const ALL: [Budget; 11] = [
        Budget::SmartIdStart,
        Budget::SmartIdStartIp,
        Budget::CardSubmit,
        Budget::CardSubmitIp,
        Budget::StartAuthentication,
        Budget::ApiSessionCreate,
        Budget::ApiSessionCreateIp,
        Budget::OtpSend,
        Budget::OtpSendIp,
        Budget::OtpCheck,
        Budget::OtpCheckIp,
    ];

    /// The config key under `[limits]`, also the name in logs and store keys.
    pub fn name(self) -> &'static str {
        match self {
            Budget::SmartIdStart => "smart_id_start",
            Budget::SmartIdStartIp => "smart_id_start_ip",
            Budget::CardSubmit => "card_submit",
            Budget::CardSubmitIp => "card_submit_ip",
            Budget::StartAuthentication => "start_authentication",
            Budget::ApiSessionCreate => "api_session_create",
            Budget::ApiSessionCreateIp => "api_session_create_ip",
            Budget::OtpSend => "otp_send",
            Budget::OtpSendIp => "otp_send_ip",
            Budget::OtpCheck => "otp_check",
            Budget::OtpCheckIp => "otp_check_ip",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// `(enabled, count, window seconds)` when the operator says nothing.
    pub fn default_setting(self) -> (bool, u64, u64) {
        match self {
            Budget::SmartIdStart => (true, 3, 600),
            Budget::SmartIdStartIp => (true, 30, 600),
            Budget::CardSubmit => (true, 10, 600),
            Budget::CardSubmitIp => (true, 60, 600),
            Budget::StartAuthentication => (false, 600, 60),
            Budget::ApiSessionCreate => (true, 600, 60),
            Budget::ApiSessionCreateIp => (true, 600, 60),
            Budget::OtpSend => (true, 5, 3600),
            Budget::OtpSendIp => (true, 30, 3600),
            Budget::OtpCheck => (true, 10, 600),
            Budget::OtpCheckIp => (true, 60, 600),
        }
    }
}
