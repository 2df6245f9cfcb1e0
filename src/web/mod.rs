//! The HTTP layer: routes parse input, call one domain function and map the result.

pub mod api;
pub mod browser;
pub mod card;
pub mod fast_start;
pub mod flow;
pub mod headers;
mod lang;
mod lifecycle;
pub mod limits;
pub mod openapi;
pub mod pages;
pub mod phone;
pub mod rp_api;
pub mod server;
pub mod site;
pub mod smart_id;
pub mod smart_id_link;

pub use lifecycle::Lifecycle;

use rocket::http::{ContentType, Status};
use rocket::serde::json::{json, Json};
use rocket::{Catcher, Request, Route};

use browser::Html;
use pages::{Lang, Pages};

const STATIC: &[(&str, &str)] = &[
    ("style.css", include_str!("../../static/style.css")),
    ("card.js", include_str!("../../static/card.js")),
    ("pages.js", include_str!("../../static/pages.js")),
    ("smart-id.js", include_str!("../../static/smart-id.js")),
    ("favicon.svg", include_str!("../../static/favicon.svg")),
    ("card.svg", include_str!("../../static/card.svg")),
    ("smart-id.svg", include_str!("../../static/smart-id.svg")),
    ("test.svg", include_str!("../../static/test.svg")),
    (
        "smart-id-link.js",
        include_str!("../../static/smart-id-link.js"),
    ),
];

/// Stylesheets, scripts and icons, compiled in; `site.css` is the deployment's colours.
#[rocket::get("/static/<file>?<rp>")]
fn asset(
    file: &str,
    rp: Option<&str>,
    pages: &rocket::State<Pages>,
) -> Option<(ContentType, String)> {
    if file == "site.css" {
        return Some((ContentType::CSS, pages.site().stylesheet(rp)));
    }
    let (_, body) = STATIC.iter().find(|(name, _)| *name == file)?;
    let kind = match file.rsplit_once('.').map(|(_, e)| e) {
        Some("js") => ContentType::JavaScript,
        Some("svg") => ContentType::SVG,
        _ => ContentType::CSS,
    };
    Some((kind, body.to_string()))
}

/// The operator's logo (`pages.logo` in `pages.static_dir`, read at start-up).
#[rocket::get("/static/site/<file>")]
fn site_asset(file: &str, pages: &rocket::State<Pages>) -> Option<(ContentType, Vec<u8>)> {
    let (kind, bytes) = pages.site().logo(file)?;
    Some((ContentType::parse_flexible(kind)?, bytes.to_vec()))
}

/// Browsers ask for `/favicon.ico` by themselves; they accept an SVG answer.
#[rocket::get("/favicon.ico")]
fn favicon() -> (ContentType, &'static str) {
    (ContentType::SVG, include_str!("../../static/favicon.svg"))
}

pub fn routes() -> Vec<Route> {
    rocket::routes![
        api::start_authentication,
        api::session_update,
        api::live,
        api::ready,
        rp_api::create_session,
        rp_api::get_session,
        rp_api::delete_session,
        openapi::document,
        flow::head,
        flow::open,
        flow::choose,
        flow::cancel,
        flow::choose_again,
        flow::test_page,
        flow::test_confirm,
        asset,
        site_asset,
        favicon,
        card::page,
        card::nonce,
        card::token,
        smart_id::form,
        smart_id::submit,
        smart_id::wait,
        smart_id::status,
        smart_id::finish,
        smart_id::retry,
        smart_id_link::start,
        smart_id_link::qr,
        smart_id_link::app,
        smart_id_link::callback,
        phone::send,
        phone::code,
    ]
}

/// JSON errors for the core-facing endpoints (`/start_authentication`, `/session`) and the
/// relying-party API (`/api`).
#[rocket::catch(default)]
fn json_error(status: Status, _req: &Request<'_>) -> (Status, Json<serde_json::Value>) {
    let code = match status.code {
        400 => "malformed_request",
        404 => "not_found",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid_request",
        c if c >= 500 => "internal",
        _ => "error",
    };
    (
        status,
        Json(json!({"error": code, "message": status.reason_lossy()})),
    )
}

/// Friendly pages for everything the browser can reach.
#[rocket::catch(default)]
fn html_error(status: Status, req: &Request<'_>) -> Html {
    let key = match status.code {
        404 => "error_not_found",
        403 => "error_csrf",
        400 | 409 | 413 | 422 => "error_state",
        503 => "error_unavailable",
        _ => "error_internal",
    };
    let lang = Lang::of(req);
    let body = req
        .rocket()
        .state::<Pages>()
        .and_then(|p| {
            p.render(
                "error.html.tera",
                lang,
                &json!({"message": p.text(lang, key)}),
            )
            .ok()
        })
        .unwrap_or_else(|| status.reason_lossy().to_string());
    Html(status, body)
}

pub fn json_catchers() -> Vec<Catcher> {
    rocket::catchers![json_error]
}

pub fn html_catchers() -> Vec<Catcher> {
    rocket::catchers![html_error]
}
