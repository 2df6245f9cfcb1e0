//! The citizen's pages: open the flow, choose a means, the test means, cancel.
//! Each handler parses, calls one `FlowService` method, and maps the result.

use rocket::form::Form;
use rocket::response::Redirect;
use serde_json::json;
use tracing::Instrument;

use crate::flow::{FlowError, FlowState, FlowView, MeansOutcome};
use crate::ids::FlowId;
use crate::means::MeansId;

use super::browser::{flow_id, Browser, Enabled, Html, PageError, SameOrigin, StepForm};
use crate::flow::phone::PhoneFlow;

/// A refused step of a flow this browser owns keeps its "back" and "cancel" actions.
fn keep_flow(id: &FlowId, csrf: Option<&str>) -> impl FnOnce(FlowError) -> PageError {
    let flow = csrf.map(|c| (id.clone(), c.to_string()));
    move |error| match error {
        FlowError::WrongState | FlowError::MeansUnavailable | FlowError::PhoneFirst => {
            PageError { error, flow }
        }
        other => PageError::plain(other),
    }
}

fn means_path(b: &Browser<'_>, id: &FlowId, means: MeansId) -> Redirect {
    b.to_flow(id, &format!("/{}", means.path()))
}

/// A means as the choice shows it: icon, name, what the citizen needs, and whether this
/// device can use it (a card reader cannot be plugged into a phone).
fn means_choice(b: &Browser<'_>, means: MeansId) -> serde_json::Value {
    let key = means.path();
    let unusable = means == MeansId::Card && b.on_phone;
    json!({"id": key, "label": b.pages.text(b.lang, &format!("means_{key}")),
        "need": b.pages.text(b.lang, &format!("means_{key}_need")),
        "icon": format!("{}/static/{key}.svg", b.pages.base()),
        "unusable": unusable.then(|| b.pages.text(b.lang, "means_card_phone"))})
}

/// What every flow page shows about the flow: who is asking.
pub fn flow_data(b: &Browser<'_>, view: &FlowView) -> serde_json::Value {
    // Who is asking: a relying party of the session API by its display name, else the name
    // configured for the continuation's allow-list entry or the deployment's default.
    let service = b
        .flows
        .requester(view)
        .or_else(|| b.pages.site().requester(&view.continuation));
    json!({"id": view.id.as_str(), "csrf": view.csrf, "service": service, "rp": view.rp})
}

pub enum Opened {
    Page(Html),
    Continue(Box<Redirect>),
}

impl<'r> rocket::response::Responder<'r, 'static> for Opened {
    fn respond_to(self, req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        match self {
            Opened::Page(p) => p.respond_to(req),
            Opened::Continue(r) => (*r).respond_to(req),
        }
    }
}

/// A HEAD of any flow page answers 200 and does nothing. Link scanners and previewers send HEAD
/// before the citizen opens the link; answered by the GET route (Rocket's default for HEAD),
/// it would bind the flow to the scanner and lock the citizen out.
#[rocket::head("/flow/<_page..>")]
pub fn head(_page: std::path::PathBuf) -> (rocket::http::ContentType, &'static str) {
    (rocket::http::ContentType::HTML, "")
}

