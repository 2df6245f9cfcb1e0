//! The demo's Smart-ID path: the simulator runs in this process (its own thread and runtime,
//! started before the configuration is built because the configuration needs its port, TLS
//! pin and PKI files), and `[means.smart_id]` + `[trust.smart_id]` point at it.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde_json::json;

use crate::simulate::smart_id::{self as sim, SimulatorOptions, DEMO_RP_NAME, DEMO_RP_UUID};

/// What the configuration needs from a running simulator.
struct Running {
    base_url: String,
    pin: String,
    files: PathBuf,
}

/// Starts the simulator with its state (test PKI) under `dir`; it lives as long as the process.
fn start(dir: &Path) -> Result<Running, String> {
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("smart-id-simulator".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return drop(tx.send(Err(e.to_string()))),
            };
            rt.block_on(async move {
                let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                match sim::start(SimulatorOptions::new(listen, dir)).await {
                    Ok(s) => {
                        let running = Running {
                            base_url: s.base_url_v3(),
                            pin: s.tls_pin().to_string(),
                            files: s.pki().file(""),
                        };
                        let _ = tx.send(Ok(running));
                        // Serve until the process ends.
                        std::future::pending::<()>().await;
                    }
                    Err(e) => drop(tx.send(Err(e.to_string()))),
                }
            })
        })
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|_| "the Smart-ID simulator thread ended".to_string())?
}

/// Adds the Smart-ID means and its demo trust profile, pointing at a fresh simulator.
pub fn merge(figment: Figment, state_dir: &Path) -> Result<Figment, String> {
    let s = start(&state_dir.join("smart-id-simulator"))
        .map_err(|e| format!("Smart-ID simulator: {e}"))?;
    let file = |name: &str| s.files.join(name).display().to_string();
    let means = json!({
        "enabled": true,
        "environment": "demo",
        "base_url": s.base_url,
        "relying_party_uuid": DEMO_RP_UUID,
        "relying_party_name": DEMO_RP_NAME,
        "tls_pins": [s.pin],
        "tls_ca_file": file("tls-ca.pem"),
        // SK's Belgian demo account (PNOBE-05040400032) fails the national check digit.
        "format_only_codes": true,
        "display_text": "Log in to the auth-eid demo",
        "attributes": {
            "name": "full_name",
            "given_name": "given_name",
            "surname": "surname",
            "birthdate": "date_of_birth",
        },
    });
    let trust = sim::trust_profile_toml("smart_id", &s.files);
    Ok(figment
        .merge(Serialized::default("means.smart_id", means))
        .merge(Toml::string(&trust)))
}
