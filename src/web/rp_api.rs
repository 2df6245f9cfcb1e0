//! The relying-party session API (docs/rp-api.md): create, read and cancel sessions with a
//! bearer API key. Each handler authenticates, parses, calls one `FlowService` method and maps
//! the result.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use rocket::data::Data;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::State;
use serde_json::Value;
use tracing::Instrument;

use crate::config::RelyingParty;
use crate::flow::{FlowService, RpApiError};
use crate::limits::{Budget, Limits};

use super::api::{check_media_type, read_body, ApiError, RequestSpan};
use super::limits::Caller;

/// The relying party whose API key the request bears.
pub struct RpCaller<'r>(pub &'r RelyingParty);

/// No `Authorization: Bearer` header (`false`), or a key no relying party has (`true`).
#[derive(Debug)]
pub struct Unauthorized(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RpCaller<'r> {
    type Error = Unauthorized;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(flows) = req.rocket().state::<Arc<FlowService>>() else {
            return Outcome::Error((Status::Unauthorized, Unauthorized(false)));
        };
        match caller_of(flows, req.headers().get_one("Authorization")) {
            Ok(rp) => Outcome::Success(RpCaller(rp)),
            Err(e) => Outcome::Error((Status::Unauthorized, e)),
        }
    }
}

/// The relying party whose API key an `Authorization` header bears.
fn caller_of<'f>(
    flows: &'f FlowService,
    authorization: Option<&str>,
) -> Result<&'f RelyingParty, Unauthorized> {
    let key = authorization
        .and_then(bearer_token)
        .ok_or(Unauthorized(false))?;
    flows
        .relying_parties()
        .by_key(key)
        .ok_or(Unauthorized(true))
}

/// The `Authorization` header, if any: a create judges it only after the route matched.
pub struct Authorization<'r>(Option<&'r str>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Authorization<'r> {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Authorization(req.headers().get_one("Authorization")))
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme name is case-insensitive
/// (RFC 7235 section 2.1, used by RFC 6750), so `bearer` and `BEARER` are accepted.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// An API error; a 401 carries the `WWW-Authenticate` challenge (RFC 6750: with
/// `error="invalid_token"` only when a key was presented).
#[derive(Debug)]
pub struct RpError(ApiError, Option<&'static str>);

impl RpError {
    /// The error and, for a 401, its `WWW-Authenticate` challenge.
    pub fn parts(&self) -> (&ApiError, Option<&'static str>) {
        (&self.0, self.1)
    }
}

impl From<Unauthorized> for RpError {
    fn from(Unauthorized(presented): Unauthorized) -> Self {
        let challenge = if presented {
            "Bearer realm=\"auth-eid\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"auth-eid\""
        };
        let e = ApiError::new(
            Status::Unauthorized,
            "unauthorized",
            "send the relying party's API key as `Authorization: Bearer <key>`",
        );
        RpError(e, Some(challenge))
    }
}

impl From<ApiError> for RpError {
    fn from(e: ApiError) -> Self {
        RpError(e, None)
    }
}

impl From<RpApiError> for RpError {
    fn from(e: RpApiError) -> Self {
        RpError::from(match e {
            RpApiError::BadRequest(b) => ApiError::new(Status::BadRequest, b.code, b.message),
            RpApiError::NotFound => ApiError::new(Status::NotFound, "not_found", "no such session"),
            RpApiError::IdempotencyConflict => ApiError::new(
                Status::UnprocessableEntity,
                "idempotency_key_reused",
                e.to_string(),
            ),
            RpApiError::IdempotencyInProgress => ApiError::new(
                Status::Conflict,
                "idempotency_key_in_progress",
                e.to_string(),
            ),
            RpApiError::Ended => ApiError::new(Status::Conflict, "session_ended", e.to_string()),
            RpApiError::Flow(f) => ApiError::from(f),
        })
    }
}

impl<'r> Responder<'r, 'static> for RpError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        if let Some(challenge) = self.1 {
            res.set_header(Header::new("WWW-Authenticate", challenge));
        }
        Ok(res)
    }
}

/// The `Idempotency-Key` header, if any.
pub struct IdempotencyKey(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let key = req.headers().get_one("Idempotency-Key").map(str::to_string);
        Outcome::Success(IdempotencyKey(key))
    }
}

type Reply = Result<(Status, Json<Value>), RpError>;

