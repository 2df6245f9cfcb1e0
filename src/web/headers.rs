//! Response headers every page carries, and one log line per request.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

use crate::ids::random_token;

/// Security headers on every response; `no-store` everywhere but the static assets.
pub struct SecurityHeaders {
    /// Send HSTS (public_url is https).
    pub hsts: bool,
}

pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

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
        if res.headers().get_one("Content-Security-Policy").is_none() {
            res.set_header(Header::new("Content-Security-Policy", CSP));
        }
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "no-referrer"));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
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

/// The request's id and start time, for its log line and for spans of the work it causes.
pub struct RequestMeta {
    pub id: String,
    started: Instant,
}

pub fn request_meta<'r>(req: &'r Request<'_>) -> &'r RequestMeta {
    req.local_cache(|| RequestMeta {
        id: random_token(6),
        started: Instant::now(),
    })
}

/// A span for work done on behalf of a request.
pub fn request_span(req: &Request<'_>) -> tracing::Span {
    tracing::info_span!("request", id = %request_meta(req).id)
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
        let route = req
            .route()
            .map_or_else(|| "-".to_string(), |r| r.uri.to_string());
        let route = route.split('?').next().unwrap_or("-");
        let span = tracing::info_span!("request", id = %meta.id);
        span.in_scope(|| {
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
