//! Core- and platform-facing JSON endpoints: start a flow, session updates, health.

use std::net::IpAddr;
use std::sync::Arc;

use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::{json, Json};
use rocket::State;
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use crate::contract::StartAuthResponse;
use crate::flow::{FlowError, FlowService};
use crate::limits::{Budget, Limited, Limits};
use crate::store::StoreError;

use super::headers::request_span;
use super::limits::Caller;
use super::Lifecycle;

/// Largest start request accepted; anything longer is a 413.
pub const START_BODY_LIMIT: usize = 64 * 1024;

/// `{"error": code, "message": text}` with a status that says whose fault it is.
#[derive(Debug)]
pub struct ApiError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
    /// `Retry-After` seconds for a 429 (a 503 always says 5).
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    /// 429 over a rate-limit budget, in the shape of every other API error.
    pub fn limited(limited: Limited) -> Self {
        let seconds = limited.seconds();
        ApiError {
            retry_after_seconds: Some(seconds),
            ..ApiError::new(
                Status::TooManyRequests,
                "rate_limited",
                format!("too many requests; retry after {seconds} seconds"),
            )
        }
    }
}

impl ApiError {
    pub fn body(&self) -> serde_json::Value {
        json!({"error": self.code, "message": self.message})
    }

    /// `Retry-After` seconds: when a budget has room again; our own unavailability is worth
    /// retrying soon.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after_seconds
            .or((self.status == Status::ServiceUnavailable).then_some(5))
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let retry_after = self.retry_after();
        let mut res = (self.status, Json(self.body())).respond_to(req)?;
        if let Some(seconds) = retry_after {
            res.set_header(Header::new("Retry-After", seconds.to_string()));
        }
        Ok(res)
    }
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Contract(c) => ApiError::new(Status::BadRequest, c.code(), c.to_string()),
            FlowError::Limited(limited) => ApiError::limited(limited),
            FlowError::Store(StoreError::Full) => ApiError::new(
                Status::ServiceUnavailable,
                "too_many_flows",
                "too many flows in progress; retry later",
            ),
            FlowError::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(error = %e, "start refused: store unavailable");
                ApiError::new(
                    Status::ServiceUnavailable,
                    "store_unavailable",
                    "temporarily unavailable; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "start failed");
                ApiError::new(Status::InternalServerError, "internal", "internal error")
            }
        }
    }
}

#[utoipa::path(
    post, path = "/start_authentication",
    tag = "ID Contact",
    summary = "Start a flow (an ID Contact core)",
    request_body = super::openapi::StartAuthenticationRequest,
    responses(
        (status = 200, description = "The flow's page for the citizen.", body = crate::contract::StartAuthResponse),
        (status = 400, description = "The request's mistake; the message names the field.", body = super::openapi::Error),
        (status = 413, description = "Body over 64 KiB.", body = super::openapi::Error),
        (status = 415, description = "Not JSON.", body = super::openapi::Error),
        (status = 429, description = "Over a rate limit (off by default); see Retry-After.", body = super::openapi::Error),
        (status = 503, description = "Our side: too many live flows, or the store is down.", body = super::openapi::Error),
    ),
)]
#[rocket::post("/start_authentication", data = "<body>")]
pub async fn start_authentication(
    content_type: Option<&ContentType>,
    body: Data<'_>,
    flows: &State<Arc<FlowService>>,
    caller: Caller<'_>,
    span: RequestSpan,
) -> Result<Json<StartAuthResponse>, ApiError> {
    let answer = async {
        check_media_type(content_type).inspect_err(log_unseen_refusal)?;
        let bytes = start_body(body).await.inspect_err(log_unseen_refusal)?;
        start(flows, caller.limits, || caller.ip(), &bytes).await
    };
    answer.instrument(span.0).await.map(Json)
}

/// What both ways in (this route and the server's own path, `fast_start.rs`) do with a body
/// that passed the media type and size checks. The client's address is worked out only when
/// the `start_authentication` budget is on (it is off by default: the core is trusted).
pub async fn start(
    flows: &FlowService,
    limits: &Limits,
    client_ip: impl FnOnce() -> IpAddr,
    body: &[u8],
) -> Result<StartAuthResponse, ApiError> {
    if limits.is_on(Budget::StartAuthentication) {
        let ip = client_ip().to_string();
        limits
            .check(Budget::StartAuthentication, &ip)
            .await
            .map_err(ApiError::limited)
            .inspect_err(log_unseen_refusal)?;
    }
    let client_url = flows.start(body).await?;
    Ok(StartAuthResponse { client_url })
}

