//! The phone step of a flow (docs/phone.md): the citizen's number (or e-mail address) gets a
//! one-time code, the code typed back moves the flow to `PhoneVerified`, and only then may a
//! means be chosen. Every change is one compare-and-set of the flow record; no Rocket types.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{PhoneSettings, SenderSettings};
use crate::ids::FlowId;
use crate::limits::{Budget, Client};
use crate::phone::sender::{CodeSender, DemoSender, HttpGateway, SendError, SmtpSender};
use crate::phone::{CodeError, CodeKey, NumberError, PhoneStep};
use crate::store::{now_millis, Millis};

use super::{BrowserProof, FlowError, FlowRecord, FlowService, FlowState, MeansOutcome};

/// Longest e-mail address accepted (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// Not a phone number (or e-mail address): the citizen's typing, a 400.
    #[error("not a phone number or e-mail address")]
    Malformed,
    #[error("numbers of country code +{0} are not accepted")]
    CountryNotAllowed(u16),
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Send(#[from] SendError),
    /// The last wrong code ended the step, and with it the flow; the browser goes here.
    #[error("the phone step ended without a verified code")]
    Ended { location: String },
}

/// What the phone page shows.
#[derive(Debug, Clone)]
pub enum PhoneStage {
    /// Ask for the number (or address); `fixed`: the relying party gave it (masked).
    Ask { csrf: String, fixed: Option<String> },
    /// A code was sent to `to` (masked).
    Code {
        csrf: String,
        to: String,
        resend_in: Duration,
        sends_left: u8,
        tries_left: u8,
        /// The relying party gave the number: no other may be typed.
        fixed: bool,
    },
}

pub struct PhoneFlow {
    settings: PhoneSettings,
    key: CodeKey,
    sender: Arc<dyn CodeSender>,
    demo: Option<Arc<DemoSender>>,
}

impl std::fmt::Debug for PhoneFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneFlow").finish_non_exhaustive()
    }
}

impl PhoneFlow {
    /// `None` when no sender is configured. The code key is derived from the cookie secret
    /// (shared by the instances of one deployment), else random for this process.
    pub fn new(settings: &PhoneSettings, cookie_secret: Option<&[u8]>) -> Option<Self> {
        let mut demo = None;
        let sender: Arc<dyn CodeSender> = match settings.sender.as_ref()? {
            SenderSettings::Demo => {
                let d = Arc::new(DemoSender::default());
                demo = Some(d.clone());
                d
            }
            SenderSettings::Gateway {
                url,
                token,
                sender_id,
                attempts,
            } => Arc::new(HttpGateway {
                url: url.clone(),
                token: token.clone(),
                sender_id: sender_id.clone(),
                attempts: *attempts,
                first_pause: Duration::from_millis(500),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .no_proxy()
                    .build()
                    .ok()?,
            }),
            SenderSettings::Smtp {
                host,
                port,
                from,
                login,
            } => {
                let login = login.as_ref().map(|l| (l.user.clone(), l.password.clone()));
                Arc::new(SmtpSender::new(
                    host,
                    *port,
                    login,
                    from,
                    "Your login code",
                )?)
            }
        };
        let mut key = vec![0u8; 32];
        match cookie_secret {
            Some(secret) => {
                key = crate::mac::hmac_sha256(secret, &[b"auth-eid otp key v1"]).to_vec()
            }
            None => openssl::rand::rand_bytes(&mut key).ok()?,
        }
        Some(PhoneFlow {
            settings: settings.clone(),
            key: CodeKey::new(key),
            sender,
            demo,
        })
    }

    /// The demo sender, when codes go nowhere but the demo page.
    pub fn demo_sender(&self) -> Option<Arc<DemoSender>> {
        self.demo.clone()
    }

    /// The citizen types an e-mail address, not a phone number.
    pub fn by_email(&self) -> bool {
        self.settings.by_email()
    }

