//! The v3 authentication starts as [`SessionStart`]s: notification by national identity (or
//! document), and device link anonymous or by national identity. One body type for both
//! (`wire::AuthenticationRequest`); the path says which flow it is.

use super::{wire, Interactions, ACSP_V2, RSASSA_PSS};
use crate::means::smart_id::errors::SmartIdError;
use crate::means::smart_id::hash::AuthHash;
use crate::means::smart_id::session::{AuthTarget, RelyingParty, SessionStart};

pub(in crate::means::smart_id) struct V3Authentication<'a> {
    pub target: &'a AuthTarget,
    /// The rpChallenge: 64 random bytes (`AuthHash` of SHA-512, 88 Base64 characters).
    pub challenge: &'a AuthHash,
    /// The PSS hash asked for (`SHA-512` unless configured otherwise).
    pub hash_algorithm: &'static str,
    pub interactions: &'a Interactions,
    /// `None`: notification flow. `Some(callback)`: device link (a callback for Web2App).
    pub device_link: Option<Option<&'a str>>,
}

impl SessionStart for V3Authentication<'_> {
    fn path(&self) -> Result<String, SmartIdError> {
        let flow = match self.device_link {
            None => "notification",
            Some(_) => "device-link",
        };
        let target = match (self.target, self.device_link) {
            (AuthTarget::Anonymous, Some(_)) => "anonymous".to_string(),
            (AuthTarget::Anonymous, None) => {
                return Err(SmartIdError::InvalidRequest(
                    "a notification needs a person",
                ))
            }
            (other, _) => other.path()?,
        };
        Ok(format!("authentication/{flow}/{target}"))
    }

    fn body(&self, rp: &RelyingParty<'_>) -> Result<Vec<u8>, SmartIdError> {
        let challenge = self.challenge.to_base64();
        if !(44..=88).contains(&challenge.len()) {
            return Err(SmartIdError::InvalidRequest("rpChallenge length"));
        }
        let callback = self.device_link.flatten();
        if let Some(url) = callback {
            // SK's pattern ^https://([^|#]+)$, at most 1800 characters.
            let ok = url.len() <= 1800
                && url.starts_with("https://")
                && url.len() > "https://".len()
                && !url.contains(['|', '#']);
            if !ok {
                return Err(SmartIdError::InvalidRequest("initialCallbackUrl"));
            }
        }
        let body = wire::AuthenticationRequest {
            relying_party_uuid: rp.uuid,
            relying_party_name: rp.name,
            certificate_level: rp.certificate_level.as_str(),
            signature_protocol: ACSP_V2,
            signature_protocol_parameters: wire::SignatureProtocolParameters {
                rp_challenge: &challenge,
                signature_algorithm: RSASSA_PSS,
                signature_algorithm_parameters: wire::HashAlgorithm {
                    hash_algorithm: self.hash_algorithm,
                },
            },
            interactions: self.interactions.encoded(),
            initial_callback_url: callback,
            vc_type: self.device_link.is_none().then_some("numeric4"),
        };
        serde_json::to_vec(&body).map_err(|_| SmartIdError::InvalidRequest("encoding"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::means::smart_id::verify::CertificateLevel;
    use crate::means::smart_id::{Checks, Country, HashType, Interaction, PersonalCode};

    fn rp() -> RelyingParty<'static> {
        RelyingParty {
            uuid: "00000000-0000-4000-8000-000000000000",
            name: "DEMO",
            certificate_level: CertificateLevel::Qualified,
        }
    }

    #[test]
    fn paths_and_bodies_are_sks() {
        let challenge = AuthHash::generate(HashType::Sha512).unwrap();
        let interactions =
            Interactions::encode(&[Interaction::DisplayTextAndPin("Log in".into())], true).unwrap();
        let code = PersonalCode::parse(Country::EE, "40504040001", Checks::Strict).unwrap();
        let etsi = AuthTarget::Etsi(code);
        let start = |target, device_link| V3Authentication {
            target,
            challenge: &challenge,
            hash_algorithm: "SHA-512",
            interactions: &interactions,
            device_link,
        };
        let notification = start(&etsi, None);
        assert_eq!(
            notification.path().unwrap(),
            "authentication/notification/etsi/PNOEE-40504040001"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&notification.body(&rp()).unwrap()).unwrap();
        assert_eq!(body["vcType"], "numeric4");
        assert_eq!(body["signatureProtocol"], "ACSP_V2");
        assert_eq!(
            body["relyingPartyUUID"],
            "00000000-0000-4000-8000-000000000000"
        );
        let params = &body["signatureProtocolParameters"];
        assert_eq!(params["rpChallenge"], challenge.to_base64());
        assert_eq!(params["signatureAlgorithm"], "rsassa-pss");
        assert_eq!(
            params["signatureAlgorithmParameters"]["hashAlgorithm"],
            "SHA-512"
        );
        assert_eq!(body["interactions"], interactions.encoded());
        assert!(body.get("initialCallbackUrl").is_none() && body.get("nonce").is_none());

        let anonymous = start(
            &AuthTarget::Anonymous,
            Some(Some("https://rp.example/cb?s=1")),
        );
        assert_eq!(
            anonymous.path().unwrap(),
            "authentication/device-link/anonymous"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&anonymous.body(&rp()).unwrap()).unwrap();
        assert_eq!(body["initialCallbackUrl"], "https://rp.example/cb?s=1");
        assert!(body.get("vcType").is_none());
        assert_eq!(
            start(&etsi, Some(None)).path().unwrap(),
            "authentication/device-link/etsi/PNOEE-40504040001"
        );
        assert!(start(&AuthTarget::Anonymous, None).path().is_err());
        for bad in [
            "http://rp.example/cb",
            "https://rp.example/cb#x",
            "https://a|b",
        ] {
            assert!(start(&etsi, Some(Some(bad))).body(&rp()).is_err(), "{bad}");
        }
    }
}
