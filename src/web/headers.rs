//! Response headers every page carries, and one log line per request.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

use crate::ids::random_token;

/// Security headers on every response; `no-store` everywhere but the static assets.
///
/// This fairing also sends the headers of Rocket's default Shield, which the app replaces with an
/// empty one (`app.rs`): one fairing setting every header once, instead of Shield setting
/// `X-Frame-Options: SAMEORIGIN` and this one overwriting it with `DENY` on every response.
pub struct SecurityHeaders {
    /// Send HSTS (public_url is https).
    pub hsts: bool,
}

pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Sent on every response, whatever the route says. (Names in lower case, as HTTP/1.1 sends them
/// here and as `HeaderName::from_static` takes them.)
const ALWAYS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    // Shield's default `Permission` policy, kept when Shield was folded in here.
    ("permissions-policy", "interest-cohort=()"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
];

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        // A page that needs more (the card page reaches the connector) sets its own.
        if !res.headers().contains("Content-Security-Policy") {
            res.set_header(Header::new("Content-Security-Policy", CSP));
        }
        let asset = req.uri().path().as_str().starts_with("/static/");
        let ok = res.status() == rocket::http::Status::Ok;
        for (name, value) in self.after_csp(asset && ok) {
            res.set_header(Header::new(name, value));
        }
    }
}

impl SecurityHeaders {
    /// What follows the CSP, in the order it is sent (names in lower case); `cacheable`: a
    /// found static asset.
    pub fn after_csp(&self, cacheable: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
        // Only a found asset may be cached: a 404 cached by a proxy would hide a later fix.
        let cache = if cacheable {
            "public, max-age=3600"
        } else {
            "no-store"
        };
        let hsts = self
            .hsts
            .then_some(("strict-transport-security", "max-age=31536000"));
        ALWAYS
            .into_iter()
            .chain(std::iter::once(("cache-control", cache)))
            .chain(hsts)
    }
}

/// The request's id, start time and span, made once per request (by [`RequestLog`], or by
/// the server's own start path, `web/fast_start.rs`) for its log
/// line and for the work it causes.
pub struct RequestMeta {
    pub id: String,
    started: Instant,
    /// `request{id=..}`: one span per request, shared by the handler's work and the request's
    /// log line (the subscriber formats its fields once, when it is made).
    span: tracing::Span,
}

impl RequestMeta {
    /// Made when the request arrives.
    pub fn start() -> Self {
        let id = random_token(6);
        let span = tracing::info_span!("request", id = %id);
        RequestMeta {
            id,
            started: Instant::now(),
            span,
        }
    }

    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The request's one line: method, route pattern (never the raw path: it holds
    /// capabilities), status and duration.
    pub fn log_line(&self, method: &str, route: &str, status: u16) {
        self.span.in_scope(|| {
            tracing::info!(
                method = %method,
                route,
                status,
                us = self.started.elapsed().as_micros() as u64,
                "request"
            );
        });
    }
}

pub fn request_meta<'r>(req: &'r Request<'_>) -> &'r RequestMeta {
    req.local_cache(RequestMeta::start)
}

/// A span for work done on behalf of a request.
pub fn request_span(req: &Request<'_>) -> tracing::Span {
    request_meta(req).span.clone()
}

/// One line per request ([`RequestMeta::log_line`]).
pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        request_meta(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let route = req.route().map_or("-", |r| r.uri.path());
        request_meta(req).log_line(req.method().as_str(), route, res.status().code);
    }
}
