//! The card's routes: its page, a challenge for the connector, and the signed token.
//! The page's script talks to the citizen's connector; these routes only see JSON from it.

use rocket::data::{Data, ToByteUnit};
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::Request;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::Instrument;

use crate::flow::card::{CardFlow, CardStepError, Refusal};
use crate::flow::FlowError;
use crate::limits::{Budget, Limited};
use crate::means::card::WebEidToken;
use crate::means::MeansId;

use super::browser::{flow_id, page_status, Browser, Enabled, Html, PageError, SameOrigin};
use super::flow::{means_view, Opened};
use super::headers::CSP;
use super::limits::{Caller, RetryAfter};

/// A token with certificates, identity, address and an optional photo stays well below this.
const TOKEN_BODY_LIMIT: usize = 256 * 1024;

/// The card page may also reach the citizen's connector.
pub struct CardPage(Html, String);

impl<'r> Responder<'r, 'static> for CardPage {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        let csp = CSP.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {}", self.1),
        );
        res.set_header(Header::new("Content-Security-Policy", csp));
        Ok(res)
    }
}

#[rocket::get("/flow/<id>/card")]
pub async fn page(
    id: &str,
    b: Browser<'_>,
    card: Enabled<'_, CardFlow>,
) -> Result<Result<CardPage, Opened>, PageError> {
    let id = flow_id(id)?;
    let view = match means_view(&b, &id, MeansId::Card).await? {
        Ok(view) => view,
        Err(elsewhere) => return Ok(Err(elsewhere)),
    };
    let mut data = super::flow::flow_data(&b, &view);
    data["connector"] = json!(card.0.connector_url());
    data["download"] = json!(b.pages.site().connector_download);
    Ok(Ok(CardPage(
        b.render("card.html.tera", &data)?,
        card.0.connector_url().to_string(),
    )))
}

/// JSON for the page's script: `{challenge}`, `{location}`, or `{error, message, location?}`;
/// over a rate limit, a 429 with `Retry-After`.
pub struct CardJson(Status, Value);

impl<'r> Responder<'r, 'static> for CardJson {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        (self.0, Json(self.1)).respond_to(req)
    }
}

type CardReply = RetryAfter<CardJson>;

impl From<CardJson> for CardReply {
    fn from(json: CardJson) -> Self {
        RetryAfter(json, None)
    }
}

fn flow_error(b: &Browser<'_>, e: &FlowError) -> CardJson {
    let (status, key) = page_status(e);
    let status = if status == Status::Ok {
        Status::Conflict
    } else {
        status
    };
    CardJson(
        status,
        json!({"error": "flow", "message": b.pages.text(b.lang, key)}),
    )
}

/// The page's script shows the message; the header says when to try again.
fn limited(b: &Browser<'_>, limited: Limited) -> CardReply {
    let minutes = limited.seconds().div_ceil(60);
    let message = b.pages.text_n(b.lang, "limited_body", minutes);
    let json = CardJson(
        Status::TooManyRequests,
        json!({"error": "rate_limited", "message": message}),
    );
    RetryAfter(json, Some(limited.seconds()))
}

#[derive(Deserialize)]
pub struct NonceRequest {
    csrf: Option<String>,
}

#[rocket::post("/flow/<id>/card/nonce", data = "<body>")]
pub async fn nonce(
    id: &str,
    body: Json<NonceRequest>,
    b: Browser<'_>,
    card: Enabled<'_, CardFlow>,
    _same: SameOrigin,
) -> CardJson {
    let proof = b.proof(body.csrf.as_deref());
    let result = match flow_id(id) {
        Ok(id) => {
            card.0
                .challenge(b.flows, &id, &proof)
                .instrument(b.span.clone())
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(challenge) => CardJson(Status::Ok, json!({"challenge": challenge})),
        Err(e) => flow_error(&b, &e),
    }
}

#[derive(Deserialize)]
struct TokenRequest {
    csrf: Option<String>,
    token: WebEidToken,
}

#[rocket::post("/flow/<id>/card/token", data = "<body>")]
pub async fn token(
    id: &str,
    body: Data<'_>,
    b: Browser<'_>,
    card: Enabled<'_, CardFlow>,
    caller: Caller<'_>,
    _same: SameOrigin,
) -> CardReply {
    let refused = |status, code: &str| {
        CardReply::from(CardJson(
            status,
            json!({"error": code, "message": b.pages.text(b.lang, "card_refused")}),
        ))
    };
    let Ok(bytes) = body.open(TOKEN_BODY_LIMIT.bytes()).into_bytes().await else {
        return refused(Status::BadRequest, "unreadable");
    };
    if !bytes.is_complete() {
        return refused(Status::PayloadTooLarge, "too_large");
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&bytes) else {
        return refused(Status::BadRequest, "malformed_token");
    };
    let id = match flow_id(id) {
        Ok(id) => id,
        Err(e) => return flow_error(&b, &e).into(),
    };
    // Each token is a PIN entered on a card: counted per flow and per client address.
    let counted = caller.check(Budget::CardSubmit, id.as_str(), Budget::CardSubmitIp);
    if let Err(l) = counted.await {
        return limited(&b, l);
    }
    let proof = b.proof(request.csrf.as_deref());
    match card
        .0
        .submit(b.flows, &id, &proof, &request.token)
        .instrument(b.span.clone())
        .await
    {
        Ok(location) => CardJson(Status::Ok, json!({"location": location})).into(),
        Err(Refusal {
            error: CardStepError::Flow(e),
            ..
        }) => flow_error(&b, &e).into(),
        Err(Refusal { location, .. }) => {
            let mut body =
                json!({"error": "refused", "message": b.pages.text(b.lang, "card_refused")});
            if let Some(location) = location {
                body["location"] = json!(location);
            }
            CardJson(Status::UnprocessableEntity, body).into()
        }
    }
}
