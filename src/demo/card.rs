//! The demo's card: an emulated Belgian eID card (the RSA profile, PIN 1234) behind an
//! in-process connector on the next port, and the card means with trust profiles over the
//! emulated card's test PKI. No reader, no pcscd, no network.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use crate::connector::{self, Settings};
use crate::simulate::card::{EmulatedAccess, Profile};

/// The connector's port next to the demo's own.
pub fn connector_port(demo_port: u16) -> u16 {
    demo_port.wrapping_add(1)
}

/// Creates the test PKI in `dir` if needed; the `[means.card]` and `[trust.*]` configuration.
pub fn config_toml(dir: &Path, demo_port: u16) -> Result<String, String> {
    EmulatedAccess::from_state_dir(Profile::Rsa, dir).map_err(|e| format!("demo card: {e}"))?;
    let d = dir.display();
    Ok(format!(
        r#"
[means.card]
enabled = true
connector_url = "http://127.0.0.1:{port}"
[means.card.attributes]
name = "full_name"
given_name = "given_names"
surname = "surname"
birthdate = "date_of_birth"
municipality = "municipality"
[trust.beid_auth]
demo = true
anchors = ["{d}/root.pem"]
intermediates = ["{d}/citizen-ca.pem"]
require_key_usage = ["digitalSignature"]
revocation = "off"
[trust.beid_rrn]
demo = true
anchors = ["{d}/root.pem"]
revocation = "off"
"#,
        port = connector_port(demo_port)
    ))
}

/// Starts the connector with the emulated card, for pages of `origin`; gives the card, so the
/// demo page can show and reset its PIN tries.
pub async fn start_connector(
    dir: &Path,
    demo_port: u16,
    origin: &str,
) -> Result<Arc<EmulatedAccess>, String> {
    let access = Arc::new(
        EmulatedAccess::from_state_dir(Profile::Rsa, dir).map_err(|e| format!("demo card: {e}"))?,
    );
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, connector_port(demo_port)));
    let settings = Settings::new(listen, &[origin.to_string()]).map_err(|e| e.to_string())?;
    let rocket = connector::rocket(settings, access.clone())
        .ignite()
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(rocket.launch());
    Ok(access)
}
