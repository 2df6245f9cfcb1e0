//! The phone step's pages (docs/phone.md): the number (or e-mail) form on the flow's start page,
//! the code form, and the page of a step that ended. Each handler parses, calls one
//! `PhoneFlow` method, and maps the result.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use serde_json::json;
use tracing::Instrument;

use crate::flow::phone::{PhoneError, PhoneFlow, PhoneStage};
use crate::flow::{FlowError, FlowView};
use crate::ids::FlowId;
use crate::phone::sender::SendError;
use crate::phone::CodeError;

use super::browser::{flow_id, Browser, Enabled, Html, PageError, SameOrigin};
use super::limits::{Caller, RetryAfter};

#[derive(Debug, FromForm)]
pub struct PhoneForm {
    pub csrf: Option<String>,
    pub number: Option<String>,
    pub code: Option<String>,
}

/// An error shown on the page: on which field (`number`, `code`, or none), its text, and the
/// answer's status.
struct Problem {
    field: Option<&'static str>,
    text: String,
    status: Status,
    retry_after: Option<u64>,
}

/// The phone page for `stage`: the number form or the code form, with `problem` on its field.
fn render(
    b: &Browser<'_>,
    phone: &PhoneFlow,
    view: &FlowView,
    stage: &PhoneStage,
    problem: Option<&Problem>,
    typed: &str,
) -> Result<RetryAfter<Html>, PageError> {
    let mut data = super::flow::flow_data(b, view);
    data["by_email"] = json!(phone.by_email());
    data["typed"] = json!(typed.chars().take(64).collect::<String>());
    if let Some(p) = problem {
        data["error"] = json!(p.text);
        data["error_field"] = json!(p.field.unwrap_or("page"));
    }
    let template = match stage {
        PhoneStage::Ask { csrf, fixed } => {
            data["csrf"] = json!(csrf);
            data["fixed"] = json!(fixed);
            "phone.html.tera"
        }
        PhoneStage::Code {
            csrf,
            to,
            resend_in,
            sends_left,
            tries_left,
            fixed,
        } => {
            let wait = resend_in.as_secs() + u64::from(resend_in.subsec_millis() > 0);
            data["csrf"] = json!(csrf);
            data["to"] = json!(to);
            data["sent_to"] = json!(b.pages.text(b.lang, "phone_sent_to").replace("{to}", to));
            data["resend_wait"] =
                json!((wait > 0).then(|| b.pages.text_n(b.lang, "phone_resend_wait", wait)));
            data["can_resend"] = json!(*sends_left > 0);
            data["tries_left"] = json!(tries_left);
            data["other_number"] = json!(!fixed && *sends_left > 0);
            data["demo"] = json!(phone.demo_sender().is_some());
            "phone_code.html.tera"
        }
    };
    let Html(_, body) = b.render(template, &data)?;
    let status = problem.map_or(Status::Ok, |p| p.status);
    Ok(RetryAfter(
        Html(status, body),
        problem.and_then(|p| p.retry_after),
    ))
}

/// The start page while the step is pending (called by `flow::open`).
pub async fn start_page(
    b: &Browser<'_>,
    phone: &PhoneFlow,
    view: &FlowView,
    cookie: Option<&str>,
) -> Result<Option<RetryAfter<Html>>, PageError> {
    let stage = phone
        .stage(b.flows, &view.id, cookie)
        .instrument(b.span.clone())
        .await?;
    match stage {
        Some(stage) => render(b, phone, view, &stage, None, "").map(Some),
        None => Ok(None),
    }
}

