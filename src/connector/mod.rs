//! `auth-eid connector`: the citizen's local card agent. It listens on loopback only, answers
//! only allow-listed web origins (CORS), and turns a challenge and a PIN into a Web eID token
//! with the `beid` extension. See `docs/card.md`.

pub mod api;
pub mod service;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rocket::config::{Ident, LogLevel, SecretKey};
use rocket::fairing::AdHoc;
use rocket::http::Header;
use rocket::{Build, Rocket};

use crate::means::card::transport::{CardAccess, PcscAccess};
use crate::simulate::card::{EmulatedAccess, Profile};
use service::Connector;

#[derive(clap::Args, Debug)]
pub struct ConnectorArgs {
    /// Loopback address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:24801")]
    pub listen: SocketAddr,
    /// Web origin allowed to use the connector, e.g. https://id.example.org (repeatable).
    #[arg(long = "allow-origin", required = true)]
    pub allow_origin: Vec<String>,
    /// Use an in-process virtual card instead of PC/SC readers (tests and demos only).
    #[arg(long, value_enum)]
    pub emulated: Option<Profile>,
    /// State directory of the virtual card's test PKI (with --emulated).
    #[arg(long, requires = "emulated")]
    pub state_dir: Option<PathBuf>,
}

/// Checked connector settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("--listen {0}: the connector only listens on a loopback address")]
    NotLoopback(SocketAddr),
    #[error("--allow-origin {0:?}: give a web origin like https://id.example.org (no path)")]
    BadOrigin(String),
    #[error("--allow-origin {0:?}: a remote origin must use https (plain http only for localhost, 127.0.0.1 or [::1])")]
    PlainHttpRemote(String),
}

impl Settings {
    pub fn new(listen: SocketAddr, origins: &[String]) -> Result<Settings, SettingsError> {
        if !listen.ip().is_loopback() {
            return Err(SettingsError::NotLoopback(listen));
        }
        for o in origins {
            let canonical = url::Url::parse(o)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .map(|u| u.origin().ascii_serialization());
            if canonical.as_deref() != Some(o.as_str()) {
                return Err(SettingsError::BadOrigin(o.clone()));
            }
            // A page from a plain-http remote origin can be rewritten by anyone on its path, and
            // would then drive the card with the citizen's PIN.
            if o.starts_with("http://") && !is_loopback_origin(o) {
                return Err(SettingsError::PlainHttpRemote(o.clone()));
            }
        }
        Ok(Settings {
            listen,
            allowed_origins: origins.to_vec(),
        })
    }
}

fn is_loopback_origin(origin: &str) -> bool {
    url::Url::parse(origin).is_ok_and(|u| match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

/// The connector's Rocket application over `access`.
pub fn rocket(settings: Settings, access: Arc<dyn CardAccess>) -> Rocket<Build> {
    let config = rocket::Config {
        address: settings.listen.ip(),
        port: settings.listen.port(),
        secret_key: SecretKey::generate().unwrap_or_else(|| SecretKey::from(&[0u8; 64])),
        log_level: LogLevel::Critical,
        ident: Ident::none(),
        cli_colors: false,
        limits: rocket::data::Limits::default()
            .limit("json", rocket::data::ToByteUnit::kibibytes(16)),
        ..rocket::Config::default()
    };
    let allowed = settings.allowed_origins.clone();
    rocket::custom(config)
        .manage(settings)
        .manage(Connector::new(access))
        .mount(
            "/",
            rocket::routes![api::status, api::authenticate, api::preflight],
        )
        .register("/", rocket::catchers![api::error])
        .attach(AdHoc::on_response("cors", move |req, res| {
            let allowed = allowed.clone();
            Box::pin(async move {
                res.set_header(Header::new("Cache-Control", "no-store"));
                res.set_header(Header::new("Vary", "Origin"));
                if let Some(o) = req.headers().get_one("Origin") {
                    if allowed.iter().any(|a| a == o) {
                        res.set_header(Header::new("Access-Control-Allow-Origin", o.to_string()));
                    }
                }
            })
        }))
}

pub fn run(args: ConnectorArgs) -> ExitCode {
    let _log = crate::telemetry::init(crate::config::LogFormat::Text, "info");
    let settings = match Settings::new(args.listen, &args.allow_origin) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("auth-eid connector: {e}");
            return ExitCode::from(2);
        }
    };
    let access: Arc<dyn CardAccess> = match (args.emulated, &args.state_dir) {
        (None, _) => Arc::new(PcscAccess),
        (Some(profile), Some(dir)) => match EmulatedAccess::from_state_dir(profile, dir) {
            Ok(a) => Arc::new(a),
            Err(e) => {
                eprintln!("auth-eid connector: {e}");
                return ExitCode::from(1);
            }
        },
        (Some(_), None) => {
            eprintln!("auth-eid connector: --emulated needs --state-dir");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "auth-eid connector: listening on http://{} for {}",
        settings.listen,
        settings.allowed_origins.join(", ")
    );
    let result = rocket::execute(async move { rocket(settings, access).launch().await });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth-eid connector: {e}");
            ExitCode::from(1)
        }
    }
}
