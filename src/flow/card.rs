//! The Belgian eID card in a flow: a single-use challenge bound to the flow, then the Web eID
//! token checked end to end before the flow completes: the challenge, the signature over our
//! own origin, the certificate chain and revocation (`beid_auth`), and, with the `beid` data,
//! the National Register signer (`beid_rrn`), its signatures and the national number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::config::CardSettings;
use crate::ids::FlowId;
use crate::means::card::{verify_token, CardVerifyError, WebEidToken};
use crate::means::MeansId;
use crate::pki::{PkiError, TrustStore};
use crate::store::now_millis;

use super::{BrowserProof, FlowError, FlowService, MeansOutcome};

/// Refused attempts before the flow ends with `failed`.
const MAX_FAILURES: u64 = 3;

/// The card means, built once from configuration.
pub struct CardFlow {
    settings: CardSettings,
    trust: Arc<TrustStore>,
    /// The origin the card must have signed for: ours, from `public_url`, never from a request.
    origin: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CardStepError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// Used, expired, or never issued for this flow (a replay, or another flow's token).
    #[error("no valid challenge for this flow")]
    NoChallenge,
    #[error("the card's token does not verify: {0}")]
    Token(#[from] CardVerifyError),
    /// The certificate's report names the failed check.
    #[error("the {which} certificate is not valid: {reason}")]
    Certificate { which: &'static str, reason: String },
    #[error("certificate validation failed: {0}")]
    Pki(#[from] PkiError),
}

/// A refused token: the flow may go on (`location: None`) or has ended with `failed`.
#[derive(Debug)]
pub struct Refusal {
    pub error: CardStepError,
    /// The continuation (with a `failed` result) once the attempts are used up.
    pub location: Option<String>,
}

impl CardFlow {
    pub fn new(settings: CardSettings, trust: Arc<TrustStore>, origin: String) -> Self {
        CardFlow {
            settings,
            trust,
            origin,
        }
    }

    pub fn connector_url(&self) -> &str {
        &self.settings.connector_url
    }

    /// A fresh challenge for the bound browser (replacing any earlier one): standard base64 of
    /// 32 random bytes, as the connector signs it.
    pub async fn challenge(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<String, FlowError> {
        // A new challenge keeps the count of refused tokens.
        flows
            .set_progress(id, Some(proof), MeansId::Card, |current| {
                Ok(json!({"failures": failures_in(current)}))
            })
            .await?;
        let mut nonce = [0u8; 32];
        openssl::rand::rand_bytes(&mut nonce).map_err(|_| FlowError::Corrupt)?;
        let challenge = STANDARD.encode(nonce);
        let expires = now_millis() + self.settings.nonce_ttl.as_millis() as u64;
        flows
            .store()
            .put_single_use(&challenge_key(id), &challenge, expires)
            .await?;
        Ok(challenge)
    }

    /// Checks the token and completes the flow: the continuation to go to, or a refusal.
    pub async fn submit(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        token: &WebEidToken,
    ) -> Result<String, Refusal> {
        let refuse = |error| Refusal {
            error,
            location: None,
        };
        // Only the bound browser with its form token may spend the flow's challenge.
        flows
            .authorized(id, proof)
            .await
            .map_err(|e| refuse(e.into()))?;
        let challenge = flows
            .store()
            .take_single_use(&challenge_key(id))
            .await
            .map_err(|e| refuse(FlowError::from(e).into()))?;
        match self.verify(token, challenge).await {
            Ok((identity, report)) => {
                let outcome = MeansOutcome::Verified {
                    means: MeansId::Card,
                    identity,
                    report: Some(report),
                };
                flows
                    .complete(id, proof, outcome)
                    .await
                    .map_err(|e| refuse(e.into()))
            }
            Err(error) => Err(self.count_failure(flows, id, proof, error).await),
        }
    }

    /// The token checks without the flow: signatures, both chains, revocation (benches call it).
    pub async fn verify(
        &self,
        token: &WebEidToken,
        challenge: Option<String>,
    ) -> Result<(crate::attributes::Identity, serde_json::Value), CardStepError> {
        let raw = challenge
            .and_then(|c| STANDARD.decode(c).ok())
            .ok_or(CardStepError::NoChallenge)?;
        // The signature checks and both path validations are CPU work: one job off the async
        // workers; only revocation (network) follows here.
        let (token, origin) = (token.clone(), self.origin.clone());
        let trust = self.trust.clone();
        let profiles = (
            self.settings.auth_profile.clone(),
            self.settings.rrn_profile.clone(),
        );
        let now = SystemTime::now();
        let job = move || {
            let card = verify_token(&token, &origin, &raw)?;
            let intermediates: Vec<Vec<u8>> = card.ca_certificate.iter().cloned().collect();
            let auth =
                trust.assess_now(&profiles.0, &card.auth_certificate, &intermediates, now)?;
            let rrn = match &card.rrn_certificate {
                Some(c) => Some(trust.assess_now(&profiles.1, c, &[], now)?),
                None => None,
            };
            Ok::<_, CardStepError>((card, auth, rrn))
        };
        let (card, auth, rrn) = crate::cpu::run(job)
            .await
            .map_err(|_| PkiError::Internal)??;
        let auth = self.trust.finish_validation(auth).await;
        if !auth.is_valid() {
            return Err(invalid("authentication", &auth.report));
        }
        let mut report = json!({"authentication": auth.report});
        if let Some(rrn) = rrn {
            let rrn = self.trust.finish_validation(rrn).await;
            if !rrn.is_valid() {
                return Err(invalid("National Register", &rrn.report));
            }
            report["national_register"] = serde_json::to_value(&rrn.report).unwrap_or_default();
        }
        Ok((card.identity_fields(), report))
    }

    /// Counts a refused attempt; the last one allowed ends the flow with `failed`.
    async fn count_failure(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        error: CardStepError,
    ) -> Refusal {
        tracing::info!(flow = ?id, reason = %error, "card token refused");
        // Counted inside the compare-and-set: two refusals at once both count. If the count
        // cannot be stored, the flow fails (closed).
        let counted = AtomicU64::new(MAX_FAILURES);
        let stored = flows
            .set_progress(id, Some(proof), MeansId::Card, |current| {
                let n = failures_in(current) + 1;
                counted.store(n, Ordering::Relaxed);
                Ok(json!({ "failures": n }))
            })
            .await;
        if stored.is_err() || counted.load(Ordering::Relaxed) >= MAX_FAILURES {
            let location = flows
                .complete(
                    id,
                    proof,
                    MeansOutcome::Failed {
                        means: MeansId::Card,
                    },
                )
                .await
                .ok();
            return Refusal { error, location };
        }
        Refusal {
            error,
            location: None,
        }
    }
}

fn challenge_key(id: &FlowId) -> String {
    format!("card-challenge:{id}")
}

/// Refused tokens so far, from the card's progress (none before the first challenge).
fn failures_in(progress: Option<&serde_json::Value>) -> u64 {
    progress.and_then(|p| p["failures"].as_u64()).unwrap_or(0)
}

fn invalid(which: &'static str, report: &crate::pki::ValidationReport) -> CardStepError {
    let reason = report.first_failure().map_or_else(
        || "invalid".to_string(),
        |c| format!("{}: {}", c.name, c.reason),
    );
    CardStepError::Certificate { which, reason }
}