/// `client_url`: binds the flow to this browser on first visit, then shows where it stands.
#[rocket::get("/flow/<id>")]
pub async fn open(
    id: &str,
    b: Browser<'_>,
    phone: Option<Enabled<'_, PhoneFlow>>,
) -> Result<Opened, PageError> {
    let id = flow_id(id)?;
    let opened = b
        .flows
        .open(&id, b.cookie())
        .instrument(b.span.clone())
        .await?;
    // The cookie of this very request, set just now or brought along.
    let cookie = opened
        .new_cookie
        .clone()
        .or_else(|| b.cookie().map(str::to_string));
    if let Some(value) = opened.new_cookie {
        b.set_cookie(&id, value);
    }
    let view = opened.view;
    match &view.state {
        FlowState::Delivered { .. } => Err(FlowError::Finished.into()),
        FlowState::Authenticating { means, .. } => {
            Ok(Opened::Continue(Box::new(means_path(&b, &id, *means))))
        }
        // The phone step first, when it applies (docs/phone.md).
        FlowState::Created if view.phone_pending => {
            let phone = phone.ok_or(FlowError::Corrupt)?;
            match super::phone::start_page(&b, phone.0, &view, cookie.as_deref()).await? {
                Some(page) => Ok(Opened::Page(page.0)),
                None => Err(FlowError::WrongState.into()),
            }
        }
        FlowState::Created | FlowState::PhoneVerified | FlowState::MeansChosen { .. } => {
            let means: Vec<_> = view.able.iter().map(|m| means_choice(&b, *m)).collect();
            let labels: Vec<_> = view
                .attributes
                .iter()
                .map(|t| b.pages.label(b.lang, t))
                .collect();
            let mut data = flow_data(&b, &view);
            data["attributes"] = json!(labels);
            data["means"] = json!(means);
            b.render("start.html.tera", &data).map(Opened::Page)
        }
    }
}

#[rocket::post("/flow/<id>/means", data = "<form>")]
pub async fn choose(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let means = form
        .means
        .as_deref()
        .and_then(MeansId::parse)
        .ok_or(FlowError::MeansUnavailable)?;
    b.flows
        .choose_means(&id, &proof, means)
        .instrument(b.span.clone())
        .await
        .map_err(keep_flow(&id, proof.csrf))?;
    Ok(means_path(&b, &id, means))
}

/// "Choose another way" on a means page: back to the choice, the flow still open.
#[rocket::post("/flow/<id>/choose", data = "<form>")]
pub async fn choose_again(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    b.flows
        .choose_again(&id, &proof)
        .instrument(b.span.clone())
        .await
        .map_err(keep_flow(&id, proof.csrf))?;
    Ok(b.to_flow(&id, ""))
}

#[rocket::post("/flow/<id>/cancel", data = "<form>")]
pub async fn cancel(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let location = b
        .flows
        .complete(&id, &proof, MeansOutcome::Cancelled)
        .instrument(b.span.clone())
        .await?;
    Ok(Redirect::to(location))
}

/// The flow as the page of `means` shows it; a flow elsewhere goes back to its start page.
pub async fn means_view(
    b: &Browser<'_>,
    id: &FlowId,
    means: MeansId,
) -> Result<Result<FlowView, Opened>, PageError> {
    let view = b
        .flows
        .view_for(id, b.cookie())
        .instrument(b.span.clone())
        .await?;
    match view.state {
        FlowState::Delivered { .. } => Err(FlowError::Finished.into()),
        FlowState::MeansChosen { means: m } | FlowState::Authenticating { means: m, .. }
            if m == means =>
        {
            Ok(Ok(view))
        }
        _ => {
            let start = format!("{}/flow/{}", b.pages.base(), id);
            Ok(Err(Opened::Continue(Box::new(Redirect::to(start)))))
        }
    }
}

/// The test means: a confirmation page listing exactly what will be shared.
#[rocket::get("/flow/<id>/test")]
pub async fn test_page(id: &str, b: Browser<'_>) -> Result<Opened, PageError> {
    let id = flow_id(id)?;
    let view = match means_view(&b, &id, MeansId::Test).await? {
        Ok(view) => view,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let shared: Vec<_> = b
        .flows
        .test_preview(&view.attributes)
        .into_iter()
        .zip(&view.attributes)
        .map(|((_, value), tag)| json!({"label": b.pages.label(b.lang, tag), "value": value}))
        .collect();
    let mut data = flow_data(&b, &view);
    data["shared"] = json!(shared);
    b.render("test_confirm.html.tera", &data).map(Opened::Page)
}

#[rocket::post("/flow/<id>/test", data = "<form>")]
pub async fn test_confirm(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    let location = b
        .flows
        .complete_test(&id, &proof)
        .instrument(b.span.clone())
        .await
        .map_err(keep_flow(&id, proof.csrf))?;
    b.span
        .in_scope(|| tracing::warn!("the test means completed a flow: demo and test use only"));
    Ok(Redirect::to(location))
}
