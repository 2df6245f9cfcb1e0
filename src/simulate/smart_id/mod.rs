//! `auth-eid simulate smart-id`: a faithful local stand-in for the Smart-ID RP API v2 and v3
//! (notification and device-link flows, `server_v3.rs`), with its
//! own test PKI, SK's demo test accounts and scriptable faults. Startable in-process with
//! [`start`] (tests, `auth-eid demo`) or from the command line. See `docs/smart-id.md`.

pub mod accounts;
mod der;
pub mod faults;
pub mod pki;
pub(crate) mod results;
mod results_v3;
mod server;
mod server_v3;
mod validate;
mod validate_v3;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod};
use openssl::x509::X509;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use pki::TestPki;

/// `[trust.<name>]` accepting the simulator's authentication certificates, whose PKI files are
/// in `pki_dir`: Smart-ID's key usage, EKUs and qualified policies, revocation off (the
/// simulator runs no OCSP responder; `off` is refused in production mode).
pub fn trust_profile_toml(name: &str, pki_dir: &std::path::Path) -> String {
    let file = |f: &str| pki_dir.join(f).display().to_string();
    format!(
        r#"
[trust.{name}]
demo = true
anchors = ["{root}"]
intermediates = ["{issuing}"]
revocation = "off"
require_key_usage = ["digitalSignature"]
require_eku = ["smartIdAuthentication", "clientAuth"]
require_policies = [["1.3.6.1.4.1.10015.17.2", "0.4.0.2042.1.2"]]
forbid_policies = ["0.4.0.194112.1.2"]
"#,
        root = file("root.pem"),
        issuing = file("issuing.pem"),
    )
}
pub use validate::{ADVANCED_RP_NAME, ADVANCED_RP_UUID, DEMO_RP_NAME, DEMO_RP_UUID};

use crate::means::smart_id::{Pin, SmartIdSettings, TlsSettings};

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    /// Time from start to COMPLETE (the "user" answering).
    pub delay: Duration,
    /// Time until a TIMEOUT identity's session completes.
    pub user_timeout: Duration,
    /// How long a completed session can be queried (5 minutes at SK).
    pub result_ttl: Duration,
}

