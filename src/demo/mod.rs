//! `auth-eid demo`: the shipped `config.toml` (embedded) with the demo keys written to a state
//! directory, on a loopback port, plus a demo relying party under `/demo/`.

mod api_party;
mod card;
mod relying_party;
mod smart_id;

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use rocket::{Build, Rocket};

use crate::app::{self, AppError};
use crate::config::{self, Config};
use crate::demo_keys;

pub use card::connector_port;
pub use relying_party::DemoRelyingParty;

const DEMO_CONFIG: &str = include_str!("../../config.toml");

/// Writes the demo keys into `dir/demo-keys/` (where the embedded config expects them).
fn write_keys(dir: &Path) -> std::io::Result<()> {
    let keys = dir.join("demo-keys");
    std::fs::create_dir_all(&keys)?;
    std::fs::write(
        keys.join("signing-demo.key.pem"),
        demo_keys::SIGNING_PRIVATE,
    )?;
    std::fs::write(
        keys.join("receiver-demo.pub.pem"),
        demo_keys::RECEIVER_PUBLIC,
    )?;
    Ok(())
}

/// The demo configuration for `port`, with its files under `state_dir` (or a new temp dir).
pub fn config(port: u16, state_dir: Option<PathBuf>) -> Result<Config, String> {
    let dir = match state_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("auth-eid-demo-{}", std::process::id())),
    };
    write_keys(&dir).map_err(|e| format!("cannot write demo files to {}: {e}", dir.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let figment = config::with_env(Figment::from(Toml::string(DEMO_CONFIG)))
        .merge(Serialized::default("server.port", port))
        .merge(Serialized::default("public_url", &base))
        .merge(Serialized::default("internal_url", &base))
        .merge(Serialized::default(
            "allow.continuation",
            vec![format!("{base}/demo/")],
        ))
        .merge(Serialized::default(
            "allow.attr_url",
            vec![format!("{base}/demo/")],
        ))
        .merge(Toml::string(&card::config_toml(&dir.join("card"), port)?))
        .merge(Toml::string(&api_party::config_toml(&base)))
        // Codes of the phone step go to the demo page (AUTH_EID_PHONE__ENABLED=true turns the
        // step on; docs/phone.md).
        .merge(Serialized::default("phone.sender", "demo"));
    // Smart-ID against the in-process simulator.
    let figment = smart_id::merge(figment, &dir)?;
    Config::from_figment(figment, &dir).map_err(|e| e.to_string())
}

/// The plugin plus the demo relying party.
pub async fn build(config: Config) -> Result<Rocket<Build>, AppError> {
    let mut rp = DemoRelyingParty::new(&config)?;
    if config.card.enabled {
        let origin = config.public_url.origin_string();
        let card =
            card::start_connector(&config.base_dir.join("card"), config.server.port, &origin)
                .await
                .map_err(AppError::Demo)?;
        rp.card = Some(card);
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .no_proxy()
        .build()?;
    let common_tags = config.means_catalog().tags().into_iter();
    let api_party = api_party::DemoApiParty::new(
        client,
        config.public_url.base().to_string(),
        config.internal_url.base().to_string(),
    )
    .with_tags(
        common_tags
            .filter(|(_, by_all)| *by_all)
            .map(|(t, _)| t.to_string())
            .collect(),
    );
    let rocket = app::build(config).await?;
    rp.codes = rocket
        .state::<crate::flow::phone::PhoneFlow>()
        .and_then(|p| p.demo_sender());
    Ok(rocket
        .manage(rp)
        .manage(api_party)
        .mount("/demo", relying_party::routes())
        .mount("/demo", api_party::routes()))
}
