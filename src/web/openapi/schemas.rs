//! The wire shapes the handlers build as JSON, described for the OpenAPI document. The types
//! that exist as such (the validation report, the session status, callbacks, the start
//! answer) are described where they are defined; these are the bodies the code assembles.
//! `tests/integration/openapi.rs` validates real answers against them, and every object but
//! the start request is closed (`additionalProperties: false`, set in `super::close`), so a
//! field added to a body without its schema here fails that test.

#![allow(dead_code)] // described, never built: the handlers build the JSON themselves

use std::collections::BTreeMap;

use utoipa::ToSchema;

use crate::flow::api_session::Status;
use crate::flow::rp_request::Callbacks;
use crate::pki::ValidationReport;

/// Every refusal and failure: a stable machine-readable code and a human-readable message.
#[derive(ToSchema)]
pub struct Error {
    /// e.g. `invalid_request`, `unsupported_attributes`, `not_found`, `rate_limited`.
    pub error: String,
    pub message: String,
}

/// `POST /start_authentication`, as an ID Contact core sends it.
#[derive(ToSchema)]
pub struct StartAuthenticationRequest {
    /// Attribute tags (1 to 64, unique); one enabled means must provide them all.
    #[schema(min_items = 1, max_items = 64)]
    pub attributes: Vec<String>,
    /// Where the browser goes with the result; must be under `[allow] continuation`.
    #[schema(format = "uri")]
    pub continuation: String,
    /// Where the result token is POSTed server-side (`application/jwt`); absent or null: none.
    #[schema(format = "uri")]
    pub attr_url: Option<String>,
}

#[derive(ToSchema)]
pub struct Live {
    /// Always `live`.
    pub status: String,
}

#[derive(ToSchema)]
pub struct Ready {
    /// `ready`, or `unavailable` with a one-word reason.
    pub status: String,
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// A means id as the session API names it.
#[derive(ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum Provider {
    Beid,
    SmartId,
    Test,
}

/// `POST /api/v1/sessions`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateSessionRequest {
    /// Means the citizen may use; each in the relying party's `means`.
    #[schema(min_items = 1)]
    pub allowed_providers: Vec<Provider>,
    /// Attribute tags as the operator maps them; one allowed provider must provide them all.
    #[schema(min_items = 1, max_items = 64)]
    pub requested_attributes: Vec<String>,
    pub callback_urls: Callbacks,
    /// The relying party's correlation id, echoed in every view, the webhook and the redirect.
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub external_reference: Option<String>,
    /// The pages' language (the citizen may still switch).
    #[schema(nullable = false)]
    pub language: Option<Language>,
    /// Seconds, 1 to `api.max_session_lifetime_seconds`.
    #[schema(minimum = 1, nullable = false)]
    pub session_lifetime: Option<u64>,
    /// `true`: the citizen confirms a phone number with a one-time code before choosing a
    /// means (docs/phone.md); absent or `false`: the relying party's `phone_step`, else the
    /// deployment's `[phone] enabled`.
    #[schema(nullable = false)]
    pub phone_step: Option<bool>,
    /// With `phoneStep`: the number the code goes to (E.164 or national form, a country the
    /// operator allows); else the citizen types it.
    #[schema(nullable = false)]
    pub phone_number: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Language {
    Nl,
    Fr,
    De,
    En,
}

/// The certificate validation of a success: Smart-ID's one report (its certificate), or the
/// card's two (the authentication certificate, and the National Register's certificate that
/// signed the identity file when the card's files were read).
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum Validation {
    One(ValidationReport),
    Card(CardValidation),
}

#[derive(serde::Serialize, ToSchema)]
pub struct CardValidation {
    pub authentication: ValidationReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub national_register: Option<ValidationReport>,
}

/// One step of a session's tracker.
#[derive(ToSchema)]
pub struct TrackerStep {
    /// `created`, `opened`, `phone_code_sent`, `phone_verified`, `means_chosen:<provider>`,
    /// `evidence_received`, `verified`,
    /// `refused`, `cancelled`, `expired`, `delivered`.
    pub step: String,
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub at: String,
    /// The reason code of a refusal or failure.
    #[schema(nullable = false)]
    pub code: Option<String>,
}

/// Why a session is `ERROR`, `ABORT` or `EXPIRED`.
#[derive(ToSchema)]
pub struct SessionError {
    /// `expired`, `evidence_refused`, `identity_incomplete`, `cancelled_by_user`,
    /// `cancelled_by_relying_party`, ...
    pub code: String,
    pub message: String,
}

/// A session as `GET /api/v1/sessions/{id}` and `DELETE` show it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub status: Status,
    /// The means chosen, once there is one.
    #[schema(required = true)]
    pub provider: Option<Provider>,
    #[schema(required = true)]
    pub external_reference: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub tracker: Vec<TrackerStep>,
    #[schema(nullable = false)]
    pub error: Option<SessionError>,
    /// After a success, for `api.subject_retention_seconds`: the requested attributes only.
    #[schema(nullable = false)]
    pub subject: Option<BTreeMap<String, String>>,
    /// When the relying party asked for reports (`validation_report = true`).
    #[schema(nullable = false)]
    pub validation_report: Option<Validation>,
}

/// The answer to a create: the session plus what was asked, and where to send the citizen.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreatedSession {
    pub id: String,
    pub status: Status,
    #[schema(required = true)]
    pub provider: Option<Provider>,
    #[schema(required = true)]
    pub external_reference: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub tracker: Vec<TrackerStep>,
    /// The flow page; with `?lang=` when a language was asked for.
    #[schema(format = "uri")]
    pub authentication_url: String,
    pub allowed_providers: Vec<Provider>,
    pub requested_attributes: Vec<String>,
    pub callback_urls: Callbacks,
    #[schema(required = true)]
    pub language: Option<Language>,
    pub session_lifetime: u64,
}

/// `session.success`, `session.abort`, `session.error` or `session.expired`.
#[derive(ToSchema)]
pub enum EventType {
    #[schema(rename = "session.success")]
    Success,
    #[schema(rename = "session.abort")]
    Abort,
    #[schema(rename = "session.error")]
    Error,
    #[schema(rename = "session.expired")]
    Expired,
}

/// The webhook's body: the session as it ended.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct WebhookEvent {
    #[schema(rename = "type")]
    pub kind: EventType,
    pub session_id: String,
    pub status: Status,
    #[schema(required = true)]
    pub provider: Option<Provider>,
    #[schema(required = true)]
    pub external_reference: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub tracker: Vec<TrackerStep>,
    #[schema(nullable = false)]
    pub error: Option<SessionError>,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// Only with `subject_in_webhook = true`.
    #[schema(nullable = false)]
    pub subject: Option<BTreeMap<String, String>>,
    #[schema(nullable = false)]
    pub validation_report: Option<Validation>,
}
