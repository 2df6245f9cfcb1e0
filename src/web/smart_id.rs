//! The Smart-ID pages: form, waiting page with its status endpoint, finish and retry.
//! Each handler parses, calls one `SmartIdFlow` method, and maps the result.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use serde_json::json;
use tracing::Instrument;

use crate::flow::{Finished, SmartIdFlow, Stage, SubmitError, WaitView};
use crate::ids::FlowId;

use super::browser::{
    flow_id, page_status, Browser, Enabled, Html, PageError, SameOrigin, StepForm,
};
use super::flow::Opened;
use super::limits::Caller;

#[derive(Debug, FromForm)]
pub struct SidForm {
    pub csrf: Option<String>,
    pub country: Option<String>,
    pub code: Option<String>,
}

fn form_page(
    b: &Browser<'_>,
    sid: &SmartIdFlow,
    id: &FlowId,
    csrf: &str,
    entered: Option<(&str, &str)>,
) -> Result<Html, PageError> {
    // Belgium first (the product is Belgian), then the configured order.
    let mut countries: Vec<_> = sid.countries().iter().map(|c| c.as_str()).collect();
    countries.sort_by_key(|c| *c != "BE");
    let countries: Vec<_> = countries
        .into_iter()
        .map(|c| json!({"code": c, "name": b.pages.text(b.lang, &format!("country_{c}"))}))
        .collect();
    let (country, code) = entered.unwrap_or_default();
    let error = entered.map(|_| b.pages.text(b.lang, "sid_bad_code"));
    // What the citizen typed goes back to them only (at most the field's length).
    let code: String = code.chars().take(20).collect();
    let data = json!({"id": id.as_str(), "csrf": csrf, "countries": countries,
        "country": country, "code": code, "error": error,
        "device_link": sid.offers_device_link()});
    b.render("smart_id_form.html.tera", &data)
}

fn wait_page(b: &Browser<'_>, id: &FlowId, w: &WaitView) -> Result<Html, PageError> {
    let data = json!({"id": id.as_str(), "csrf": w.csrf, "vc": w.vc, "phase": w.state.as_str(),
        "message": b.pages.text(b.lang, &w.message_key), "retry": w.retry});
    // A device-link attempt shows the QR code (or the Web2App button), not a code to compare.
    let template = match w.device_link {
        true => "smart_id_link.html.tera",
        false => "smart_id_wait.html.tera",
    };
    b.render(template, &data)
}

fn stage_page(
    b: &Browser<'_>,
    sid: &SmartIdFlow,
    id: &FlowId,
    stage: Stage,
    form_here: bool,
) -> Result<Opened, PageError> {
    match stage {
        Stage::Form { csrf } if form_here => form_page(b, sid, id, &csrf, None).map(Opened::Page),
        Stage::Form { .. } => Ok(Opened::Continue(Box::new(b.to_flow(id, "/smart-id")))),
        Stage::Waiting(_) if form_here => {
            Ok(Opened::Continue(Box::new(b.to_flow(id, "/smart-id/wait"))))
        }
        Stage::Waiting(w) => wait_page(b, id, &w).map(Opened::Page),
        Stage::Elsewhere => Ok(Opened::Continue(Box::new(b.to_flow(id, "")))),
    }
}

#[rocket::get("/flow/<id>/smart-id")]
pub async fn form(
    id: &str,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> Result<Opened, PageError> {
    let id = flow_id(id)?;
    let stage = sid
        .0
        .form(b.flows, &id, b.cookie())
        .instrument(b.span.clone())
        .await?;
    stage_page(&b, sid.0, &id, stage, true)
}

#[rocket::post("/flow/<id>/smart-id", data = "<form>")]
pub async fn submit(
    id: &str,
    form: Form<SidForm>,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
    caller: Caller<'_>,
    _same: SameOrigin,
) -> Result<Result<Redirect, Html>, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let country = form.country.as_deref().unwrap_or("");
    let code = form.code.as_deref().unwrap_or("");
    let done = sid
        .0
        .submit(b.flows, &id, &proof, country, code, &caller.client())
        .instrument(b.span.clone())
        .await;
    match done {
        Ok(()) => Ok(Ok(b.to_flow(&id, "/smart-id/wait"))),
        Err(SubmitError::BadInput { csrf }) => {
            let Html(_, body) = form_page(&b, sid.0, &id, &csrf, Some((country, code)))?;
            Ok(Err(Html(Status::BadRequest, body)))
        }
        Err(SubmitError::Flow(e)) => Err(e.into()),
    }
}

#[rocket::get("/flow/<id>/smart-id/wait")]
pub async fn wait(
    id: &str,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> Result<Opened, PageError> {
    let id = flow_id(id)?;
    let stage = sid
        .0
        .show(b.flows, &id, b.cookie())
        .instrument(b.span.clone())
        .await?;
    stage_page(&b, sid.0, &id, stage, false)
}

/// Polled by the waiting page: `{state, message}`, nothing personal.
#[rocket::get("/flow/<id>/smart-id/status")]
pub async fn status(
    id: &str,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> (Status, Json<serde_json::Value>) {
    let Some(id) = FlowId::parse(id) else {
        return (Status::NotFound, Json(json!({"state": "error"})));
    };
    let answer = sid
        .0
        .status(b.flows, &id, b.cookie())
        .instrument(b.span.clone())
        .await;
    match answer {
        Ok((state, key)) => (
            Status::Ok,
            Json(json!({"state": state.as_str(), "message": b.pages.text(b.lang, &key)})),
        ),
        Err(e) => {
            let (status, key) = page_status(&e);
            let body = json!({"state": "error", "message": b.pages.text(b.lang, key)});
            (status, Json(body))
        }
    }
}

#[rocket::post("/flow/<id>/smart-id/finish", data = "<form>")]
pub async fn finish(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let finished = sid
        .0
        .finish(b.flows, &id, &proof)
        .instrument(b.span.clone())
        .await?;
    Ok(match finished {
        Finished::Redirect(location) => Redirect::to(location),
        Finished::Wait => b.to_flow(&id, "/smart-id/wait"),
    })
}

#[rocket::post("/flow/<id>/smart-id/retry", data = "<form>")]
pub async fn retry(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    sid.0
        .retry(b.flows, &id, &proof)
        .instrument(b.span.clone())
        .await?;
    Ok(b.to_flow(&id, "/smart-id"))
}
