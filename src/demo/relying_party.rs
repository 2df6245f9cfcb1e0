//! A demo relying party: it plays the ID Contact core (calls `start_authentication` over HTTP)
//! and a communication plugin (receives the result by redirect or on its attr_url, decrypts it
//! with the demo receiver key and verifies it with the plugin's public key).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use josekit::jwe::{JweDecrypter, RSA_OAEP};
use josekit::jws::{JwsVerifier, ES256, RS256};
use rocket::form::{Form, FromForm};
use rocket::response::Redirect;
use rocket::{Route, State};
use serde_json::{json, Value};

use crate::app::AppError;
use crate::config::{Config, SigningAlg};
use crate::demo_keys;
use crate::ids::random_token;
use crate::web::browser::{Browser, Html};

/// Received attr_url deliveries kept at most (oldest dropped).
const MAX_RECEIVED: usize = 1000;

pub struct DemoRelyingParty {
    client: reqwest::Client,
    public_url: String,
    internal_url: String,
    tags: Vec<Value>,
    /// The demo tags Smart-ID provides (a start with exactly those, beside its test codes).
    sid_tags: Vec<String>,
    decrypter: Box<dyn JweDecrypter>,
    verifier: Box<dyn JwsVerifier>,
    received: Mutex<HashMap<String, String>>,
    /// The emulated card behind the demo's connector, when the card means is on.
    pub card: Option<std::sync::Arc<crate::simulate::card::EmulatedAccess>>,
    /// The phone step's demo sender: the page shows the last code it "sent".
    pub codes: Option<std::sync::Arc<crate::phone::sender::DemoSender>>,
}

impl DemoRelyingParty {
    pub fn new(config: &Config) -> Result<Self, AppError> {
        let key_err = |e| AppError::Keys(crate::token::TokenError::Key("demo", e));
        let decrypter = RSA_OAEP
            .decrypter_from_pem(demo_keys::RECEIVER_PRIVATE)
            .map_err(key_err)?;
        let public = config.signing.public_pem.as_bytes();
        let verifier: Box<dyn JwsVerifier> = match config.signing.alg {
            SigningAlg::Rs256 => Box::new(RS256.verifier_from_pem(public).map_err(key_err)?),
            SigningAlg::Es256 => Box::new(ES256.verifier_from_pem(public).map_err(key_err)?),
        };
        Ok(DemoRelyingParty {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .no_proxy()
                .build()?,
            public_url: config.public_url.base().to_string(),
            internal_url: config.internal_url.base().to_string(),
            // Pre-checked: the tags every enabled means provides, so each means is offered.
            tags: config
                .means_catalog()
                .tags()
                .into_iter()
                .map(|(tag, by_all)| json!({"name": tag.to_string(), "checked": by_all}))
                .collect(),
            sid_tags: config
                .smart_id
                .attributes
                .keys()
                .filter(|t| {
                    config.smart_id.enabled && config.test_means.attributes.contains_key(*t)
                })
                .map(|t| t.to_string())
                .collect(),
            decrypter: Box::new(decrypter),
            verifier,
            received: Mutex::new(HashMap::new()),
            card: None,
            codes: None,
        })
    }

    /// Decrypts and verifies a result token; the claims as (name, JSON text) rows.
    fn open(&self, token: &str) -> Result<serde_json::Map<String, Value>, String> {
        let (plain, _) = josekit::jwe::deserialize_compact(token, &*self.decrypter)
            .map_err(|e| format!("decryption failed: {e}"))?;
        let outer: Value =
            serde_json::from_slice(&plain).map_err(|_| "plaintext is not JSON".to_string())?;
        let njwt = outer["njwt"].as_str().ok_or("no njwt in the plaintext")?;
        let (claims, _) = josekit::jwt::decode_with_verifier(njwt, &*self.verifier)
            .map_err(|e| format!("signature check failed: {e}"))?;
        Ok(claims.claims_set().clone())
    }

    /// Tries left on the demo card's PIN (3 when fresh; 0 is blocked).
    fn card_tries(&self) -> Option<u8> {
        self.card.as_ref().map(|c| c.card().tries_left())
    }

    fn index_data(&self) -> Value {
        let mut data =
            json!({"tags": self.tags, "sid_tags": self.sid_tags, "card_tries": self.card_tries()});
        if let Some(codes) = &self.codes {
            // Only the demo sender keeps codes: there is no phone, and the demo needs none.
            let last = codes.latest().map(|(to, text)| {
                let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
                json!({"to": crate::flow::phone::mask(&to), "code": code})
            });
            data["phone_demo"] = json!({"last": last});
        }
        data
    }
}

