//! The RP API client (v2, or v3 per configuration): start an authentication session, poll its
//! status.
//!
//! One HTTPS connection per request (see `tls.rs` for why not reqwest): a handshake per start
//! and per long poll costs little next to a poll of up to two minutes, and every connection is
//! pinned afresh. The exchange on it is `http1.rs` (why not hyper: memory per waiting poll).
//! RP API v2 speaks HTTP/1.1 only, so there is no multiplexing to use (docs/smart-id.md).
//! New session kinds (API v3 device links) plug in through [`SessionStart`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::SslConnector;

use super::errors::check_status;
pub use super::errors::{ClientBuildError, SmartIdError};
use super::hash::{AuthHash, HashType};
use super::http1;
use super::outcome::{CompletedSession, EndResult, V3Signature};
use super::session::V2Authentication;
pub use super::session::{
    AuthTarget, AuthenticationRequest, Interaction, PendingAuthentication, RelyingParty,
    SessionStart, SessionStatus,
};
use super::tls::{self, TlsSettings};
use super::v3::start::V3Authentication;
use super::v3::{
    ApiVersion, DeviceLinkSession, Interactions, SessionSecret, V3Flow, V3Pending, SCHEME_LIVE,
};
use super::verify::CertificateLevel;
use super::wire;

/// Largest response body we read; an OK status with a 8192-bit certificate is a few KiB.
const MAX_BODY: usize = 256 * 1024;

/// Everything the client needs, from `[means.smart_id]`.
#[derive(Clone)]
pub struct SmartIdSettings {
    /// e.g. `https://rp-api.smart-id.com/v3/`; must be https and end in `/`.
    pub base_url: url::Url,
    /// The API behind `base_url`.
    pub api_version: ApiVersion,
    /// v3 `schemeName`: `smart-id` (LIVE) or `smart-id-demo` (DEMO).
    pub scheme_name: String,
    /// Issued by SK; with the source IP it authenticates us. Kept out of Debug and logs.
    pub relying_party_uuid: String,
    /// Shown in the app; at most 32 bytes of UTF-8.
    pub relying_party_name: String,
    pub certificate_level: CertificateLevel,
    pub hash_type: HashType,
    pub connect_timeout: Duration,
    /// Bound for a start request.
    pub request_timeout: Duration,
    pub tls: TlsSettings,
}

impl fmt::Debug for SmartIdSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartIdSettings")
            .field("base_url", &self.base_url.as_str())
            .field("api_version", &self.api_version)
            .field("scheme_name", &self.scheme_name)
            .field("relying_party_uuid", &"<hidden>")
            .field("relying_party_name", &self.relying_party_name)
            .field("certificate_level", &self.certificate_level)
            .field("hash_type", &self.hash_type)
            .field("tls", &self.tls)
            .finish()
    }
}

impl SmartIdSettings {
    /// Settings with the defaults: QUALIFIED, SHA512, 5 s connect, 15 s request; the API
    /// version from the URL's last segment (`…/v2/`: v2, else v3), the LIVE scheme name.
    pub fn new(base_url: url::Url, uuid: &str, name: &str, tls: TlsSettings) -> Self {
        SmartIdSettings {
            api_version: version_of(&base_url),
            scheme_name: SCHEME_LIVE.to_string(),
            base_url,
            relying_party_uuid: uuid.to_string(),
            relying_party_name: name.to_string(),
            certificate_level: CertificateLevel::Qualified,
            hash_type: HashType::Sha512,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            tls,
        }
    }
}

/// `…/v2/` means RP API v2; anything else v3 (the default for new configurations).
pub fn version_of(base_url: &url::Url) -> ApiVersion {
    if base_url.path().trim_end_matches('/').ends_with("/v2") {
        ApiVersion::V2
    } else {
        ApiVersion::V3
    }
}

/// The RP API client; cheap to clone, build once from settings.
#[derive(Clone)]
pub struct SmartIdClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SmartIdSettings,
    connector: SslConnector,
    host: String,
    port: u16,
}

