//! The Smart-ID device-link pages (RP API v3): start an attempt, the QR code as SVG (made
//! afresh on each request; the page asks every second), the Web2App hop to the app, and the
//! app's callback. Each handler parses, calls one `SmartIdFlow` method, and maps the result.

use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::response::Redirect;
use tracing::Instrument;

use crate::flow::LinkKind;
use crate::flow::SmartIdFlow;

use super::browser::{flow_id, Browser, Enabled, PageError, SameOrigin, StepForm};
use super::limits::Caller;
use super::pages::Lang;

/// ISO 639-2 for SK's fallback page.
fn iso639_2(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "eng",
        Lang::Nl => "nld",
        Lang::Fr => "fra",
        // Not known to be among the languages of SK's page; English is the safe choice.
        Lang::De => "eng",
    }
}

/// The QR code of `link` as an SVG document (black modules on white, quiet zone included).
pub fn qr_svg(link: &str) -> Option<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

#[rocket::post("/flow/<id>/smart-id/qr", data = "<form>")]
pub async fn start(
    id: &str,
    form: Form<StepForm>,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
    caller: Caller<'_>,
    _same: SameOrigin,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let proof = b.proof(form.csrf.as_deref());
    sid.0
        .start_device_link(b.flows, &id, &proof, &caller.client())
        .instrument(b.span.clone())
        .await?;
    Ok(b.to_flow(&id, "/smart-id/wait"))
}

/// The current QR code; 204 while SK has not answered the start yet.
#[rocket::get("/flow/<id>/smart-id/qr.svg")]
pub async fn qr(
    id: &str,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> Result<(Status, (ContentType, String)), PageError> {
    let id = flow_id(id)?;
    let link = sid
        .0
        .device_link(b.flows, &id, b.cookie(), LinkKind::Qr, iso639_2(b.lang))
        .instrument(b.span.clone())
        .await?;
    Ok(match link.as_deref().and_then(qr_svg) {
        Some(svg) => (Status::Ok, (ContentType::SVG, svg)),
        None => (Status::NoContent, (ContentType::SVG, String::new())),
    })
}

/// "Open Smart-ID" on a phone: on to the app's Web2App link (back to the page until ready).
#[rocket::get("/flow/<id>/smart-id/app")]
pub async fn app(
    id: &str,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    let link = sid
        .0
        .device_link(
            b.flows,
            &id,
            b.cookie(),
            LinkKind::Web2App,
            iso639_2(b.lang),
        )
        .instrument(b.span.clone())
        .await?;
    Ok(match link {
        Some(link) => Redirect::to(link),
        None => b.to_flow(&id, "/smart-id/wait"),
    })
}

/// Where the Smart-ID app sends the browser back after a Web2App login.
#[rocket::get("/flow/<id>/smart-id/callback?<state>&<sessionSecretDigest>&<userChallengeVerifier>")]
#[allow(non_snake_case)] // SK's parameter names
pub async fn callback(
    id: &str,
    state: Option<&str>,
    sessionSecretDigest: Option<&str>,
    userChallengeVerifier: Option<&str>,
    b: Browser<'_>,
    sid: Enabled<'_, SmartIdFlow>,
) -> Result<Redirect, PageError> {
    let id = flow_id(id)?;
    sid.0
        .callback(
            b.flows,
            &id,
            b.cookie(),
            state.unwrap_or(""),
            sessionSecretDigest.unwrap_or(""),
            userChallengeVerifier.unwrap_or(""),
        )
        .instrument(b.span.clone())
        .await?;
    Ok(b.to_flow(&id, "/smart-id/wait"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_link_fits_in_an_svg_qr_code() {
        let link = format!(
            "https://smart-id.com/device-link?deviceLinkType=QR&elapsedSeconds=22&sessionToken=\
             wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode={}",
            "OY1eHaD4UYedrBwtqUbSkpa0w7ttm4FllPkCD_3wlE0"
        );
        let svg = qr_svg(&link).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"));
        assert_ne!(qr_svg(&link.replace("=22", "=23")), Some(svg));
    }
}
