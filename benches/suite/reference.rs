//! The reference for scenario 1: a stateless Rocket endpoint that answers `POST
//! /start_authentication` the way ID Contact's own test plugin (auth-test) does. It checks that
//! every tag is one it knows, then packs the tags and the continuation into `client_url` (base64
//! path segments) instead of storing a flow, and answers the same `{"client_url": ...}` shape.
//!
//! A plain Rocket 0.5 application with Rocket's defaults as such a plugin ships: the release
//! profile's settings (workers = cores, keep-alive, Shield's default headers, logging off), a
//! typed `Json<T>` guard for the request and a `Json<T>` responder. It runs in its own process
//! (the suite binary started again with [`FLAG`]), so it gets the same share of the machine as
//! the plugin it is compared with, and so it lives with the suite and not in the product.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::{Deserialize, Serialize};

use crate::plugin::Process;

/// `suite --stateless-reference PORT` serves the reference on 127.0.0.1:PORT.
pub const FLAG: &str = "--stateless-reference";

/// The wire types as auth-test takes them from id-contact-proto.
#[derive(Deserialize)]
struct StartAuthRequest {
    attributes: Vec<String>,
    continuation: String,
    attr_url: Option<String>,
}

#[derive(Serialize)]
struct StartAuthResponse {
    client_url: String,
}

struct Settings {
    server_url: String,
    /// Tag to value, as auth-test's configuration holds them.
    attributes: HashMap<String, String>,
}

#[rocket::post("/start_authentication", data = "<request>")]
fn start_authentication(
    settings: &State<Settings>,
    request: Json<StartAuthRequest>,
) -> Result<Json<StartAuthResponse>, Status> {
    // auth-test answers 500 for an unknown tag; a 400 costs the same and is what we do.
    if !request
        .attributes
        .iter()
        .all(|a| settings.attributes.contains_key(a))
    {
        return Err(Status::BadRequest);
    }
    let tags = serde_json::to_vec(&request.attributes).map_err(|_| Status::InternalServerError)?;
    let attributes = URL_SAFE.encode(tags);
    let continuation = URL_SAFE.encode(&request.continuation);
    let base = &settings.server_url;
    let client_url = match &request.attr_url {
        Some(attr_url) => format!(
            "{base}/confirm/{attributes}/{continuation}/{}",
            URL_SAFE.encode(attr_url)
        ),
        None => format!("{base}/confirm/{attributes}/{continuation}"),
    };
    Ok(Json(StartAuthResponse { client_url }))
}

/// Serves the reference until the process is killed.
pub fn serve(port: u16) {
    let config = rocket::Config {
        address: Ipv4Addr::LOCALHOST.into(),
        port,
        // The product's build turns on Rocket's `secrets` feature for the whole build, and
        // Rocket then refuses a release launch without a key. Nothing here uses it.
        secret_key: rocket::config::SecretKey::generate().expect("a random key"),
        // The release defaults even when the suite itself is a debug build (`--quick`).
        ..rocket::Config::release_default()
    };
    let settings = Settings {
        server_url: format!("http://127.0.0.1:{port}"),
        attributes: [("email", "an@example.org"), ("name", "An Peeters")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let rocket = rocket::custom(config)
        .manage(settings)
        .mount("/", rocket::routes![start_authentication]);
    if let Err(e) = rocket::execute(rocket.launch()) {
        panic!("the stateless reference did not start: {e}");
    }
}

/// The reference in its own process on `port`, once it accepts connections.
pub fn start(dir: &Path, port: u16) -> Process {
    let me = std::env::current_exe().expect("the suite's own path");
    let log = dir.join(format!("reference-{port}.txt"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Process::spawn(
        &me.display().to_string(),
        &[FLAG, &port.to_string()],
        addr,
        &log,
    )
}
