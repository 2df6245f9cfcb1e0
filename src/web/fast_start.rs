//! `POST /start_authentication` answered by the server itself, without the round trip through
//! Rocket's in-process dispatcher (`server/bridge.rs`).
//!
//! Why: a start is the core's hot path, and that round trip (a Rocket request built from
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
use crate::flow::FlowService;
use crate::limits::Limits;

const PATH: &str = "/start_authentication";

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
        method == Method::POST && path == PATH
    }

    /// The answer, as the Rocket route and its fairings would give it.
    pub async fn answer(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
        body: Vec<u8>,
    ) -> Response<Full<Bytes>> {
        let meta = RequestMeta::start();
        let outcome = async {
            api::check_media_type(content_type(headers).as_ref())
                .and_then(|()| api::check_body_size(body.len()))
                .inspect_err(api::log_unseen_refusal)?;
            // Headers that are not text are not addresses (Rocket's route never sees them).
            let client_ip = || {
                let forwarded = headers.get_all("x-forwarded-for").iter();
                let forwarded: Vec<&str> = forwarded.filter_map(|v| v.to_str().ok()).collect();
                self.limits.client_ip(peer.ip(), forwarded.into_iter())
            };
            api::start(&self.flows, &self.limits, client_ip, &body).await
        }
        .instrument(meta.span().clone())
        .await;
        let (status, json, retry_after) = match outcome {
            Ok(started) => (StatusCode::OK, serde_json::to_vec(&started), None),
            Err(e) => (
                status_of(&e),
                serde_json::to_vec(&e.body()),
                e.retry_after(),
            ),
        };
        // Serialising a string field or a json! map cannot fail.
        let mut response = Response::new(Full::new(Bytes::from(json.unwrap_or_default())));
        *response.status_mut() = status;
        let out = response.headers_mut();
        out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(seconds) = retry_after {
            out.insert("retry-after", HeaderValue::from(seconds));
        }
        out.insert("content-security-policy", HeaderValue::from_static(CSP));
        for (name, value) in self.headers.after_csp(false) {
            out.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        meta.log_line("POST", PATH, status.as_u16());
        response
    }
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