#[utoipa::path(
    post, path = "/api/v1/sessions",
    tag = "Sessions",
    summary = "Create a session",
    security(("apiKey" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters: a retried create with the same key and body returns the same session.")),
    request_body = super::openapi::CreateSessionRequest,
    responses(
        (status = 201, description = "Created; send the citizen to authenticationUrl.", body = super::openapi::CreatedSession),
        (status = 400, description = "The request's mistake; the message names the field.", body = super::openapi::Error),
        (status = 401, description = "No or an unknown API key; see WWW-Authenticate.", body = super::openapi::Error),
        (status = 409, description = "A create with this Idempotency-Key is still being stored: retry shortly.", body = super::openapi::Error),
        (status = 413, description = "Body too large.", body = super::openapi::Error),
        (status = 415, description = "Not JSON.", body = super::openapi::Error),
        (status = 422, description = "This Idempotency-Key was used with another body.", body = super::openapi::Error),
        (status = 429, description = "Over the relying party's or the address's create budget; see Retry-After.", body = super::openapi::Error),
        (status = 503, description = "Our side: the store is full or unavailable.", body = super::openapi::Error),
    ),
)]
#[rocket::post("/api/v1/sessions", data = "<body>")]
pub async fn create_session(
    authorization: Authorization<'_>,
    idempotency: IdempotencyKey,
    content_type: Option<&ContentType>,
    body: Data<'_>,
    flows: &State<Arc<FlowService>>,
    client: Caller<'_>,
    span: RequestSpan,
) -> Reply {
    let asked = CreateRequest {
        authorization: authorization.0,
        idempotency_key: idempotency.0.as_deref(),
        content_type,
    };
    let created = create(flows, client.limits, asked, || client.ip(), read_body(body))
        .instrument(span.0)
        .await?;
    Ok((Status::Created, Json(created)))
}

/// The headers a create is judged by.
pub struct CreateRequest<'a> {
    pub authorization: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub content_type: Option<&'a ContentType>,
}

/// What both ways in (the route above and the server's own path, `fast_start.rs`) do: the key,
/// the create budgets, the media type, then the body (read only now), then the session.
pub async fn create(
    flows: &FlowService,
    limits: &Limits,
    asked: CreateRequest<'_>,
    client_ip: impl FnOnce() -> IpAddr,
    body: impl Future<Output = Result<Vec<u8>, ApiError>>,
) -> Result<Value, RpError> {
    let rp = caller_of(flows, asked.authorization)?;
    let ip = client_ip().to_string();
    let checks = [
        (Budget::ApiSessionCreate, rp.id.as_str()),
        (Budget::ApiSessionCreateIp, ip.as_str()),
    ];
    limits.check_all(&checks).await.map_err(ApiError::limited)?;
    check_media_type(asked.content_type)?;
    let bytes = body.await?;
    let created = flows
        .create_api_session(rp, &bytes, asked.idempotency_key)
        .await?;
    Ok(created)
}

#[utoipa::path(
    get, path = "/api/v1/sessions/{id}",
    tag = "Sessions",
    summary = "A session's status, tracker and (for a while after a success) subject",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The session id from the create answer.")),
    responses(
        (status = 200, description = "The session.", body = super::openapi::Session),
        (status = 401, description = "No or an unknown API key; see WWW-Authenticate.", body = super::openapi::Error),
        (status = 404, description = "No such session of this relying party.", body = super::openapi::Error),
        (status = 503, description = "Our side: the store is unavailable.", body = super::openapi::Error),
    ),
)]
#[rocket::get("/api/v1/sessions/<id>")]
pub async fn get_session(
    id: &str,
    caller: Result<RpCaller<'_>, Unauthorized>,
    flows: &State<Arc<FlowService>>,
    span: RequestSpan,
) -> Reply {
    let rp = caller?.0;
    let session = flows.api_session(rp, id).instrument(span.0).await?;
    Ok((Status::Ok, Json(session)))
}

#[utoipa::path(
    delete, path = "/api/v1/sessions/{id}",
    tag = "Sessions",
    summary = "Cancel a session that has not ended (it becomes ABORT)",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The session id from the create answer.")),
    responses(
        (status = 200, description = "The cancelled session.", body = super::openapi::Session),
        (status = 401, description = "No or an unknown API key; see WWW-Authenticate.", body = super::openapi::Error),
        (status = 404, description = "No such session of this relying party.", body = super::openapi::Error),
        (status = 409, description = "The session has already ended.", body = super::openapi::Error),
        (status = 503, description = "Our side: the store is unavailable.", body = super::openapi::Error),
    ),
)]
#[rocket::delete("/api/v1/sessions/<id>")]
pub async fn delete_session(
    id: &str,
    caller: Result<RpCaller<'_>, Unauthorized>,
    flows: &State<Arc<FlowService>>,
    span: RequestSpan,
) -> Reply {
    let rp = caller?.0;
    let session = flows.cancel_api_session(rp, id).instrument(span.0).await?;
    Ok((Status::Ok, Json(session)))
}
