//! Rate limits at the edge: who is calling (peer address and any `X-Forwarded-For`), and the
//! 429 answers (a page for citizens, `Retry-After` on everything).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use serde_json::json;

use crate::ids::FlowId;
use crate::limits::{Budget, Client, Limited, Limits};

use super::browser::Html;
use super::pages::{Lang, Pages};

/// The limits and what identifies the caller's address; the address itself is worked out
/// only when a budget asks for it.
pub struct Caller<'r> {
    pub limits: &'r Limits,
    peer: IpAddr,
    forwarded_for: Vec<&'r str>,
}

impl Caller<'_> {
    /// The client's address (trusted proxies' `X-Forwarded-For`, else the TCP peer).
    pub fn ip(&self) -> IpAddr {
        self.limits
            .client_ip(self.peer, self.forwarded_for.iter().copied())
    }

    /// The limits and the address, for domain steps.
    pub fn client(&self) -> Client<'_> {
        Client {
            limits: self.limits,
            ip: self.ip().to_string(),
        }
    }

    /// Counts `identifier` against `budget` and the client's address against `per_ip`.
    pub async fn check(
        &self,
        budget: Budget,
        identifier: &str,
        per_ip: Budget,
    ) -> Result<(), Limited> {
        let ip = self.ip().to_string();
        self.limits
            .check_all(&[(budget, identifier), (per_ip, &ip)])
            .await
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller<'r> {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(limits) = req.rocket().state::<Arc<Limits>>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        Outcome::Success(Caller {
            limits,
            // The bridge always gives the peer; a request without one is a local test client.
            peer: req
                .remote()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip()),
            forwarded_for: req.headers().get("X-Forwarded-For").collect(),
        })
    }
}

/// Any answer with `Retry-After` added when there is a wait to tell.
pub struct RetryAfter<R>(pub R, pub Option<u64>);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for RetryAfter<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        if let Some(seconds) = self.1 {
            res.set_header(Header::new("Retry-After", seconds.to_string()));
        }
        Ok(res)
    }
}

/// The citizen's 429 page: what happened, how long to wait, and (on a live flow) the way
/// back and out.
pub fn limited_page(
    limited: Limited,
    flow: Option<(FlowId, String)>,
    pages: &Pages,
    lang: Lang,
) -> RetryAfter<Html> {
    let seconds = limited.seconds();
    let minutes = seconds.div_ceil(60);
    let (id, csrf) = flow.map(|(i, c)| (i.to_string(), c)).unwrap_or_default();
    let data =
        json!({"message": pages.text_n(lang, "limited_body", minutes), "id": id, "csrf": csrf});
    let html = match pages.render("rate_limited.html.tera", lang, &data) {
        Ok(body) => Html(Status::TooManyRequests, body),
        Err(_) => Html(Status::TooManyRequests, pages.text(lang, "limited_heading")),
    };
    RetryAfter(html, Some(seconds))
}
