//! What every browser route needs: the flow cookie, the same-origin check for POSTs, and a
//! page responder that turns domain errors into friendly localized pages.

use std::sync::Arc;

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, content::RawHtml, Redirect, Responder};
use serde_json::json;

use crate::flow::{BrowserProof, FlowError, FlowService};
use crate::ids::FlowId;
use crate::store::StoreError;

use super::pages::{Lang, Pages};

#[cfg(test)]
#[test]
fn phones_are_told_by_their_user_agent() {
    let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15";
    let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari";
    let desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
    assert!(is_phone(Some(iphone)) && is_phone(Some(android)));
    assert!(!is_phone(Some(desktop)) && !is_phone(None));
}

/// Browser-facing settings derived from the configuration.
pub struct WebSettings {
    /// `public_url` is https: cookies get `Secure` and the `__Secure-` prefix.
    pub secure: bool,
    pub public_origin: String,
    pub flow_ttl_secs: i64,
}

impl WebSettings {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Secure-auth_eid_flow"
        } else {
            "auth_eid_flow"
        }
    }
}

/// Everything a flow page handler uses, in one guard.
pub struct Browser<'r> {
    pub flows: &'r Arc<FlowService>,
    pub pages: &'r Pages,
    pub web: &'r WebSettings,
    pub lang: Lang,
    /// The browser says it is a phone or tablet (User-Agent): no card reader there.
    pub on_phone: bool,
    pub jar: &'r CookieJar<'r>,
    /// The request's span: domain work is instrumented with it.
    pub span: tracing::Span,
    /// The private flow cookie's value, read (decrypted and authenticated) once.
    cookie: Option<String>,
}

impl Browser<'_> {
    /// The private flow cookie (encrypted and authenticated with the server's key).
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// What a state-changing step proves: this browser's flow cookie and the form's `csrf`.
    pub fn proof<'a>(&'a self, csrf: Option<&'a str>) -> BrowserProof<'a> {
        BrowserProof {
            cookie: self.cookie(),
            csrf,
        }
    }

    /// Binds this browser: an HttpOnly, SameSite=Lax cookie scoped to the flow's own path.
    pub fn set_cookie(&self, id: &FlowId, value: String) {
        let cookie = Cookie::build((self.web.cookie_name(), value))
            .path(format!("{}/flow/{}", self.pages.base(), id))
            .http_only(true)
            .secure(self.web.secure)
            .same_site(SameSite::Lax)
            .max_age(rocket::time::Duration::seconds(self.web.flow_ttl_secs))
            .expires(
                rocket::time::OffsetDateTime::now_utc()
                    + rocket::time::Duration::seconds(self.web.flow_ttl_secs),
            );
        self.jar.add_private(cookie);
    }

    /// A redirect to this flow's page `rest` (`""` for the start page, `"/smart-id"`, ...).
    pub fn to_flow(&self, id: &FlowId, rest: &str) -> Redirect {
        Redirect::to(format!("{}/flow/{}{}", self.pages.base(), id, rest))
    }

    pub fn render(&self, template: &str, data: &serde_json::Value) -> Result<Html, PageError> {
        self.pages
            .render(template, self.lang, data)
            .map(|body| Html(Status::Ok, body))
            .map_err(|e| {
                tracing::error!(error = ?e, template, "page rendering failed");
                PageError::plain(FlowError::Corrupt)
            })
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Browser<'r> {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let rocket = req.rocket();
        let (Some(flows), Some(pages), Some(web)) = (
            rocket.state::<Arc<FlowService>>(),
            rocket.state::<Pages>(),
            rocket.state::<WebSettings>(),
        ) else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let lang = Lang::of(req);
        let on_phone = is_phone(req.headers().get_one("User-Agent"));
        let span = super::headers::request_span(req);
        let jar = req.cookies();
        let cookie = jar
            .get_private(web.cookie_name())
            .map(|c| c.value().to_string());
        Outcome::Success(Browser {
            flows,
            pages,
            web,
            lang,
            on_phone,
            jar,
            span,
            cookie,
        })
    }
}

/// Phones and tablets by their User-Agent (Android, iPhone, iPad and the "Mobi" token browsers
/// add on phones). iPadOS Safari says it is a Mac; it still gets the card with its needs.
fn is_phone(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| {
        ["Mobi", "Android", "iPhone", "iPad"]
            .iter()
            .any(|token| ua.contains(token))
    })
}

