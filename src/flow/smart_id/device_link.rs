//! Smart-ID by device link (RP API v3): the citizen scans a QR code on our page, or on a phone
//! opens the Smart-ID app with the Web2App button and comes back through our callback. One
//! anonymous session serves both (SK: one session per flow, started with a callback URL). The
//! QR code's link is made afresh on every request from the stored session (its authCode is
//! keyed with the session secret, which stays in the store); the background task (`task.rs`)
//! polls the session and verifies the result like a notification's.

use super::progress::{is_ready, stage_of, LinkState, Progress};
use super::SmartIdFlow;
use crate::flow::{BrowserProof, FlowError, FlowService};
use crate::ids::FlowId;
use crate::limits::{Budget, Client};
use crate::means::smart_id::v3::device_link::same;
use crate::means::smart_id::{AuthTarget, DeviceLinkSession};
use crate::means::MeansId;
use crate::store::now_millis;

/// Which link a page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// The QR code's link at this second.
    Qr,
    /// The Web2App link (same-device).
    Web2App,
}

impl SmartIdFlow {
    /// `POST /flow/<id>/smart-id/qr`: prepares a device-link attempt instead of the personal
    /// code form (the session starts when the page is first shown, as for a notification).
    pub async fn start_device_link(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        client: &Client<'_>,
    ) -> Result<(), FlowError> {
        if !self.offers_device_link() {
            return Err(FlowError::MeansUnavailable);
        }
        let (_, record) = flows.authorized(id, proof).await?;
        match stage_of(&record.state)? {
            Some(None) | Some(Some(Progress::Ready { .. })) => {}
            Some(Some(_)) | None => return Err(FlowError::WrongState),
        }
        // Anonymous (no national number yet): counted per client address only.
        client
            .limits
            .check(Budget::SmartIdStartIp, &client.ip)
            .await?;
        let hash = self.inner.client.new_hash().map_err(|e| {
            tracing::error!(error = %e, "no random challenge");
            FlowError::Corrupt
        })?;
        let progress = Progress::Ready {
            target: AuthTarget::Anonymous,
            vc: hash.verification_code(),
            hash,
            link: Some(LinkState {
                // Unpredictable and per attempt (SK's callback rules); 128 bits.
                callback_state: crate::ids::random_token(16),
                session: None,
                verifier: None,
            }),
        };
        flows
            .set_progress(id, Some(proof), MeansId::SmartId, |current| {
                match current.is_none_or(is_ready) {
                    true => Ok(progress.to_json()),
                    false => Err(FlowError::WrongState),
                }
            })
            .await
    }

    /// Device links need RP API v3.
    pub fn offers_device_link(&self) -> bool {
        self.inner.client.settings().api_version == crate::means::smart_id::ApiVersion::V3
    }

    async fn link_session(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<Option<(String, Box<DeviceLinkSession>, LinkState)>, FlowError> {
        let view = flows.view_for(id, cookie).await?;
        match stage_of(&view.state)? {
            Some(Some(Progress::Started {
                vc,
                link: Some(link),
                ..
            })) => Ok(link.session.clone().map(|s| (vc, s, link))),
            Some(Some(Progress::Ready { link: Some(_), .. })) => Ok(None),
            _ => Err(FlowError::WrongState),
        }
    }

    /// The link to show now: `None` while SK has not answered the start yet. `lang` is ISO
    /// 639-2 (SK's fallback page only).
    pub async fn device_link(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
        kind: LinkKind,
        lang: &str,
    ) -> Result<Option<String>, FlowError> {
        let Some((_, session, _)) = self.link_session(flows, id, cookie).await? else {
            return Ok(None);
        };
        Ok(match kind {
            LinkKind::Qr => session.qr_link(now_millis(), lang),
            LinkKind::Web2App => session.web2app_link(lang),
        })
    }

    /// `GET /flow/<id>/smart-id/callback`: the Smart-ID app sends the browser back. Checked
    /// against what we issued: this browser's flow cookie (SameSite=Lax), the random `state`
    /// of this attempt, and `sessionSecretDigest` of this session's secret. The verifier is
    /// then kept for the task, which checks it against the signed `userChallenge`. A second
    /// use of the callback is refused.
    pub async fn callback(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
        state: &str,
        secret_digest: &str,
        verifier: &str,
    ) -> Result<(), FlowError> {
        let Some((vc, session, link)) = self.link_session(flows, id, cookie).await? else {
            return Err(FlowError::WrongState);
        };
        let verifier_ok = (1..=256).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if link.verifier.is_some()
            || !same(&link.callback_state, state)
            || !session.callback_digest_matches(secret_digest)
            || !verifier_ok
        {
            return Err(FlowError::WrongState);
        }
        let verifier = verifier.to_string();
        flows
            .set_progress(id, None, MeansId::SmartId, move |current| {
                let Some(Progress::Started {
                    target,
                    hash,
                    vc: now_vc,
                    session,
                    link: Some(mut link),
                }) = Progress::parse(current)
                else {
                    return Err(FlowError::WrongState);
                };
                if now_vc != vc || link.verifier.is_some() {
                    return Err(FlowError::WrongState);
                }
                link.verifier = Some(verifier.clone());
                Ok(Progress::Started {
                    target,
                    hash,
                    vc: now_vc,
                    session,
                    link: Some(link),
                }
                .to_json())
            })
            .await
    }
}