    /// The step as the bound browser sees it; `None` when it is not pending.
    pub async fn stage(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<Option<PhoneStage>, FlowError> {
        let (_, record) = flows.load(id).await?;
        let binding = record.binding.as_ref().ok_or(FlowError::WrongBrowser)?;
        super::check_cookie(id, binding, cookie)?;
        if !record.phone_pending() || record.state.is_finished() {
            return Ok(None);
        }
        Ok(Some(self.stage_of(&record, &binding.csrf, now_millis())))
    }

    fn stage_of(&self, record: &FlowRecord, csrf: &str, now: Millis) -> PhoneStage {
        let gate = record.phone.clone().unwrap_or_default();
        let rules = &self.settings.rules;
        match gate.step {
            Some(step) if step.sends() > 0 => PhoneStage::Code {
                csrf: csrf.to_string(),
                to: mask(&step.number),
                resend_in: Duration::from_millis(
                    step.last_sent_at()
                        .saturating_add(rules.resend_after_ms)
                        .saturating_sub(now),
                ),
                sends_left: rules.max_sends.saturating_sub(step.sends()),
                tries_left: step.tries_left(rules),
                fixed: gate.fixed.is_some(),
            },
            _ => PhoneStage::Ask {
                csrf: csrf.to_string(),
                fixed: gate.fixed.as_deref().map(mask),
            },
        }
    }

    /// Checks what the citizen typed: an allowed number in E.164, or an e-mail address.
    fn recipient(&self, typed: &str) -> Result<String, PhoneError> {
        if !self.by_email() {
            return match self.settings.policy.parse(typed) {
                Ok(n) => Ok(n.e164().to_string()),
                Err(NumberError::CountryNotAllowed(cc)) => Err(PhoneError::CountryNotAllowed(cc)),
                Err(NumberError::Malformed) => Err(PhoneError::Malformed),
            };
        }
        let typed = typed.trim();
        if typed.len() > MAX_ADDRESS || typed.chars().any(|c| c.is_control()) {
            return Err(PhoneError::Malformed);
        }
        let address: lettre::Address = typed.parse().map_err(|_| PhoneError::Malformed)?;
        Ok(address.to_string())
    }

    /// `POST .../phone`: sends a code to the typed recipient, or a new one to the same (a
    /// resend, when `typed` is empty). `text` is the message, `{code}` standing for the code.
    pub async fn send(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        typed: Option<&str>,
        text: &str,
        client: &Client<'_>,
    ) -> Result<(), PhoneError> {
        let (version, mut record) = flows.authorized(id, proof).await?;
        pending(&record)?;
        let mut gate = record.phone.clone().unwrap_or_default();
        let typed = typed.map(str::trim).filter(|t| !t.is_empty());
        let to = match (&gate.fixed, typed, &gate.step) {
            (Some(fixed), _, _) => fixed.clone(),
            (None, Some(typed), _) => self.recipient(typed)?,
            (None, None, Some(step)) => step.number.clone(),
            (None, None, None) => return Err(PhoneError::Malformed),
        };
        let mut step = gate
            .step
            .take()
            .unwrap_or_else(|| PhoneStep::for_recipient(&to));
        // Another number keeps the flow's count of sends: changing it gives no fresh budget.
        step.number = to.clone();
        let code = step.issue(&self.key, id.as_str(), &self.settings.rules, now_millis())?;
        client
            .limits
            .check_all(&[(Budget::OtpSend, &to), (Budget::OtpSendIp, &client.ip)])
            .await
            .map_err(FlowError::Limited)?;
        self.sender
            .send(&to, &text.replace("{code}", code.digits()))
            .await?;
        gate.step = Some(step);
        record.phone = Some(gate);
        if let Some(api) = &mut record.api {
            api.track("phone_code_sent", now_millis(), None);
        }
        tracing::info!(flow = ?id, "one-time code sent");
        if flows
            .replace(id, version, &record)
            .await
            .map_err(FlowError::from)?
        {
            Ok(())
        } else {
            // The sent code is useless then; the citizen asks for another.
            Err(FlowError::WrongState.into())
        }
    }

    /// `POST .../phone/code`: the right code moves the flow to `PhoneVerified`; the last wrong
    /// one ends the flow (`Ended`).
    pub async fn check(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        typed: &str,
        client: &Client<'_>,
    ) -> Result<(), PhoneError> {
        client
            .limits
            .check_all(&[
                (Budget::OtpCheck, id.as_str()),
                (Budget::OtpCheckIp, &client.ip),
            ])
            .await
            .map_err(FlowError::Limited)?;
        let rules = &self.settings.rules;
        // A lost compare-and-set (a parallel guess) is checked again on the newer record, so
        // every try counts.
        for _ in 0..5 {
            let (version, mut record) = flows.authorized(id, proof).await?;
            pending(&record)?;
            let mut gate = record.phone.clone().unwrap_or_default();
            let mut step = gate.step.clone().ok_or(CodeError::NoCode)?;
            let result = step.check(&self.key, id.as_str(), typed, rules, now_millis());
            match result {
                Err(CodeError::Malformed | CodeError::NoCode) => {
                    return Err(result.unwrap_err().into())
                }
                Err(CodeError::TriesUsedUp) => {
                    gate.step = Some(step);
                    record.phone = Some(gate);
                    tracing::warn!(flow = ?id, "phone step ended: too many wrong codes");
                    let outcome = MeansOutcome::PhoneNotVerified;
                    let location = flows.finish(id, version, record, outcome).await?;
                    return Err(PhoneError::Ended { location });
                }
                _ => {}
            }
            gate.step = Some(step);
            record.phone = Some(gate);
            if result.is_ok() {
                record.state = FlowState::PhoneVerified;
                if let Some(api) = &mut record.api {
                    api.track("phone_verified", now_millis(), None);
                }
            }
            if flows
                .replace(id, version, &record)
                .await
                .map_err(FlowError::from)?
            {
                if result.is_ok() {
                    tracing::info!(flow = ?id, "phone step passed");
                }
                return result.map_err(PhoneError::from);
            }
        }
        Err(FlowError::WrongState.into())
    }
}

/// The step must be pending on a flow still at its start.
fn pending(record: &FlowRecord) -> Result<(), FlowError> {
    match record.state {
        FlowState::Delivered { .. } => Err(FlowError::Finished),
        FlowState::Created if record.phone_pending() => Ok(()),
        _ => Err(FlowError::WrongState),
    }
}

/// What the page shows of a recipient: `+32 ••• •• •• 56`, `a•••@example.org`.
pub fn mask(to: &str) -> String {
    if let Some((local, domain)) = to.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}•••@{domain}");
    }
    let digits: Vec<char> = to.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    let head: String = to.chars().take(3).collect();
    format!("{head} ••• {tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_little() {
        assert_eq!(super::mask("+32470123456"), "+32 ••• 56");
        assert_eq!(super::mask("an@example.org"), "a•••@example.org");
    }
}
