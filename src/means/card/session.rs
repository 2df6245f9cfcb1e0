//! What the connector does with a card in one session: its status, and a Web eID
//! authentication with the `beid` extension.

use serde::Serialize;

use super::beid::{paths, web_eid_digest, Beid, BeidError, Pin};
use super::token::{b64, BeidData, WebEidToken, APP_VERSION, FORMAT};
use super::transport::CardTransport;

/// The card as `GET /v1/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardStatus {
    /// `1.7` or `1.8`.
    pub applet: &'static str,
    /// Known on applet 1.8 without spending a try; `None` on 1.7.
    pub pin_tries_left: Option<u8>,
}

pub fn card_status(t: &mut dyn CardTransport) -> Result<CardStatus, BeidError> {
    let data = Beid::new(t).card_data()?;
    Ok(CardStatus {
        applet: data.applet.version_string(),
        pin_tries_left: data.pin_tries_left,
    })
}

/// One authentication request, as the connector got it. No Debug: PIN and challenge are never
/// logged.
pub struct AuthRequest<'a> {
    /// The page origin (the browser's `Origin` header).
    pub origin: &'a str,
    /// The challenge nonce string as the server issued it (base64).
    pub nonce: &'a str,
    pub pin: &'a Pin,
    pub with_photo: bool,
}

/// Signs the Web eID challenge with the authentication key and reads the RRN-signed files.
/// The PIN is verified right before the signature and dropped with LOG OFF after it.
pub fn authenticate(
    t: &mut dyn CardTransport,
    req: &AuthRequest<'_>,
) -> Result<WebEidToken, BeidError> {
    let mut card = Beid::new(t);
    let data = card.card_data()?;
    let applet = data.applet;
    if data.pin_tries_left == Some(0) {
        return Err(BeidError::PinBlocked);
    }
    let digest = web_eid_digest(applet, req.origin, req.nonce);
    card.verify_pin(req.pin)?;
    let signature = card.sign_auth(applet, &digest);
    // Log off whatever the signature gave: the PIN must not stay verified.
    let _ = card.log_off();
    let signature = signature?;

    let auth_cert = card
        .read_certificate(&paths::AUTH_CERT)?
        .ok_or(BeidError::NoAuthCertificate)?;
    let ca_cert = card.read_certificate(&paths::CA_CERT)?;
    let rrn_cert = card
        .read_certificate(&paths::RRN_CERT)?
        .ok_or_else(|| BeidError::FileNotFound("503C".into()))?;
    let identity = card.read_file(&paths::IDENTITY)?;
    let identity_signature = card.read_file(&paths::IDENTITY_SIG)?;
    let address = card.read_file(&paths::ADDRESS)?;
    let address_signature = card.read_file(&paths::ADDRESS_SIG)?;
    let photo = if req.with_photo {
        Some(b64(&card.read_file(&paths::PHOTO)?))
    } else {
        None
    };
    Ok(WebEidToken {
        format: FORMAT.into(),
        unverified_certificate: b64(&auth_cert),
        algorithm: applet.algorithm().into(),
        signature: b64(&signature),
        app_version: APP_VERSION.into(),
        beid: Some(BeidData {
            identity: b64(&identity),
            identity_signature: b64(&identity_signature),
            address: b64(&address),
            address_signature: b64(&address_signature),
            rrn_certificate: b64(&rrn_cert),
            ca_certificate: ca_cert.as_deref().map(b64),
            photo,
        }),
    })
}
