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

/// Sent on every response, whatever the route says.
const ALWAYS: [(&str, &str); 5] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    // Shield's default `Permission` policy, kept when Shield was folded in here.
    ("Permissions-Policy", "interest-cohort=()"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
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
        for (name, value) in ALWAYS {
            res.set_header(Header::new(name, value));
        }
        // Only a found asset may be cached: a 404 cached by a proxy would hide a later fix.
        let asset = req.uri().path().as_str().starts_with("/static/");
        let cache = if asset && res.status() == rocket::http::Status::Ok {
            "public, max-age=3600"
        } else {
            "no-store"
        };
        res.set_header(Header::new("Cache-Control", cache));
        if self.hsts {
            res.set_header(Header::new("Strict-Transport-Security", "max-age=31536000"));
        }
    }
}

/// The request's id, start time and span, made once per request (by [`RequestLog`]) for its log
/// line and for the work it causes.
pub struct RequestMeta {
    pub id: String,
    started: Instant,
    /// `request{id=..}`: one span per request, shared by the handler's work and the request's
    /// log line (the subscriber formats its fields once, when it is made).
    span: tracing::Span,
}

pub fn request_meta<'r>(req: &'r Request<'_>) -> &'r RequestMeta {
    req.local_cache(|| {
        let id = random_token(6);
        let span = tracing::info_span!("request", id = %id);
        RequestMeta {
            id,
            started: Instant::now(),
            span,
        }
    })
}

/// A span for work done on behalf of a request.
pub fn request_span(req: &Request<'_>) -> tracing::Span {
    request_meta(req).span.clone()
}

/// One line per request: method, route pattern (never the raw path: it holds capabilities),
/// status and duration.
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
        let meta = request_meta(req);
        let route = req.route().map_or("-", |r| r.uri.path());
        meta.span.in_scope(|| {
            tracing::info!(
                method = %req.method(),
                route,
                status = res.status().code,
                us = meta.started.elapsed().as_micros() as u64,
                "request"
            );
        });
    }
}
