//! The real parts of a card test: the system pcscd (with the vpcd driver), `auth-eid simulate
//! card` in vpcd slots, and `auth-eid connector` on a free loopback port. pcscd is one
//! system-wide daemon with fixed vpcd ports, so card tests run one at a time (`LAB_LOCK` in this
//! process, and a lock on `MACHINE_LOCK` against test runs from other checkouts);
//! everything started here is killed on drop (simulators before pcscd).

use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{Mutex, MutexGuard};

pub const ORIGIN: &str = "https://rp.example";
pub const RSA_READER: &str = "Virtual PCD 00 00";
pub const EC_READER: &str = "Virtual PCD 00 01";
const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const BIN: &str = env!("CARGO_BIN_EXE_auth-eid");

static LAB_LOCK: Mutex<()> = Mutex::const_new(());
const MACHINE_LOCK: &str = "/tmp/auth-eid-card-lab.lock";

/// Waits for the machine-wide card lab lock (released when the file is closed).
async fn lock_machine() -> fs::File {
    tokio::task::spawn_blocking(|| {
        let file = fs::File::create(MACHINE_LOCK).expect("card lab lock file");
        file.lock().expect("card lab lock");
        file
    })
    .await
    .expect("card lab lock task")
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The system pcscd, started in the foreground without auto-exit and without `--apdu` (APDU
/// logs would hold PIN blocks).
struct Pcscd(Child);

impl Pcscd {
    fn start(log: &Path) -> Pcscd {
        assert!(
            Path::new("/etc/reader.conf.d/vpcd").exists(),
            "card tests need the vpcd driver: apt-get install vsmartcard-vpcd (scripts/test does)"
        );
        assert!(
            UnixStream::connect(PCSCD_SOCKET).is_err(),
            "a pcscd not started by the card tests is running ({PCSCD_SOCKET}); stop it first"
        );
        let out = fs::File::create(log).expect("pcscd log file");
        let mut child = Command::new("pcscd")
            .arg("--foreground")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start pcscd ({e}): apt-get install pcscd (scripts/test does)")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(PCSCD_SOCKET).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(log).unwrap_or_default();
                panic!("pcscd exited ({status}) at start (running as root?):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "pcscd did not open {PCSCD_SOCKET} in 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Pcscd(child)
    }
}

impl Drop for Pcscd {
    /// SIGTERM first, so pcscd removes its socket and pid file; SIGKILL if it lingers.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(&mut self.0);
    }
}

pub struct Lab {
    /// The first allowed origin: what `status` sends.
    pub origin: String,
    pub dir: PathBuf,
    pub base: String,
    pub http: reqwest::Client,
    connector: Option<Child>,
    sims: Vec<Child>,
    _pcscd: Option<Pcscd>,
    _lock: MutexGuard<'static, ()>,
    // Declared last: released after everything above is stopped.
    _machine_lock: fs::File,
}

/// A card in a vpcd slot; `extra`: more `simulate card` flags.
pub struct Card<'a> {
    pub slot: u8,
    pub profile: &'a str,
    pub extra: Vec<String>,
}

impl Card<'_> {
    pub fn rsa() -> Card<'static> {
        Card {
            slot: 0,
            profile: "rsa",
            extra: vec![],
        }
    }
    pub fn ec() -> Card<'static> {
        Card {
            slot: 1,
            profile: "ec",
            extra: vec![],
        }
    }
    pub fn with(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|s| s.to_string()));
        self
    }
}

impl Lab {
    pub async fn start(cards: &[Card<'_>]) -> Lab {
        Self::start_for(&[ORIGIN], cards).await
    }

    /// With a connector that allows `origins` (e.g. the plugin's public origin).
    pub async fn start_for(origins: &[&str], cards: &[Card<'_>]) -> Lab {
        Self::start_with(origins, cards, true).await
    }

    /// Only the connector, with the smart card service stopped (under the lab lock, so no other
    /// card test runs pcscd meanwhile).
    pub async fn without_pcscd() -> Lab {
        Self::start_with(&[ORIGIN], &[], false).await
    }

    async fn start_with(origins: &[&str], cards: &[Card<'_>], with_pcscd: bool) -> Lab {
        let lock = LAB_LOCK.lock().await;
        let machine_lock = lock_machine().await;
        let dir = std::env::temp_dir().join(format!(
            "auth-eid-card-{}-{}",
            std::process::id(),
            crate::support::redis::free_port()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        let pcscd = with_pcscd.then(|| Pcscd::start(&dir.join("pcscd.log")));
        let sims = cards
            .iter()
            .map(|c| {
                let log = fs::File::create(dir.join(format!("sim{}.log", c.slot))).expect("log");
                Command::new(BIN)
                    .args(["simulate", "card", "--profile", c.profile])
                    .args([
                        "--vpcd",
                        &format!("127.0.0.1:{}", 35963 + u16::from(c.slot)),
                    ])
                    .arg("--state-dir")
                    .arg(dir.join("pki"))
                    .args(&c.extra)
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("auth-eid simulate card")
            })
            .collect();
        let port = crate::support::redis::free_port();
        let log = fs::File::create(dir.join("connector.log")).expect("log");
        let connector = Command::new(BIN)
            .args(["connector", "--listen", &format!("127.0.0.1:{port}")])
            .args(origins.iter().flat_map(|o| ["--allow-origin", o]))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("auth-eid connector");
        let lab = Lab {
            origin: origins.first().unwrap_or(&ORIGIN).to_string(),
            dir,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            connector: Some(connector),
            sims,
            _pcscd: pcscd,
            _lock: lock,
            _machine_lock: machine_lock,
        };
        let readers: Vec<&str> = cards
            .iter()
            .map(|c| if c.slot == 0 { RSA_READER } else { EC_READER })
            .collect();
        lab.wait_for_cards(&readers).await;
        lab
    }

    /// Until the connector answers and every reader in `readers` has a card.
    async fn wait_for_cards(&self, readers: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.status(None).await {
                Ok((503, _)) if self._pcscd.is_none() => return,
                Ok((200, s)) if readers.is_empty() && s["readers"] != json!([]) => return,
                _ => {}
            }
            if let Ok((200, s)) = self.status(None).await {
                let present = |name: &str| {
                    s["readers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|r| r["name"] == name && r["card_present"] == true)
                };
                if readers.iter().all(|r| present(r)) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "cards did not show up in pcscd within 15 s; logs in {}",
                self.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn status(&self, reader: Option<&str>) -> Result<(u16, Value), reqwest::Error> {
        let base = format!("{}/v1/status", self.base);
        let params: Vec<(&str, &str)> = reader.map(|r| ("reader", r)).into_iter().collect();
        let url = url::Url::parse_with_params(&base, params).expect("status URL");
        let res = self
            .http
            .get(url)
            .header("Origin", &self.origin)
            .send()
            .await?;
        let code = res.status().as_u16();
        Ok((code, res.json().await.unwrap_or(Value::Null)))
    }

    pub async fn authenticate(&self, origin: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/v1/authenticate", self.base))
            .header("Origin", origin)
            .json(&body)
            .send()
            .await
            .expect("connector answers");
        let code = res.status().as_u16();
        (code, res.json().await.unwrap_or(Value::Null))
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.connector.take() {
            kill(&mut c);
        }
        // Cards first: they close their vpcd connections before pcscd goes away.
        for sim in &mut self.sims {
            kill(sim);
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
