//! `POST /start_authentication` and `POST /api/v1/sessions` answered by the server itself,
//! without the round trip through Rocket's in-process dispatcher (`server/bridge.rs`).
//!
//! Why: a start is the core's hot path (and a create the relying parties'), and that round trip (a Rocket request built from
//! hyper's, owned copies of every header, routing, two fairings, the response's headers copied
//! back) was about half of a start's instructions (docs/performance.md). Only the exact path
//! comes here; every other spelling Rocket accepts (`//start_authentication`, a trailing slash)
//! still reaches the Rocket route, and `tests/integration/fast_start.rs` holds both ways to the
//! same bytes. The checks, the flow service call, the error bodies, the security headers and
//! the log line are the ones the Rocket route uses.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use rocket::http::ContentType;
use tracing::Instrument;

use super::api::{self, ApiError};
use super::headers::{RequestMeta, SecurityHeaders, CSP};
use super::rp_api;
use crate::flow::FlowService;
use crate::limits::Limits;

const PATH: &str = "/start_authentication";
const API_PATH: &str = "/api/v1/sessions";

/// Managed state: present when the app serves starts (the plugin, not the connector).
pub struct FastStart {
    flows: Arc<FlowService>,
    limits: Arc<Limits>,
    headers: SecurityHeaders,
}

impl FastStart {
    pub fn new(flows: Arc<FlowService>, limits: Arc<Limits>, headers: SecurityHeaders) -> Self {
        FastStart {
            flows,
            limits,
            headers,
        }
    }

    /// Whether a request is one this path answers.
    pub fn serves(method: &Method, path: &str) -> bool {
        method == Method::POST && (path == PATH || path == API_PATH)
    }

    /// The answer, as the Rocket route and its fairings would give it.
    pub async fn answer(
        &self,
        peer: SocketAddr,
        path: &str,
        headers: &HeaderMap,
        body: Vec<u8>,
    ) -> Response<Full<Bytes>> {
        let meta = RequestMeta::start();
        // Headers that are not text are not addresses (Rocket's route never sees them).
        let client_ip = || {
            let forwarded = headers.get_all("x-forwarded-for").iter();
            let forwarded: Vec<&str> = forwarded.filter_map(|v| v.to_str().ok()).collect();
            self.limits.client_ip(peer.ip(), forwarded.into_iter())
        };
        let content_type = content_type(headers);
        let answer = if path == API_PATH {
            let asked = rp_api::CreateRequest {
                authorization: text(headers, "authorization"),
                idempotency_key: text(headers, "idempotency-key"),
                content_type: content_type.as_ref(),
            };
            let body = async { api::check_body_size(body.len()).map(|()| body) };
            let outcome = rp_api::create(&self.flows, &self.limits, asked, client_ip, body);
            match outcome.instrument(meta.span().clone()).await {
                Ok(created) => Answer::ok(StatusCode::CREATED, serde_json::to_vec(&created)),
                Err(e) => {
                    let (e, challenge) = e.parts();
                    Answer::refused(e).with_challenge(challenge)
                }
            }
        } else {
            let outcome = async {
                api::check_media_type(content_type.as_ref())
                    .and_then(|()| api::check_body_size(body.len()))
                    .inspect_err(api::log_unseen_refusal)?;
                api::start(&self.flows, &self.limits, client_ip, &body).await
            };
            match outcome.instrument(meta.span().clone()).await {
                Ok(started) => Answer::ok(StatusCode::OK, serde_json::to_vec(&started)),
                Err(e) => Answer::refused(&e),
            }
        };
        let status = answer.status;
        let response = answer.into_response(&self.headers);
        meta.log_line("POST", path, status.as_u16());
        response
    }
}

/// A JSON answer before the headers every API answer carries.
struct Answer {
    status: StatusCode,
    json: Vec<u8>,
    retry_after: Option<u64>,
    challenge: Option<&'static str>,
}

impl Answer {
    fn ok(status: StatusCode, json: serde_json::Result<Vec<u8>>) -> Self {
        // Serialising a string field or a json! map cannot fail.
        Answer {
            status,
            json: json.unwrap_or_default(),
            retry_after: None,
            challenge: None,
        }
    }

    fn refused(e: &ApiError) -> Self {
        Answer {
            retry_after: e.retry_after(),
            ..Answer::ok(status_of(e), serde_json::to_vec(&e.body()))
        }
    }

    fn with_challenge(mut self, challenge: Option<&'static str>) -> Self {
        self.challenge = challenge;
        self
    }

    fn into_response(self, security: &SecurityHeaders) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.json)));
        *response.status_mut() = self.status;
        let out = response.headers_mut();
        out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(seconds) = self.retry_after {
            out.insert("retry-after", HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.challenge {
            out.insert("www-authenticate", HeaderValue::from_static(challenge));
        }
        out.insert("content-security-policy", HeaderValue::from_static(CSP));
        for (name, value) in security.after_csp(false) {
            out.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        response
    }
}

/// The first value of `name` that is text (Rocket's `get_one` sees only those).
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get_all(name).iter().find_map(|v| v.to_str().ok())
}

/// The first Content-Type that is text, parsed as Rocket parses it (the bridge hands Rocket
/// only the header values that are text).
fn content_type(headers: &HeaderMap) -> Option<ContentType> {
    let value = headers
        .get_all(CONTENT_TYPE)
        .iter()
        .find_map(|v| v.to_str().ok())?;
    value.parse().ok()
}

fn status_of(e: &ApiError) -> StatusCode {
    StatusCode::from_u16(e.status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