/// The result as a person reads it: a status badge, the attributes as a table, every claim
/// with its times in ISO 8601 (UTC) beside the number.
fn readable(claims: &serde_json::Map<String, Value>) -> Value {
    let iso = |v: &Value| {
        v.as_i64()
            .and_then(|t| rocket::time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&rocket::time::format_description::well_known::Rfc3339)
                    .ok()
            })
    };
    let rows: Vec<_> = claims
        .iter()
        .map(|(k, v)| {
            let time = matches!(k.as_str(), "iat" | "exp" | "nbf")
                .then(|| iso(v))
                .flatten();
            json!([k, v.to_string(), time])
        })
        .collect();
    let attributes: Vec<_> = claims
        .get("attributes")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .map(|(k, v)| json!([k, v.as_str().map_or_else(|| v.to_string(), str::to_string)]))
                .collect()
        })
        .unwrap_or_default();
    let status = claims.get("status").and_then(Value::as_str).unwrap_or("");
    json!({"claims": rows, "attributes": attributes, "status": status, "ok": status == "succes"})
}

impl DemoRelyingParty {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.received.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[rocket::get("/")]
fn index(
    rp: &State<DemoRelyingParty>,
    b: Browser<'_>,
) -> Result<Html, crate::web::browser::PageError> {
    b.render("demo_index.html.tera", &rp.index_data())
}

/// "Reset the demo card": its PIN tries back to three (a real card needs its PUK at the town
/// hall).
#[rocket::post("/card/reset")]
fn card_reset(rp: &State<DemoRelyingParty>, _same: crate::web::browser::SameOrigin) -> Redirect {
    if let Some(card) = &rp.card {
        card.card().unblock();
    }
    Redirect::to(format!("{}/demo/", rp.public_url))
}

#[derive(FromForm)]
struct StartForm {
    tags: Vec<String>,
    delivery: Option<String>,
}

#[rocket::post("/start", data = "<form>")]
async fn start(
    form: Form<StartForm>,
    rp: &State<DemoRelyingParty>,
    b: Browser<'_>,
) -> Result<Redirect, Html> {
    let slot = random_token(9);
    let mut body = json!({
        "attributes": form.tags,
        "continuation": format!("{}/demo/result?slot={slot}", rp.public_url),
    });
    if form.delivery.as_deref() == Some("attr_url") {
        body["attr_url"] = json!(format!("{}/demo/receive/{slot}", rp.internal_url));
    }
    let url = format!("{}/start_authentication", rp.internal_url);
    let answer = rp.client.post(url).json(&body).send().await;
    let error = match answer {
        Ok(r) if r.status().is_success() => match r.json::<Value>().await {
            Ok(v) if v["client_url"].is_string() => {
                return Ok(Redirect::to(
                    v["client_url"].as_str().unwrap_or_default().to_string(),
                ));
            }
            _ => "the plugin answered without client_url".to_string(),
        },
        Ok(r) => format!(
            "start_authentication answered {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ),
        Err(e) => format!("start_authentication failed: {e}"),
    };
    let mut data = rp.index_data();
    data["error"] = json!(error);
    let page = b.render("demo_index.html.tera", &data);
    Err(page.unwrap_or(Html(rocket::http::Status::InternalServerError, error)))
}

/// The demo's attr_url: keeps the token for the result page.
#[rocket::post("/receive/<slot>", data = "<token>")]
fn receive(slot: &str, token: String, rp: &State<DemoRelyingParty>) -> &'static str {
    let mut received = rp.lock();
    if received.len() >= MAX_RECEIVED {
        received.clear();
    }
    received.insert(slot.to_string(), token);
    "ok"
}

#[rocket::get("/result?<slot>&<result>")]
async fn result(
    slot: Option<&str>,
    result: Option<&str>,
    rp: &State<DemoRelyingParty>,
    b: Browser<'_>,
) -> Html {
    let (token, delivery) = match result {
        Some(t) => (Some(t.to_string()), "redirect (?result=)"),
        None => {
            // The server-side POST usually lands before the browser; wait a little if not.
            let mut found = None;
            for _ in 0..30 {
                found = slot.and_then(|s| rp.lock().get(s).cloned());
                if found.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (found, "server-side POST to attr_url")
        }
    };
    let data = match token.as_deref().map(|t| rp.open(t)) {
        Some(Ok(claims)) => {
            json!({"delivery": delivery, "token": token, "result": readable(&claims)})
        }
        Some(Err(e)) => json!({"error": e}),
        None => json!({"error": "no result arrived (yet): reload this page in a moment"}),
    };
    b.render("demo_result.html.tera", &data)
        .unwrap_or_else(|_| Html(rocket::http::Status::InternalServerError, String::new()))
}

pub fn routes() -> Vec<Route> {
    rocket::routes![index, start, receive, result, card_reset]
}
