//! The demo's second relying party (`/demo/api`): a portal that is not on ID Contact and uses
//! the session API end to end. It creates a session over HTTP with its (published, demo-only)
//! API key, sends the browser to `authenticationUrl`, receives the signed webhook and verifies
//! it as docs/rp-api.md tells a receiver to, and shows the session's status read back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::{Route, State};
use serde_json::{json, Value};

use crate::delivery::webhook;
use crate::demo_keys::{API_KEY, WEBHOOK_SECRET};
use crate::web::browser::{Browser, Html, PageError};

/// The demo relying party's id in the demo configuration.
pub const RP_ID: &str = "demo-portal";
/// Webhooks kept at most (oldest dropped).
const MAX_EVENTS: usize = 1000;

pub struct DemoApiParty {
    client: reqwest::Client,
    public_url: String,
    internal_url: String,
    /// The tags every means provides: the session asks for those, any means may be chosen.
    tags: Vec<String>,
    /// Session id -> (webhook body, whether its signature verified).
    events: Mutex<HashMap<String, (String, bool)>>,
}

impl DemoApiParty {
    pub fn new(client: reqwest::Client, public_url: String, internal_url: String) -> Self {
        DemoApiParty {
            client,
            public_url,
            internal_url,
            tags: Vec::new(),
            events: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    fn events(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, bool)>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sessions_url(&self) -> String {
        format!("{}/api/v1/sessions", self.internal_url)
    }
}

#[rocket::get("/api")]
fn index(party: &State<DemoApiParty>, b: Browser<'_>) -> Result<Html, PageError> {
    b.render("demo_api.html.tera", &json!({"tags": party.tags}))
}

#[derive(FromForm)]
struct StartForm {
    language: Option<String>,
}

#[rocket::post("/api/start", data = "<form>")]
async fn start(
    form: Form<StartForm>,
    party: &State<DemoApiParty>,
    b: Browser<'_>,
) -> Result<Redirect, Html> {
    let back = format!("{}/demo/api/done", party.public_url);
    let mut body = json!({
        "allowedProviders": ["test", "beid", "smart-id"],
        "requestedAttributes": party.tags,
        "callbackUrls": {"success": format!("{back}/success"), "abort": format!("{back}/abort"),
            "error": format!("{back}/error")},
        "externalReference": format!("demo-{}", crate::ids::random_token(6)),
    });
    if let Some(lang) = form.language.as_deref().filter(|l| !l.is_empty()) {
        body["language"] = json!(lang);
    }
    let answer = party
        .client
        .post(party.sessions_url())
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await;
    let error = match answer {
        Ok(r) if r.status() == reqwest::StatusCode::CREATED => match r.json::<Value>().await {
            Ok(v) if v["authenticationUrl"].is_string() => {
                let url = v["authenticationUrl"].as_str().unwrap_or_default();
                return Ok(Redirect::to(url.to_string()));
            }
            _ => "the API answered without authenticationUrl".to_string(),
        },
        Ok(r) => format!(
            "POST /api/v1/sessions answered {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ),
        Err(e) => format!("POST /api/v1/sessions failed: {e}"),
    };
    let page = b.render(
        "demo_api.html.tera",
        &json!({"tags": party.tags, "error": error}),
    );
    Err(page.unwrap_or(Html(Status::InternalServerError, error)))
}

/// The `Auth-Eid-Signature` header of a webhook.
struct Signature(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Signature {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let value = req.headers().get_one(webhook::SIGNATURE_HEADER);
        Outcome::Success(Signature(value.map(str::to_string)))
    }
}

/// The webhook receiver: verifies the signature (time window 300 s), keeps the event for the
/// page. A delivery that does not verify is kept as such and answered 400.
#[rocket::post("/api/webhook", data = "<body>")]
fn receive(signature: Signature, body: String, party: &State<DemoApiParty>) -> Status {
    let now = crate::store::now_millis() / 1000;
    let verified = signature.0.as_deref().is_some_and(|header| {
        webhook::verify(WEBHOOK_SECRET.as_bytes(), header, &body, now, 300).is_ok()
    });
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["sessionId"].as_str().map(str::to_string));
    if let Some(id) = id {
        let mut events = party.events();
        if events.len() >= MAX_EVENTS {
            events.clear();
        }
        events.insert(id, (body, verified));
    }
    if verified {
        Status::Ok
    } else {
        Status::BadRequest
    }
}

/// Where the session's callback brings the browser back: the webhook as received and the
/// session as `GET /api/v1/sessions/{id}` shows it.
#[rocket::get("/api/done/<outcome>?<sessionId>")]
#[allow(non_snake_case)] // the query parameter's wire name
async fn done(
    outcome: &str,
    sessionId: Option<&str>,
    party: &State<DemoApiParty>,
    b: Browser<'_>,
) -> Result<Html, PageError> {
    let Some(id) = sessionId.filter(|id| crate::ids::FlowId::parse(id).is_some()) else {
        return b.render("demo_api_done.html.tera", &json!({"error": "no sessionId"}));
    };
    // The webhook is delivered before the redirect is answered; wait a little if not yet.
    let mut event = None;
    for _ in 0..30 {
        event = party.events().get(id).cloned();
        if event.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("{}/{id}", party.sessions_url());
    let session = match party.client.get(url).bearer_auth(API_KEY).send().await {
        Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let subject: Vec<_> = session["subject"]
        .as_object()
        .map(|s| s.iter().map(|(k, v)| json!([k, v])).collect())
        .unwrap_or_default();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let data = json!({
        "outcome": outcome,
        "id": id,
        "status": session["status"],
        "ok": session["status"] == "SUCCESS",
        "subject": subject,
        "tracker": session["tracker"],
        "event": event.as_ref().map(|(body, _)| {
            pretty(&serde_json::from_str::<Value>(body).unwrap_or(Value::Null))
        }),
        "event_type": event.as_ref().and_then(|(body, _)| {
            serde_json::from_str::<Value>(body).ok()?["type"].as_str().map(str::to_string)
        }),
        "verified": event.as_ref().is_some_and(|(_, v)| *v),
        "session": pretty(&session),
    });
    b.render("demo_api_done.html.tera", &data)
}

pub fn routes() -> Vec<Route> {
    rocket::routes![index, start, receive, done]
}

/// The demo relying party in `config.toml` form, for the demo on `base`.
pub fn config_toml(base: &str) -> String {
    let key_hash: String = openssl::sha::sha256(API_KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        r#"
[[relying_party]]
id = "{RP_ID}"
display_name = "Demo portal (session API)"
means = ["test", "beid", "smart-id"]
callback_prefixes = ["{base}/demo/api/done/"]
webhook_url = "{base}/demo/api/webhook"
webhook_secret = "{WEBHOOK_SECRET}"
api_key_sha256 = "{key_hash}"
subject_in_webhook = true
validation_report = true
"#
    )
}
