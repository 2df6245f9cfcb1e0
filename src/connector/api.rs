//! The connector's HTTP API: `GET /v1/status`, `POST /v1/authenticate`, CORS preflight. Only
//! allow-listed origins get past [`AllowedOrigin`]; everyone else gets 403 before any card I/O.

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder};
use rocket::serde::json::{json, Json};
use rocket::{Request, Response, State};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::service::{parse_challenge, Connector, ConnectorError};
use super::Settings;
use crate::means::card::beid::Pin;
use crate::means::card::token::WebEidToken;

/// The request's `Origin`, present and on the allow-list, on a request addressed to the
/// loopback name (a `Host` check against DNS rebinding).
pub struct AllowedOrigin(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AllowedOrigin {
    type Error = ConnectorError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let refuse = Outcome::Error((Status::Forbidden, ConnectorError::OriginNotAllowed));
        let Some(settings) = req.rocket().state::<Settings>() else {
            return refuse;
        };
        let host_ok = req.headers().get_one("Host").is_some_and(|h| {
            let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
            matches!(name, "127.0.0.1" | "localhost" | "[::1]")
        });
        let mut origins = req.headers().get("Origin");
        match (origins.next(), origins.next()) {
            (Some(o), None) if host_ok && settings.allowed_origins.iter().any(|a| a == o) => {
                Outcome::Success(AllowedOrigin(o.to_string()))
            }
            _ => refuse,
        }
    }
}

/// A JSON error `{"error", "message"}` (plus `tries_left` for a wrong PIN).
pub struct ApiError(pub ConnectorError);

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut body = json!({"error": self.0.code(), "message": self.0.to_string()});
        if let ConnectorError::WrongPin { tries_left } = self.0 {
            body["tries_left"] = json!(tries_left);
        }
        Response::build_from(Json(body).respond_to(req)?)
            .status(Status::new(self.0.http_status()))
            .ok()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn origin(guard: Result<AllowedOrigin, ConnectorError>) -> Result<String, ApiError> {
    guard.map(|o| o.0).map_err(ApiError)
}

/// `reader`: report the card in this reader instead of the first reader with a card.
#[rocket::get("/v1/status?<reader>")]
pub async fn status(
    allowed: Result<AllowedOrigin, ConnectorError>,
    reader: Option<String>,
    connector: &State<Connector>,
) -> ApiResult<super::service::Status> {
    origin(allowed)?;
    connector.status(reader).await.map(Json).map_err(ApiError)
}

/// The PIN as it arrives; wiped on drop, never printed.
pub struct RawPin(Zeroizing<String>);

impl<'de> Deserialize<'de> for RawPin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| RawPin(Zeroizing::new(s)))
    }
}

impl std::fmt::Debug for RawPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// No Debug: the body holds the PIN and the challenge, which are never logged.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateBody {
    /// Base64 challenge nonce from the server.
    pub challenge: String,
    pub pin: RawPin,
    #[serde(default)]
    pub reader: Option<String>,
    #[serde(default)]
    pub photo: bool,
}

#[rocket::post("/v1/authenticate", data = "<body>")]
pub async fn authenticate(
    allowed: Result<AllowedOrigin, ConnectorError>,
    body: Result<Json<AuthenticateBody>, rocket::serde::json::Error<'_>>,
    connector: &State<Connector>,
) -> ApiResult<WebEidToken> {
    let origin = origin(allowed)?;
    let bad = |m| ApiError(ConnectorError::BadInput(m));
    let body = body.map_err(|_| bad("the body must be JSON {challenge, pin, reader?, photo?}"))?;
    let body = body.into_inner();
    let challenge = parse_challenge(&body.challenge).map_err(ApiError)?;
    let pin = Pin::parse(&body.pin.0).map_err(|_| bad("the PIN is 4 to 12 digits"))?;
    let result = connector
        .authenticate(origin.clone(), challenge, pin, body.reader, body.photo)
        .await;
    // Never the PIN or the challenge; the origin and the outcome only.
    match &result {
        Ok(_) => tracing::info!(%origin, "card authentication done"),
        Err(e) => tracing::info!(%origin, error = e.code(), "card authentication failed"),
    }
    result.map(Json).map_err(ApiError)
}

/// CORS preflight: allowed origins get the methods and headers they may use.
pub struct Preflight {
    private_network: bool,
}

impl<'r> Responder<'r, 'static> for Preflight {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.status(Status::NoContent)
            .header(Header::new("Access-Control-Allow-Methods", "GET, POST"))
            .header(Header::new("Access-Control-Allow-Headers", "Content-Type"))
            .header(Header::new("Access-Control-Max-Age", "600"));
        if self.private_network {
            // Chrome's Private Network Access: a public page may talk to this loopback agent.
            res.header(Header::new("Access-Control-Allow-Private-Network", "true"));
        }
        res.ok()
    }
}

pub struct PrivateNetworkAsked(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PrivateNetworkAsked {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let asked = req
            .headers()
            .get_one("Access-Control-Request-Private-Network")
            == Some("true");
        Outcome::Success(PrivateNetworkAsked(asked))
    }
}

#[rocket::options("/v1/<_path..>")]
pub fn preflight(
    _path: std::path::PathBuf,
    allowed: Result<AllowedOrigin, ConnectorError>,
    pna: PrivateNetworkAsked,
) -> Result<Preflight, ApiError> {
    origin(allowed)?;
    Ok(Preflight {
        private_network: pna.0,
    })
}

#[rocket::catch(default)]
pub fn error(status: Status, _req: &Request<'_>) -> (Status, Json<serde_json::Value>) {
    let code = match status.code {
        404 => "not_found",
        c if c < 500 => "bad_request",
        _ => "internal",
    };
    (
        status,
        Json(json!({"error": code, "message": status.reason_lossy()})),
    )
}
