//! The flow: started by the core, bound to one browser, finished by a means, delivered once.
//! No HTTP types here: routes hand in parsed values and get domain results back.

pub mod api_session;
pub mod card;
mod finish;
pub mod phone;
mod record;
mod rp_api;
mod rp_expiry;
pub mod rp_request;
mod session;
mod smart_id;

use std::sync::Arc;

use subtle::ConstantTimeEq;

pub use api_session::Status as ApiStatus;
pub use finish::MeansOutcome;
pub use record::{Binding, FlowRecord, FlowState, PhoneGate};
pub use rp_api::RpApiError;
pub use smart_id::device_link::LinkKind;
pub use smart_id::{Finished, RunState, SmartIdFlow, Stage, SubmitError, WaitView};

use crate::attributes::AttributeTag;
use crate::config::{ApiSettings, Config, FlowSettings, RelyingParties};
use crate::contract::{self, ContractError};
use crate::delivery::Courier;
use crate::ids::{random_token, FlowId};
use crate::means::{MeansCatalog, MeansId};
use crate::store::{now_millis, FlowStore, Millis, StoreError, Versioned};
use crate::token::{TokenError, TokenIssuer};
use crate::urls::{AllowList, HttpUrl};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error("unknown or expired flow")]
    NotFound,
    #[error("this flow was opened in another browser")]
    WrongBrowser,
    #[error("the form token is missing or wrong")]
    BadCsrf,
    #[error("this step does not fit the flow's state")]
    WrongState,
    #[error("the flow is finished")]
    Finished,
    #[error("the chosen means cannot provide the requested attributes")]
    MeansUnavailable,
    /// A means chosen before the phone step passed.
    #[error("the phone step comes first")]
    PhoneFirst,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Signing and encrypting the result did not complete (ours, never the caller's).
    #[error(transparent)]
    Cpu(#[from] crate::cpu::CpuError),
    #[error("stored flow data is unreadable")]
    Corrupt,
    /// Over a rate-limit budget (the caller's doing: a 429 with `Retry-After`).
    #[error(transparent)]
    Limited(#[from] crate::limits::Limited),
}

/// What a browser request brings to prove it owns the flow.
#[derive(Debug, Default, Clone)]
pub struct BrowserProof<'a> {
    /// Value of the private flow cookie.
    pub cookie: Option<&'a str>,
    /// The `csrf` form field (state-changing steps only).
    pub csrf: Option<&'a str>,
}

/// What a page needs to show a flow.
#[derive(Debug, Clone)]
pub struct FlowView {
    pub id: FlowId,
    pub attributes: Vec<AttributeTag>,
    /// Where the citizen returns (allow-listed at start): it names who is asking.
    pub continuation: String,
    pub state: FlowState,
    pub csrf: String,
    /// Enabled means that can provide every requested attribute.
    pub able: Vec<MeansId>,
    pub expires_at: Millis,
    /// The relying party's id, for an API session.
    pub rp: Option<String>,
    /// The phone step is required and not passed yet.
    pub phone_pending: bool,
}

/// The result of opening `client_url`.
#[derive(Debug)]
pub struct Opened {
    pub view: FlowView,
    /// A new binding: the value of the cookie to set.
    pub new_cookie: Option<String>,
}

pub struct FlowService {
    store: Arc<dyn FlowStore>,
    /// Shared with the CPU pool, where results are signed and encrypted.
    issuer: Arc<TokenIssuer>,
    catalog: MeansCatalog,
    settings: FlowSettings,
    public_url: HttpUrl,
    internal_url: HttpUrl,
    continuations: AllowList,
    attr_urls: AllowList,
    courier: Arc<Courier>,
    relying_parties: RelyingParties,
    api: ApiSettings,
    /// `[phone]`: whether ID Contact flows get the step, and the number rules for API sessions.
    phone: crate::config::PhoneSettings,
}

impl FlowService {
    pub fn new(
        config: &Config,
        store: Arc<dyn FlowStore>,
        courier: Arc<Courier>,
    ) -> Result<Self, TokenError> {
        Ok(FlowService {
            store,
            issuer: Arc::new(TokenIssuer::new(&config.signing, &config.encryption)?),
            catalog: config.means_catalog(),
            settings: config.flow.clone(),
            public_url: config.public_url.clone(),
            internal_url: config.internal_url.clone(),
            continuations: config.allow_continuation.clone(),
            attr_urls: config.allow_attr_url.clone(),
            courier,
            relying_parties: config.relying_parties.clone(),
            api: config.api.clone(),
            phone: config.phone.clone(),
        })
    }

    pub fn relying_parties(&self) -> &RelyingParties {
        &self.relying_parties
    }

    /// The display name of the relying party that asked for this flow (API sessions only).
    pub fn requester(&self, view: &FlowView) -> Option<&str> {
        let rp = self.relying_parties.get(view.rp.as_deref()?)?;
        Some(rp.display_name.as_str())
    }

    pub fn store(&self) -> &Arc<dyn FlowStore> {
        &self.store
    }

    pub fn catalog(&self) -> &MeansCatalog {
        &self.catalog
    }

    /// `POST /start_authentication`: checks the body and creates a flow; gives `client_url`.
    pub async fn start(&self, body: &[u8]) -> Result<String, FlowError> {
        let checked = contract::parse_start(body, &self.continuations, &self.attr_urls)
            .and_then(|req| self.catalog.check(&req.attributes).map(|()| req));
        let req = checked.inspect_err(|e| self.log_refusal(body, e))?;
        let id = FlowId::new();
        let expires_at = now_millis() + self.settings.ttl.as_millis() as u64;
        let record = FlowRecord {
            attributes: req.attributes,
            continuation: req.continuation.as_str().to_string(),
            attr_url: req.attr_url.map(|u| u.as_str().to_string()),
            expires_at,
            binding: None,
            state: FlowState::Created,
            report: None,
            api: None,
            // ID Contact flows: the deployment's setting (docs/phone.md).
            phone: self.phone.enabled.then(PhoneGate::default),
        };
        self.store
            .create_flow(&id, &encode(&record), expires_at)
            .await?;
        tracing::info!(flow = ?id, tags = record.attributes.len(), attr_url = record.attr_url.is_some(), "flow started");
        Ok(format!("{}/flow/{}", self.public_url.base(), id))
    }

    /// Writes `record` over `version` (compare-and-set), with the session's expiry event when it
    /// is an API session; false when the flow changed since.
    async fn replace(
        &self,
        id: &FlowId,
        version: u64,
        record: &FlowRecord,
    ) -> Result<bool, StoreError> {
        // An unended API session's expiry event is staged with every write (src/flow/rp_expiry.rs).
        let expiry = self.expiry_event(id, record);
        self.store
            .update_flow(id, version, &encode(record), expiry.as_ref())
            .await
    }

    async fn load(&self, id: &FlowId) -> Result<(u64, FlowRecord), FlowError> {
        let Versioned { version, data } =
            self.store.load_flow(id).await?.ok_or(FlowError::NotFound)?;
        let record: FlowRecord = serde_json::from_str(&data).map_err(|_| FlowError::Corrupt)?;
        // An API session's record outlives its lifetime (its status stays readable); its
        // pages and steps end with the lifetime, as an ID Contact flow's end with its record.
        if record.api.is_some() && !record.state.is_finished() && now_millis() >= record.expires_at
        {
            return Err(FlowError::NotFound);
        }
        Ok((version, record))
    }

    fn view(&self, id: &FlowId, record: &FlowRecord, binding: &Binding) -> FlowView {
        FlowView {
            id: id.clone(),
            attributes: record.attributes.clone(),
            continuation: record.continuation.clone(),
            state: record.state.clone(),
            csrf: binding.csrf.clone(),
            able: self.able(record),
            expires_at: record.expires_at,
            rp: record.api.as_ref().map(|a| a.rp.clone()),
            phone_pending: record.phone_pending(),
        }
    }

    /// The means this flow may use: those that provide every tag, and for an API session only
    /// those it allows.
    fn able(&self, record: &FlowRecord) -> Vec<MeansId> {
        let mut able = self.catalog.able(&record.attributes);
        if let Some(api) = &record.api {
            able.retain(|m| api.providers.contains(m));
        }
        able
    }

    /// First visit binds the flow to this browser; later visits must bring its cookie.
    pub async fn open(&self, id: &FlowId, cookie: Option<&str>) -> Result<Opened, FlowError> {
        // A lost race means another request bound the flow in between: check against that one.
        for _ in 0..3 {
            let (version, mut record) = self.load(id).await?;
            if let Some(binding) = &record.binding {
                check_cookie(id, binding, cookie)?;
                return Ok(Opened {
                    view: self.view(id, &record, binding),
                    new_cookie: None,
                });
            }
            let binding = Binding {
                browser: random_token(16),
                csrf: random_token(16),
            };
            record.binding = Some(binding.clone());
            if let Some(api) = &mut record.api {
                api.track("opened", now_millis(), None);
            }
            if self.replace(id, version, &record).await? {
                let view = self.view(id, &record, &binding);
                return Ok(Opened {
                    view,
                    new_cookie: Some(cookie_value(id, &binding)),
                });
            }
        }
        Err(FlowError::WrongBrowser)
    }

    /// Loads the flow for a state-changing step: right browser and right CSRF token.
    async fn authorized(
        &self,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<(u64, FlowRecord), FlowError> {
        let (version, record) = self.load(id).await?;
        let binding = record.binding.as_ref().ok_or(FlowError::WrongBrowser)?;
        check_cookie(id, binding, proof.cookie)?;
        let csrf_ok = proof
            .csrf
            .is_some_and(|c| bool::from(c.as_bytes().ct_eq(binding.csrf.as_bytes())));
        if !csrf_ok {
            return Err(FlowError::BadCsrf);
        }
        Ok((version, record))
    }

    /// The flow as the bound browser sees it (read-only pages).
    pub async fn view_for(&self, id: &FlowId, cookie: Option<&str>) -> Result<FlowView, FlowError> {
        let (_, record) = self.load(id).await?;
        let binding = record.binding.as_ref().ok_or(FlowError::WrongBrowser)?;
        check_cookie(id, binding, cookie)?;
        Ok(self.view(id, &record, binding))
    }

    /// `{public_url}/flow/{id}`: the flow's page, for URLs handed to others (a Smart-ID
    /// device link's callback).
    pub fn page_url(&self, id: &FlowId) -> String {
        format!("{}/flow/{}", self.public_url.base(), id)
    }

    /// The citizen picks a means (or another one, before authentication started).
    pub async fn choose_means(
        &self,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        means: MeansId,
    ) -> Result<(), FlowError> {
        let (version, mut record) = self.authorized(id, proof).await?;
        match record.state {
            FlowState::Delivered { .. } => return Err(FlowError::Finished),
            FlowState::Authenticating { .. } => return Err(FlowError::WrongState),
            FlowState::Created | FlowState::PhoneVerified | FlowState::MeansChosen { .. } => {}
        }
        if record.phone_pending() {
            return Err(FlowError::PhoneFirst);
        }
        if !self.able(&record).contains(&means) {
            return Err(FlowError::MeansUnavailable);
        }
        record.state = FlowState::MeansChosen { means };
        if let Some(api) = &mut record.api {
            let step = format!(
                "means_chosen:{}",
                crate::config::relying_party::api_name(means)
            );
            api.track(&step, now_millis(), None);
        }
        if self.replace(id, version, &record).await? {
            Ok(())
        } else {
            Err(FlowError::WrongState)
        }
    }
}

impl FlowService {
    /// "Choose another way": back to the choice of means, the flow still open. Whatever the
    /// means had under way is dropped with its progress: a card challenge can no longer be
    /// used, a Smart-ID session's later answer finds the flow elsewhere and is ignored.
    pub async fn choose_again(
        &self,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<(), FlowError> {
        let (version, mut record) = self.authorized(id, proof).await?;
        match record.state {
            FlowState::Delivered { .. } => return Err(FlowError::Finished),
            FlowState::Created | FlowState::PhoneVerified => return Ok(()),
            FlowState::MeansChosen { .. } | FlowState::Authenticating { .. } => {}
        }
        record.state = record.choice_state();
        if self.replace(id, version, &record).await? {
            Ok(())
        } else {
            Err(FlowError::WrongState)
        }
    }

    /// Records a means' progress (`Authenticating { means, progress }`) with a compare-and-set.
    /// With a browser proof the step must come from the bound browser with its CSRF token;
    /// without one it is the means' own background work. `check` sees the current progress
    /// (`None` before authentication started) and may refuse the step.
    pub async fn set_progress(
        &self,
        id: &FlowId,
        proof: Option<&BrowserProof<'_>>,
        means: MeansId,
        next: impl Fn(Option<&serde_json::Value>) -> Result<serde_json::Value, FlowError>,
    ) -> Result<(), FlowError> {
        for _ in 0..3 {
            let (version, mut record) = match proof {
                Some(p) => self.authorized(id, p).await?,
                None => self.load(id).await?,
            };
            let current = match &record.state {
                FlowState::Delivered { .. } => return Err(FlowError::Finished),
                FlowState::MeansChosen { means: m } if *m == means => None,
                FlowState::Authenticating { means: m, progress } if *m == means => Some(progress),
                _ => return Err(FlowError::WrongState),
            };
            // Computed from the version being replaced, so a concurrent change is never lost.
            let progress = next(current)?;
            record.state = FlowState::Authenticating { means, progress };
            if self.replace(id, version, &record).await? {
                return Ok(());
            }
        }
        Err(FlowError::WrongState)
    }

    /// The core answers its own 500 for any 4xx of ours and drops our body: this line is
    /// where an operator finds out why (code, field, the URL's origin, a hint).
    fn log_refusal(&self, body: &[u8], error: &contract::ContractError) {
        let r = contract::explain_refusal(body, error, &self.continuations, &self.attr_urls);
        tracing::warn!(
            code = error.code(),
            field = r.field,
            origin = r.origin.as_deref(),
            hint = r.hint.as_deref(),
            reason = %error,
            "start_authentication refused"
        );
    }

    /// The state of a live flow, for a means' background work (no browser).
    pub async fn state_of(&self, id: &FlowId) -> Result<FlowState, FlowError> {
        Ok(self.load(id).await?.1.state)
    }

    /// Whether the flow's result goes server-side, to an `attr_url` or a relying party's
    /// webhook and status (so a means may finish it unattended).
    pub async fn delivers_server_side(&self, id: &FlowId) -> Result<bool, FlowError> {
        let record = self.load(id).await?.1;
        Ok(record.attr_url.is_some() || record.api.is_some())
    }

    /// Where the bound browser goes after a flow finished: the continuation, unchanged (only
    /// for `attr_url` flows, whose token went server-side; a redirect flow's token is never
    /// made twice).
    pub async fn after_unattended(
        &self,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<String, FlowError> {
        let (_, record) = self.load(id).await?;
        let binding = record.binding.as_ref().ok_or(FlowError::WrongBrowser)?;
        check_cookie(id, binding, cookie)?;
        if let (FlowState::Delivered { .. }, Some(api)) = (&record.state, &record.api) {
            let status = api.ended.as_ref().map_or(ApiStatus::Error, |e| e.status);
            self.courier.first_attempt_settled(&id.to_string()).await;
            return Ok(api.callback_for(id.as_str(), status));
        }
        match (&record.state, &record.attr_url) {
            (FlowState::Delivered { .. }, Some(_)) => {
                // The result first, then the browser, as for a flow finished by the browser.
                self.courier.first_attempt_settled(&id.to_string()).await;
                Ok(record.continuation)
            }
            (FlowState::Delivered { .. }, None) => Err(FlowError::Finished),
            _ => Err(FlowError::WrongState),
        }
    }
}

fn encode(record: &FlowRecord) -> String {
    // A struct of strings, numbers and enums always serialises.
    serde_json::to_string(record).unwrap_or_default()
}

fn cookie_value(id: &FlowId, binding: &Binding) -> String {
    format!("{}.{}", id, binding.browser)
}

fn check_cookie(id: &FlowId, binding: &Binding, cookie: Option<&str>) -> Result<(), FlowError> {
    let expected = cookie_value(id, binding);
    match cookie {
        Some(c) if bool::from(c.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(FlowError::WrongBrowser),
    }
}