/// A means' state, present only when the means is enabled: its routes then answer 404, never
/// a 500 for missing state.
pub struct Enabled<'r, T: Send + Sync + 'static>(pub &'r T);

#[rocket::async_trait]
impl<'r, T: Send + Sync + 'static> FromRequest<'r> for Enabled<'r, T> {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.rocket().state::<T>() {
            Some(state) => Outcome::Success(Enabled(state)),
            None => Outcome::Forward(Status::NotFound),
        }
    }
}

/// A flow id from the path; anything else is an unknown flow (the same 404 as an expired one).
pub fn flow_id(raw: &str) -> Result<FlowId, FlowError> {
    FlowId::parse(raw).ok_or(FlowError::NotFound)
}

/// Refuses state-changing requests from other sites (403 before any state is read).
/// Pages send `Referrer-Policy: no-referrer`, so browsers send `Origin: null` on our own form
/// posts; the flow cookie and the CSRF token carry the real proof.
pub struct SameOrigin;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SameOrigin {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(web) = req.rocket().state::<WebSettings>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let origin_ok = req
            .headers()
            .get_one("Origin")
            .is_none_or(|o| o == "null" || o == web.public_origin);
        let site_ok = !matches!(
            req.headers().get_one("Sec-Fetch-Site"),
            Some("cross-site" | "same-site")
        );
        if origin_ok && site_ok {
            Outcome::Success(SameOrigin)
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

/// The fields any flow form may carry; missing ones are `None`, so a missing CSRF token is a
/// 403 from our check, not a 422 from the form parser.
#[derive(Debug, FromForm)]
pub struct StepForm {
    pub csrf: Option<String>,
    pub means: Option<String>,
}

pub struct Html(pub Status, pub String);

impl<'r> Responder<'r, 'static> for Html {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        (self.0, RawHtml(self.1)).respond_to(req)
    }
}

/// A domain error shown as a page; the status says whose fault it is.
#[derive(Debug)]
pub struct PageError {
    pub error: FlowError,
    /// Offer "back" and "cancel" when the flow is still live and owned by this browser.
    pub flow: Option<(FlowId, String)>,
}

impl PageError {
    pub fn plain(error: FlowError) -> Self {
        PageError { error, flow: None }
    }
}

impl From<FlowError> for PageError {
    fn from(error: FlowError) -> Self {
        PageError::plain(error)
    }
}

/// Status and text key for each error.
pub fn page_status(error: &FlowError) -> (Status, &'static str) {
    match error {
        FlowError::NotFound => (Status::NotFound, "error_not_found"),
        FlowError::WrongBrowser | FlowError::BadCsrf => (
            Status::Forbidden,
            if matches!(error, FlowError::BadCsrf) {
                "error_csrf"
            } else {
                "error_wrong_browser"
            },
        ),
        FlowError::WrongState => (Status::Conflict, "error_state"),
        FlowError::PhoneFirst => (Status::Conflict, "error_phone_first"),
        FlowError::MeansUnavailable | FlowError::Contract(_) => (Status::BadRequest, "error_means"),
        FlowError::Finished => (Status::Ok, "done_body"),
        FlowError::Store(StoreError::Full | StoreError::Unavailable(_)) => {
            (Status::ServiceUnavailable, "error_unavailable")
        }
        FlowError::Token(_) | FlowError::Cpu(_) | FlowError::Corrupt => {
            (Status::InternalServerError, "error_internal")
        }
        FlowError::Limited(_) => (Status::TooManyRequests, "limited_body"),
    }
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let (status, key) = page_status(&self.error);
        if status.code >= 500 {
            tracing::error!(error = %self.error, "flow page failed");
        }
        let lang = Lang::of(req);
        let Some(pages) = req.rocket().state::<Pages>() else {
            return Err(Status::InternalServerError);
        };
        if let FlowError::Limited(limited) = self.error {
            return super::limits::limited_page(limited, self.flow, pages, lang).respond_to(req);
        }
        let (template, data) = if matches!(self.error, FlowError::Finished) {
            ("done.html.tera", json!({}))
        } else {
            let (id, csrf) = self
                .flow
                .map(|(i, c)| (i.to_string(), c))
                .unwrap_or_default();
            (
                "error.html.tera",
                json!({"message": pages.text(lang, key), "id": id, "csrf": csrf}),
            )
        };
        let body = pages
            .render(template, lang, &data)
            .map_err(|_| Status::InternalServerError)?;
        Html(status, body).respond_to(req)
    }
}
