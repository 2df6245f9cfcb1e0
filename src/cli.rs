//! The subcommands behind `main.rs`: each loads what it needs and reports to the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config};

/// Loads the configuration or prints every problem to stderr.
fn load(path: Option<PathBuf>) -> Result<Config, ExitCode> {
    let path = config::resolve_path(path);
    Config::load(&path).map_err(|errors| {
        say(format_args!(
            "auth-eid: configuration {} is not valid:",
            path.display()
        ));
        for e in &errors.0 {
            say(format_args!("  - {e}"));
        }
        ExitCode::from(1)
    })
}

pub fn check_config(path: Option<PathBuf>) -> ExitCode {
    for name in config::unrelated_env_vars() {
        say(format_args!(
            "auth-eid: warning: environment variable {name} names no setting: ignored"
        ));
    }
    match load(path) {
        Ok(cfg) => {
            for w in cfg.smart_id.pin_warnings(std::time::SystemTime::now()) {
                say(format_args!("auth-eid: warning: {w}"));
            }
            println!("configuration is valid (mode = {:?})", cfg.mode);
            let fingerprint = config::public_fingerprint(&cfg.signing.public_pem);
            println!(
                "signing key: read from [{}], {:?}; public key SHA-256 {} (give its public half to \
                 each communication plugin as signature_pubkey)",
                cfg.key_names.signing,
                cfg.signing.alg,
                fingerprint.as_deref().unwrap_or("?")
            );
            println!(
                "encryption key: read from [{}], {:?} (the receiving plugin's public key)",
                cfg.key_names.encryption, cfg.encryption.alg
            );
            for rp in cfg.relying_parties.iter() {
                let means: Vec<_> = rp
                    .means
                    .iter()
                    .map(|m| config::relying_party::api_name(*m))
                    .collect();
                println!(
                    "relying party {}: means {}; webhook {}; subject in webhook: {}; validation report: {}",
                    rp.id.as_str(),
                    means.join(", "),
                    rp.webhook
                        .as_ref()
                        .map_or("none".to_string(), |w| w.url.origin_string()),
                    rp.subject_in_webhook,
                    rp.validation_report,
                );
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn serve(path: Option<PathBuf>) -> ExitCode {
    match load(path) {
        Ok(cfg) => run_server(cfg, None),
        Err(code) => code,
    }
}

/// Runs the server (with the demo relying party and its `banner` for the demo) until Ctrl-C
/// or SIGTERM. The port is bound first: a taken port is the first and only thing said, and a
/// banner only appears once the server has its port.
pub fn run_server(cfg: Config, banner: Option<String>) -> ExitCode {
    let demo = banner.is_some();
    let listener = match crate::web::server::bind(&cfg.server) {
        Ok(listener) => listener,
        Err(e) => {
            let flag = if demo {
                "--port N"
            } else {
                "server.port (or AUTH_EID_SERVER__PORT=N)"
            };
            let port = cfg.server.port;
            match e {
                crate::web::server::ServeError::Bind(_, io)
                    if io.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    say(format_args!(
                        "auth-eid: port {port} is in use (another auth-eid?); try {flag} with a free port"
                    ))
                }
                other => say(format_args!("auth-eid: {other}")),
            }
            return ExitCode::from(1);
        }
    };
    // The demo also starts its card connector on the next port.
    if demo {
        let next = crate::demo::connector_port(cfg.server.port);
        if std::net::TcpListener::bind((cfg.server.address, next)).is_err() {
            say(format_args!(
                "auth-eid: port {next} (the demo's card connector, --port + 1) is in use; try --port N with two free ports"
            ));
            return ExitCode::from(1);
        }
    }
    if let Some(banner) = banner {
        say(format_args!("{banner}"));
    }
    let log = crate::telemetry::init(cfg.log_format, &cfg.log_level);
    for name in config::unrelated_env_vars() {
        tracing::warn!(variable = %name, "an AUTH_EID_ environment variable names no setting: ignored");
    }
    let result = rocket::execute(async move {
        let server = cfg.server.clone();
        let app = if demo {
            crate::demo::build(cfg).await?
        } else {
            crate::app::build(cfg).await?
        };
        crate::web::server::serve_bound(listener, app, &server)
            .await
            .map_err(crate::app::AppError::from)
    });
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "auth-eid stopped");
            say(format_args!("auth-eid: {e}"));
            ExitCode::from(1)
        }
    };
    drop(log);
    code
}

/// A line on stderr that cannot panic when stderr is gone (`eprintln!` would).
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Port on 127.0.0.1 for the plugin and the demo relying party.
    #[arg(long, default_value_t = 8400)]
    pub port: u16,
    /// Where the demo writes its keys and simulator state [default: a new temporary directory]
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

pub fn demo(args: DemoArgs) -> ExitCode {
    match crate::demo::config(args.port, args.state_dir) {
        Ok(cfg) => {
            let banner = format!(
                "auth-eid demo: open {}/demo/ in a browser. Means: test, an emulated eID card (PIN 1234), Smart-ID against its simulator. Demo keys: not for production.",
                cfg.public_url.base()
            );
            run_server(cfg, Some(banner))
        }
        Err(e) => {
            say(format_args!("auth-eid demo: {e}"));
            ExitCode::from(1)
        }
    }
}