impl SimulatorOptions {
    pub fn new(listen: SocketAddr, state_dir: PathBuf) -> Self {
        SimulatorOptions {
            listen,
            state_dir,
            delay: Duration::from_secs(2),
            user_timeout: Duration::from_secs(10),
            result_ttl: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error("simulator TLS: {0}")]
    Tls(#[from] openssl::error::ErrorStack),
    #[error("simulator cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// A running simulator. Dropping it does not stop it; call [`Simulator::shutdown`].
pub struct Simulator {
    pub addr: SocketAddr,
    state: Arc<server::State>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://localhost:<port>/smart-id-rp/v2/`, the client's base URL.
    pub fn base_url(&self) -> String {
        format!("https://localhost:{}/smart-id-rp/v2/", self.addr.port())
    }

    /// `https://localhost:<port>/smart-id-rp/v3/`, the RP API v3 base URL.
    pub fn base_url_v3(&self) -> String {
        format!("https://localhost:{}/smart-id-rp/v3/", self.addr.port())
    }

    /// The pin of the TLS server key (also in `pki/tls-pin.txt`).
    pub fn tls_pin(&self) -> Pin {
        self.state.pki.tls_pin
    }

    /// The TLS trust anchor for the client (also `pki/tls-ca.pem`).
    pub fn tls_ca_pem(&self) -> Vec<u8> {
        self.state.pki.tls_ca_pem.clone()
    }

    /// Client settings for this simulator: SK's DEMO relying party, the pin and TLS anchor.
    pub fn client_settings(&self) -> SmartIdSettings {
        let tls = TlsSettings {
            pins: vec![self.tls_pin()],
            ca_pem: Some(self.tls_ca_pem()),
        };
        // base_url() is built from a socket address: it always parses.
        let url = url::Url::parse(&self.base_url()).expect("simulator URL");
        SmartIdSettings::new(url, DEMO_RP_UUID, DEMO_RP_NAME, tls)
    }

    /// [`Simulator::client_settings`] for RP API v3, with SK DEMO's scheme name.
    pub fn client_settings_v3(&self) -> SmartIdSettings {
        let mut s = self.client_settings();
        s.base_url = url::Url::parse(&self.base_url_v3()).expect("simulator URL");
        s.api_version = crate::means::smart_id::ApiVersion::V3;
        s.scheme_name = crate::means::smart_id::v3::SCHEME_DEMO.to_string();
        s
    }

    /// PEM of the Smart-ID trust anchor and issuing CA, for the `smart_id` pki profile.
    pub fn trust_pem(&self) -> (Vec<u8>, Vec<u8>) {
        let pki = &self.state.pki;
        (
            pki.root.cert.to_pem().unwrap_or_default(),
            pki.issuing.cert.to_pem().unwrap_or_default(),
        )
    }

    pub fn pki(&self) -> &TestPki {
        &self.state.pki
    }

    /// `{"requests": n, "sessions_created": n, "waiting": n}`: RP API requests that reached
    /// HTTP, sessions, and long polls waiting right now.
    pub fn stats(&self) -> serde_json::Value {
        server::stats(&self.state)
    }

    /// The last (up to 100) start requests as `GET /control/requests` shows them: target,
    /// sessionID, hashType, hash, the verificationCode computed from the received hash.
    pub fn recent_requests(&self) -> Vec<serde_json::Value> {
        self.state.recent_requests()
    }

    /// Scripts a fault as `POST /control/fault` would.
    pub fn add_fault(&self, request: &serde_json::Value) -> Result<(), serde_json::Error> {
        let f: faults::FaultRequest = serde_json::from_value(request.clone())?;
        self.state.add_fault(&f);
        Ok(())
    }

    /// While held, new sessions stay RUNNING until [`Simulator::release`] (`POST
    /// /control/hold {"hold": true}`).
    pub fn hold(&self, hold: bool) {
        self.state.set_hold(hold);
    }

    /// Completes every held session at once and wakes their long polls (`POST
    /// /control/release`); gives how many.
    pub fn release(&self) -> usize {
        server::release(&self.state)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Loads or creates the PKI (blocking work off the runtime), binds, and serves until shutdown.
pub async fn start(opts: SimulatorOptions) -> Result<Simulator, SimError> {
    let dir = opts.state_dir.clone();
    let pki = tokio::task::spawn_blocking(move || TestPki::load_or_create(&dir))
        .await
        .map_err(|e| SimError::Listen(std::io::Error::other(e.to_string())))??;
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    acceptor.set_private_key(&*PKey::private_key_from_pem(&pki.tls_server_key_pem)?)?;
    acceptor.set_certificate(&*X509::from_pem(&pki.tls_server_pem)?)?;
    acceptor.check_private_key()?;
    let acceptor = acceptor.build();
    let listener = TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(server::State::new(pki, opts));
    let _ = state
        .link_base
        .set(format!("https://localhost:{}/device-link", addr.port()));
    let (stop, mut stopped) = oneshot::channel();
    let serving = state.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let Ok(ssl) = Ssl::new(acceptor.context()) else { continue };
                    tokio::spawn(serve(ssl, tcp, serving.clone()));
                }
            }
        }
    });
    Ok(Simulator {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}

async fn serve(ssl: Ssl, tcp: tokio::net::TcpStream, state: Arc<server::State>) {
    let Ok(mut tls) = tokio_openssl::SslStream::new(ssl, tcp) else {
        return;
    };
    if std::pin::Pin::new(&mut tls).accept().await.is_err() {
        return; // e.g. the client refused our key (pin mismatch): nothing was requested
    }
    let service = service_fn(move |req| server::handle(state.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// `auth-eid simulate smart-id` arguments.
#[derive(Debug, clap::Args)]
#[command(after_long_help = help_text())]
pub struct SimulateSmartIdArgs {
    /// Address to listen on (HTTPS).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Where the test PKI is written on first start and read after.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Milliseconds from start to COMPLETE.
    #[arg(long, default_value_t = 2000)]
    pub delay_ms: u64,
    /// Milliseconds until a TIMEOUT identity completes.
    #[arg(long, default_value_t = 10_000)]
    pub user_timeout_ms: u64,
    /// Seconds a completed session stays queryable (then 404).
    #[arg(long, default_value_t = 300)]
    pub result_ttl_s: u64,
}

fn help_text() -> String {
    let mut s = String::from(
        "Relying parties: UUID 00000000-0000-4000-8000-000000000000 name DEMO (SK's public demo RP, \
         no ADVANCED); UUID 00000000-0000-4000-8000-000000000001 name \"SIMULATED ADVANCED RP\".\n\n\
         Identities (document numbers; address them as etsi/<identity> or document/<number>):\n",
    );
    for (doc, what) in accounts::describe() {
        s.push_str(&format!("  {doc:<40} {what}\n"));
    }
    s.push_str(
        "  any other PNOEE/LV/LT/BE code with a valid check digit: OK, generated certificate\n\n\
         Control API (same HTTPS port): POST /control/fault {\"fault\": NAME, \"identity\"?: ID, \
         \"count\"?: N, \"delay_ms\"?: MS}; POST /control/reset; POST /control/delay \
         {\"delay_ms\": MS}; POST /control/device-link {\"deviceLink\": LINK, \"flowType\": \
         \"QR\"|\"Web2App\", \"documentNumber\"?: DOC} (the simulated app scans a v3 link; \
         Web2App answers the callbackUrl to open); POST /control/hold {\"hold\": BOOL} (new sessions wait for a \
         release); POST /control/release; GET /control/stats; GET /control/requests.\n\
         Faults: http_500 http_503 http_480 http_580 drop_connection slow_answer broken_json \
         wrong_signature truncated_signature untrusted_ca expired_certificate wrong_level \
         advanced_level other_person_certificate algorithm_mismatch signing_certificate \
         missing_certificate empty_document_number bad_base64 unknown_end_result \
         document_unusable passport_serial_number wrong_interaction wrong_flow_type (v3).\n\n\
         Files in STATE_DIR/pki: root.pem issuing.pem (Smart-ID trust anchor and issuing CA), \
         tls-ca.pem (TLS anchor), tls-server.pem tls-server.key, tls-pin.txt (pin for the client).",
    );
    s
}

/// Ctrl-C or SIGTERM (how tests and process managers stop it).
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the simulator until Ctrl-C or SIGTERM.
pub fn run(args: SimulateSmartIdArgs) -> ExitCode {
    let mut opts = SimulatorOptions::new(args.listen, args.state_dir);
    opts.delay = Duration::from_millis(args.delay_ms);
    opts.user_timeout = Duration::from_millis(args.user_timeout_ms);
    opts.result_ttl = Duration::from_secs(args.result_ttl_s);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("auth-eid simulate smart-id: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async {
        let sim = match start(opts).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("auth-eid simulate smart-id: {e}");
                return ExitCode::from(1);
            }
        };
        println!("Smart-ID RP API simulator on {}", sim.base_url());
        println!("TLS pin: {}", sim.tls_pin());
        println!("TLS CA:  {}", sim.pki().file("tls-ca.pem").display());
        println!(
            "Smart-ID trust anchor: {}",
            sim.pki().file("root.pem").display()
        );
        println!("RP API v3 on {}", sim.base_url_v3());
        wait_for_stop().await;
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}