/// Refused unseen; the flow service logs the refusals of what it reads.
pub fn log_unseen_refusal(e: &ApiError) {
    tracing::warn!(
        code = e.code,
        status = e.status.code,
        "start_authentication refused"
    );
}

/// A start request must say it is JSON.
pub fn check_media_type(content_type: Option<&ContentType>) -> Result<(), ApiError> {
    if content_type.is_some_and(|c| c.is_json()) {
        return Ok(());
    }
    Err(ApiError::new(
        Status::UnsupportedMediaType,
        "unsupported_media_type",
        "send the request as Content-Type: application/json",
    ))
}

/// A start body of at most [`START_BODY_LIMIT`] bytes.
pub fn check_body_size(len: usize) -> Result<(), ApiError> {
    if len <= START_BODY_LIMIT {
        return Ok(());
    }
    Err(ApiError::new(
        Status::PayloadTooLarge,
        "payload_too_large",
        format!("the body may be at most {START_BODY_LIMIT} bytes"),
    ))
}

/// A JSON request body of the relying-party API: the same limit and errors as a start's.
pub async fn read_body(body: Data<'_>) -> Result<Vec<u8>, ApiError> {
    start_body(body).await
}

/// The JSON body of a start request, at most [`START_BODY_LIMIT`] bytes.
async fn start_body(body: Data<'_>) -> Result<Vec<u8>, ApiError> {
    // One byte over the limit tells a body that is too long. (Read straight into the vector:
    // Rocket's `into_bytes` copies through a zeroed 8 KiB buffer, a tenth of a start's cost.)
    let mut stream = body.open((START_BODY_LIMIT + 1).bytes());
    let mut bytes = Vec::with_capacity(stream.hint());
    stream.read_to_end(&mut bytes).await.map_err(|_| {
        ApiError::new(
            Status::BadRequest,
            "malformed_request",
            "the request body could not be read",
        )
    })?;
    check_body_size(bytes.len())?;
    Ok(bytes)
}

/// `type` of a session update; absent or repeated values are simply "none".
pub struct UpdateType(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UpdateType {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let kind = req
            .query_value::<&str>("type")
            .and_then(Result::ok)
            .map(str::to_string);
        Outcome::Success(UpdateType(kind))
    }
}

/// The request's tracing span.
pub struct RequestSpan(pub tracing::Span);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestSpan {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestSpan(request_span(req)))
    }
}

/// Always 200, never reads cookies: the contract says this endpoint must not fail.
#[utoipa::path(
    post, path = "/session/{sid}/update",
    tag = "ID Contact",
    summary = "A session update (a communication platform, at the token's session_url)",
    params(
        ("sid" = String, Path, description = "The session id from the token's session_url."),
        ("type" = Option<String>, Query, description = "`user_active` extends the session, `logout` ends it."),
    ),
    responses((status = 200, description = "Always, with an empty body: unknown sessions and types included.")),
)]
#[rocket::post("/session/<sid>/update")]
pub async fn session_update(
    sid: &str,
    kind: UpdateType,
    flows: &State<Arc<FlowService>>,
    span: RequestSpan,
) -> Status {
    flows
        .session_update(sid, kind.0.as_deref())
        .instrument(span.0)
        .await;
    Status::Ok
}

#[utoipa::path(
    get, path = "/health/live",
    tag = "Health",
    responses((status = 200, description = "The process answers.", body = super::openapi::Live)),
)]
#[rocket::get("/health/live")]
pub fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "live"}))
}

/// 200 only while the store answers and no shutdown is in progress; the reason is one word
/// for the operator, never a connection detail.
#[utoipa::path(
    get, path = "/health/ready",
    tag = "Health",
    responses(
        (status = 200, description = "The store answers and no shutdown is under way.", body = super::openapi::Ready),
        (status = 503, description = "Not ready: `reason` says why in one word.", body = super::openapi::Ready),
    ),
)]
#[rocket::get("/health/ready")]
pub async fn ready(
    flows: &State<Arc<FlowService>>,
    lifecycle: &State<Arc<Lifecycle>>,
) -> (Status, Json<serde_json::Value>) {
    let unavailable = |reason: &str| {
        (
            Status::ServiceUnavailable,
            Json(json!({"status": "unavailable", "reason": reason})),
        )
    };
    if lifecycle.is_draining() {
        return unavailable("shutting down");
    }
    match flows.store().ping().await {
        Ok(()) => (Status::Ok, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            unavailable("store unreachable")
        }
    }
}