impl fmt::Debug for SmartIdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartIdClient")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl SmartIdClient {
    pub fn new(settings: SmartIdSettings) -> Result<Self, ClientBuildError> {
        let url = &settings.base_url;
        if url.scheme() != "https" {
            return Err(ClientBuildError::BaseUrl("must be https"));
        }
        if !url.path().ends_with('/') || url.query().is_some() {
            return Err(ClientBuildError::BaseUrl("must end in / and have no query"));
        }
        let host = url
            .host_str()
            .ok_or(ClientBuildError::BaseUrl("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        if !is_uuid(&settings.relying_party_uuid) {
            return Err(ClientBuildError::Uuid);
        }
        if !(1..=32).contains(&settings.relying_party_name.len()) {
            return Err(ClientBuildError::Name);
        }
        let connector = tls::connector(&settings.tls)?;
        Ok(SmartIdClient {
            inner: Arc::new(Inner {
                settings,
                connector,
                host,
                port,
            }),
        })
    }

    pub fn settings(&self) -> &SmartIdSettings {
        &self.inner.settings
    }

    /// A fresh hash of the configured type for a new authentication.
    pub fn new_hash(&self) -> Result<AuthHash, openssl::error::ErrorStack> {
        AuthHash::generate(self.inner.settings.hash_type)
    }

    /// Starts an authentication session by national identity (or document): v2, or the v3
    /// notification flow (the hash is then the rpChallenge; its verification code is the same
    /// formula). Keep the returned pending state for verification.
    pub async fn start_authentication(
        &self,
        target: &AuthTarget,
        request: &AuthenticationRequest,
    ) -> Result<PendingAuthentication, SmartIdError> {
        let s = &self.inner.settings;
        let (session_id, v3) = match s.api_version {
            ApiVersion::V2 => (
                self.start(&V2Authentication { target, request }).await?,
                None,
            ),
            ApiVersion::V3 => {
                let interactions = Interactions::encode(&request.interactions, true)?;
                let kind = V3Authentication {
                    target,
                    challenge: &request.hash,
                    hash_algorithm: s.hash_type.v3_name(),
                    interactions: &interactions,
                    device_link: None,
                };
                let id = self.start(&kind).await?;
                (
                    id,
                    Some(Box::new(
                        self.v3_pending(interactions, V3Flow::Notification),
                    )),
                )
            }
        };
        Ok(PendingAuthentication {
            session_id,
            target: target.clone(),
            hash: request.hash.clone(),
            certificate_level: s.certificate_level,
            v3,
        })
    }

    /// Starts an RP API v3 device-link authentication: `target` is [`AuthTarget::Anonymous`]
    /// (whoever scans) or a person; `initial_callback_url` makes the Web2App link possible
    /// besides the QR code (one session serves both, as SK asks). `request.hash` is the
    /// rpChallenge; `nonce` is not part of v3 authentication.
    pub async fn start_device_link(
        &self,
        target: &AuthTarget,
        request: &AuthenticationRequest,
        initial_callback_url: Option<&str>,
        received_at_ms: impl FnOnce() -> u64,
    ) -> Result<DeviceLinkSession, SmartIdError> {
        let s = &self.inner.settings;
        if s.api_version != ApiVersion::V3 {
            return Err(SmartIdError::InvalidRequest("device links need RP API v3"));
        }
        let interactions = Interactions::encode(&request.interactions, false)?;
        let kind = V3Authentication {
            target,
            challenge: &request.hash,
            hash_algorithm: s.hash_type.v3_name(),
            interactions: &interactions,
            device_link: Some(initial_callback_url),
        };
        let bytes = self.start_raw(&kind).await?;
        let received_at_ms = received_at_ms();
        let started: super::v3::wire::DeviceLinkStarted = parse(&bytes)?;
        let broken = |what: &str| SmartIdError::BrokenResponse(format!("no valid {what}"));
        let session_id = started
            .session_id
            .filter(|id| is_uuid(id))
            .ok_or_else(|| broken("sessionID"))?;
        let session_token = started
            .session_token
            .filter(|t| {
                t.len() >= 24 && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .ok_or_else(|| broken("sessionToken"))?;
        let session_secret = SessionSecret::parse(started.session_secret.as_deref().unwrap_or(""))?;
        // The link is built by appending to it: an https URL with no query or fragment.
        let device_link_base = started
            .device_link_base
            .filter(|b| {
                url::Url::parse(b).is_ok_and(|u| {
                    u.scheme() == "https" && u.query().is_none() && u.fragment().is_none()
                }) && !b.contains(['?', '#', '|'])
            })
            .ok_or_else(|| broken("deviceLinkBase"))?;
        let flow = V3Flow::DeviceLink {
            initial_callback_url: initial_callback_url.map(str::to_string),
        };
        Ok(DeviceLinkSession {
            pending: PendingAuthentication {
                session_id,
                target: target.clone(),
                hash: request.hash.clone(),
                certificate_level: s.certificate_level,
                v3: Some(Box::new(self.v3_pending(interactions, flow))),
            },
            session_token,
            session_secret,
            device_link_base,
            received_at_ms,
        })
    }

    fn v3_pending(&self, interactions: Interactions, flow: V3Flow) -> V3Pending {
        let s = &self.inner.settings;
        V3Pending {
            scheme_name: s.scheme_name.clone(),
            relying_party_name: s.relying_party_name.clone(),
            interactions,
            flow,
            user_challenge_verifier: None,
        }
    }

    /// Starts any kind of session; returns its `sessionID`.
    pub async fn start(&self, kind: &(dyn SessionStart + Sync)) -> Result<String, SmartIdError> {
        let bytes = self.start_raw(kind).await?;
        let started: wire::SessionStarted = parse(&bytes)?;
        match started.session_id {
            Some(id) if is_uuid(&id) => Ok(id),
            _ => Err(SmartIdError::BrokenResponse("no valid sessionID".into())),
        }
    }

    /// POSTs a session start; the body of its `200` answer.
    async fn start_raw(&self, kind: &(dyn SessionStart + Sync)) -> Result<Vec<u8>, SmartIdError> {
        let s = &self.inner.settings;
        let rp = RelyingParty {
            uuid: &s.relying_party_uuid,
            name: &s.relying_party_name,
            certificate_level: s.certificate_level,
        };
        let body = kind.body(&rp)?;
        let path = format!("{}{}", s.base_url.path(), kind.path()?);
        let (status, bytes) = self
            .exchange("POST", &path, Some(&body), s.request_timeout)
            .await?;
        check_status(status, SmartIdError::AccountNotFound)?;
        Ok(bytes)
    }

    /// One long poll: the server answers when the state changes or after `timeout_ms`
    /// (clamped to the API's 1000..=120000). The read timeout is `timeout_ms` + 5 s.
    pub async fn session_status(
        &self,
        session_id: &str,
        timeout_ms: u32,
    ) -> Result<SessionStatus, SmartIdError> {
        if !is_uuid(session_id) {
            return Err(SmartIdError::InvalidRequest("session id"));
        }
        let timeout_ms = timeout_ms.clamp(1000, 120_000);
        let path = format!(
            "{}session/{session_id}?timeoutMs={timeout_ms}",
            self.inner.settings.base_url.path()
        );
        let wait = Duration::from_millis(u64::from(timeout_ms)) + Duration::from_secs(5);
        let (status, bytes) = self.exchange("GET", &path, None, wait).await?;
        check_status(status, SmartIdError::SessionNotFound)?;
        parse_session_status(&bytes)
    }

    /// One request on a fresh pinned connection, all within `timeout`: `(status, body)`.
    async fn exchange(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), SmartIdError> {
        let inner = &self.inner;
        let request = {
            // The URL's own host text keeps IPv6 brackets, as the Host header needs them.
            let url = &inner.settings.base_url;
            let host = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                (None, _) => inner.host.clone(),
            };
            http1::request(method, path_and_query, &host, body)
                .map_err(SmartIdError::InvalidRequest)?
        };
        let work = async {
            let mut stream = tls::connect(
                &inner.connector,
                &inner.host,
                inner.port,
                inner.settings.connect_timeout,
            )
            .await?;
            http1::exchange(&mut stream, request, MAX_BODY)
                .await
                .map_err(|e| SmartIdError::Transport(e.to_string()))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| SmartIdError::Timeout)?
    }
}

/// The body of a `200` answer to `GET session/{id}` (also the fuzzing entry point's way in).
pub fn parse_session_status(bytes: &[u8]) -> Result<SessionStatus, SmartIdError> {
    let dto: wire::SessionStatus = parse(bytes)?;
    match dto.state.as_deref() {
        Some("RUNNING") => Ok(SessionStatus::Running),
        Some("COMPLETE") => Ok(SessionStatus::Complete(completed(dto)?)),
        _ => Err(SmartIdError::BrokenResponse("unknown state".into())),
    }
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, SmartIdError> {
    // The serde message may quote input; keep only its position.
    serde_json::from_slice(bytes).map_err(|e| {
        SmartIdError::BrokenResponse(format!("JSON at line {} column {}", e.line(), e.column()))
    })
}

fn completed(dto: wire::SessionStatus) -> Result<CompletedSession, SmartIdError> {
    let result = dto
        .result
        .ok_or_else(|| SmartIdError::BrokenResponse("COMPLETE without result".into()))?;
    let end = result
        .end_result
        .ok_or_else(|| SmartIdError::BrokenResponse("COMPLETE without endResult".into()))?;
    let is_v3 = dto.signature_protocol.is_some()
        || dto.interaction_type_used.is_some()
        || dto
            .signature
            .as_ref()
            .is_some_and(|s| s.v3.signature_algorithm.is_some() || s.v3.server_random.is_some());
    let (signature_value, signature_algorithm, sig_v3) = match dto.signature {
        Some(s) if is_v3 => (s.value, s.v3.signature_algorithm.clone(), Some(s.v3)),
        Some(s) => (s.value, s.algorithm, None),
        None => (None, None, None),
    };
    let v3 = is_v3.then(|| {
        let sig = sig_v3.unwrap_or_default();
        let params = sig.signature_algorithm_parameters;
        let (hash_algorithm, mgf, salt_length, trailer_field) = match params {
            Some(p) => (
                p.hash_algorithm,
                p.mask_gen_algorithm,
                p.salt_length,
                p.trailer_field,
            ),
            None => (None, None, None, None),
        };
        let (mask_gen_algorithm, mask_gen_hash_algorithm) = match mgf {
            Some(m) => (m.algorithm, m.parameters.and_then(|p| p.hash_algorithm)),
            None => (None, None),
        };
        Box::new(V3Signature {
            signature_protocol: dto.signature_protocol.clone(),
            server_random: sig.server_random,
            user_challenge: sig.user_challenge,
            flow_type: sig.flow_type,
            hash_algorithm,
            mask_gen_algorithm,
            mask_gen_hash_algorithm,
            salt_length,
            trailer_field,
        })
    });
    let (cert_value, cert_level) = dto
        .cert
        .map(|c| (c.value, c.certificate_level))
        .unwrap_or_default();
    Ok(CompletedSession {
        end_result: EndResult::parse(&end),
        document_number: result.document_number,
        signature_value,
        signature_algorithm,
        cert_value,
        cert_level,
        interaction_flow_used: dto.interaction_type_used.or(dto.interaction_flow_used),
        v3,
    })
}

/// 8-4-4-4-12 hexadecimal.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("00000000-0000-4000-8000-000000000000"));
        assert!(!is_uuid("00000000-0000-4000-8000-00000000000g"));
    }

    #[test]
    fn broken_json_is_a_typed_error() {
        let e = parse::<wire::SessionStatus>(b"{\"state\": 12")
            .err()
            .unwrap();
        assert!(matches!(e, SmartIdError::BrokenResponse(_)));
        let dto: wire::SessionStatus =
            parse(br#"{"state":"COMPLETE","result":{"x":1},"extra":{"deep":[1]}}"#).unwrap();
        assert!(completed(dto).is_err());
    }
}