/// What the citizen reads for a refused step, or the page error it is.
fn problem(b: &Browser<'_>, phone: &PhoneFlow, e: PhoneError) -> Result<Problem, PageError> {
    let t = |key: &str| b.pages.text(b.lang, key);
    let p = |field, text, status| Problem {
        field,
        text,
        status,
        retry_after: None,
    };
    Ok(match e {
        PhoneError::Malformed if phone.by_email() => {
            p(Some("number"), t("phone_bad_email"), Status::BadRequest)
        }
        PhoneError::Malformed => p(Some("number"), t("phone_bad_number"), Status::BadRequest),
        PhoneError::CountryNotAllowed(_) => {
            p(Some("number"), t("phone_country"), Status::BadRequest)
        }
        // We checked the number: a gateway that still refuses it (or our token) is ours to fix.
        PhoneError::Send(SendError::Refused(_)) => {
            p(Some("number"), t("phone_send_refused"), Status::BadGateway)
        }
        PhoneError::Send(SendError::Unavailable(_)) => {
            p(None, t("phone_send_unavailable"), Status::BadGateway)
        }
        PhoneError::Code(CodeError::TooSoon { retry_after_ms }) => {
            let seconds = retry_after_ms.div_ceil(1000).max(1);
            Problem {
                field: None,
                text: b.pages.text_n(b.lang, "phone_resend_wait", seconds),
                status: Status::TooManyRequests,
                retry_after: Some(seconds),
            }
        }
        PhoneError::Code(CodeError::SendsUsedUp) => {
            p(None, t("phone_sends_used_up"), Status::TooManyRequests)
        }
        PhoneError::Code(CodeError::Malformed) => {
            p(Some("code"), t("phone_code_format"), Status::BadRequest)
        }
        PhoneError::Code(CodeError::Expired) => {
            p(Some("code"), t("phone_code_expired"), Status::BadRequest)
        }
        PhoneError::Code(CodeError::NoCode) => {
            p(Some("code"), t("phone_no_code"), Status::Conflict)
        }
        PhoneError::Code(CodeError::Wrong { tries_left }) => p(
            Some("code"),
            b.pages
                .text_n(b.lang, "phone_code_wrong", u64::from(tries_left)),
            Status::BadRequest,
        ),
        PhoneError::Code(CodeError::TriesUsedUp) => {
            p(Some("code"), t("phone_failed_body"), Status::BadRequest)
        }
        PhoneError::Flow(e) => return Err(e.into()),
        PhoneError::Ended { .. } => return Err(PageError::plain(FlowError::Finished)),
    })
}

/// The answer to a refused step: the page again with the problem on its field.
async fn refused(
    b: &Browser<'_>,
    phone: &PhoneFlow,
    id: &FlowId,
    e: PhoneError,
    typed: &str,
) -> Result<Result<Redirect, RetryAfter<Html>>, PageError> {
    if let PhoneError::Ended { location } = &e {
        let data = json!({"location": location});
        let Html(_, body) = b.render("phone_failed.html.tera", &data)?;
        return Ok(Err(RetryAfter(Html(Status::BadRequest, body), None)));
    }
    let number_problem = matches!(
        e,
        PhoneError::Malformed
            | PhoneError::CountryNotAllowed(_)
            | PhoneError::Send(SendError::Refused(_))
    );
    let problem = problem(b, phone, e)?;
    let view = b.flows.view_for(id, b.cookie()).await?;
    let stage = phone.stage(b.flows, id, b.cookie()).await?;
    let Some(mut stage) = stage else {
        return Err(FlowError::WrongState.into());
    };
    if number_problem {
        // The number form again, with what was typed and why it was refused.
        if let PhoneStage::Code { csrf, .. } = &stage {
            stage = PhoneStage::Ask {
                csrf: csrf.clone(),
                fixed: None,
            };
        }
    }
    render(b, phone, &view, &stage, Some(&problem), typed).map(Err)
}

#[rocket::post("/flow/<id>/phone", data = "<form>")]
pub async fn send(
    id: &str,
    form: Form<PhoneForm>,
    b: Browser<'_>,
    phone: Enabled<'_, PhoneFlow>,
    caller: Caller<'_>,
    _same: SameOrigin,
) -> Result<Result<Redirect, RetryAfter<Html>>, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let text = b.pages.text(b.lang, "phone_message");
    let typed = form.number.as_deref();
    let done = phone
        .0
        .send(b.flows, &id, &proof, typed, &text, &caller.client())
        .instrument(b.span.clone())
        .await;
    match done {
        Ok(()) => Ok(Ok(b.to_flow(&id, ""))),
        Err(e) => refused(&b, phone.0, &id, e, typed.unwrap_or("")).await,
    }
}

#[rocket::post("/flow/<id>/phone/code", data = "<form>")]
pub async fn code(
    id: &str,
    form: Form<PhoneForm>,
    b: Browser<'_>,
    phone: Enabled<'_, PhoneFlow>,
    caller: Caller<'_>,
    _same: SameOrigin,
) -> Result<Result<Redirect, RetryAfter<Html>>, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let typed = form.code.as_deref().unwrap_or("");
    let done = phone
        .0
        .check(b.flows, &id, &proof, typed, &caller.client())
        .instrument(b.span.clone())
        .await;
    match done {
        Ok(()) => Ok(Ok(b.to_flow(&id, ""))),
        Err(e) => refused(&b, phone.0, &id, e, "").await,
    }
}
