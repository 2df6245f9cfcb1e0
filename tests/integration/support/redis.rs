//! A throw-away `redis-server` on a free loopback port: no persistence, killed on drop, and
//! stoppable/restartable on the same port so tests can cut Redis off under a live store.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use auth_eid::config::{StoreKind, StoreSettings};
use auth_eid::store::{self, FlowStore, StoreError};

/// The timeout the test stores use: short, so outage tests stay fast.
pub const TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisServer {
    port: u16,
    password: Option<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(None)
    }

    /// With `requirepass`, to check that the password never shows in errors.
    pub fn start_with_password(password: &str) -> RedisServer {
        Self::start_with(Some(password.to_string()))
    }

    fn start_with(password: Option<String>) -> RedisServer {
        // `--port 0` means "no TCP" to Redis, so pick a free port ourselves; another process
        // can grab it between our probe and Redis binding it, hence the retries.
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port(),
                password: password.clone(),
                child: None,
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("could not start redis-server on a free loopback port");
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Kills the server at once (like a crash or `SHUTDOWN NOSAVE`): its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered, no data is
    /// lost; [`Self::resume`] thaws it. A stand-in for a failover's pause.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(child) = &self.child {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args([sig, &pid]).status();
        }
    }

    /// Starts a fresh, empty server on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.spawn() {
            assert!(Instant::now() < deadline, "redis-server did not restart");
            sleep(Duration::from_millis(100));
        }
    }

    /// Spawns and waits until it answers PING; false if it exited (port taken).
    fn spawn(&mut self) -> bool {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut cmd = Command::new(binary);
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        let mut child = cmd.spawn().expect("redis-server is installed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if self.answers() {
                self.child = Some(child);
                return true;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let ping = match &self.password {
            Some(p) => format!("AUTH {p}\r\nPING\r\n"),
            None => "PING\r\n".to_string(),
        };
        let mut reply = [0u8; 64];
        let mut got = Vec::new();
        if s.write_all(ping.as_bytes()).is_err() {
            return false;
        }
        while let Ok(n) = s.read(&mut reply) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&reply[..n]);
            if got.windows(5).any(|w| w == b"+PONG") {
                return true;
            }
        }
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn settings(url: &str, prefix: &str) -> StoreSettings {
    StoreSettings {
        kind: StoreKind::Redis,
        url: Some(url.to_string()),
        key_prefix: prefix.to_string(),
        pool_size: 2,
        timeout: TIMEOUT,
    }
}

/// A Redis store through the same `open` the server uses.
pub async fn store(server: &RedisServer, max_flows: usize) -> Arc<dyn FlowStore> {
    try_store(&server.url(), "test:", max_flows)
        .await
        .expect("redis store connects")
}

pub async fn try_store(
    url: &str,
    prefix: &str,
    max_flows: usize,
) -> Result<Arc<dyn FlowStore>, StoreError> {
    store::open(&settings(url, prefix), max_flows).await
}

/// A plain connection for tests that inspect or damage what the store wrote.
pub async fn raw(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(server.url())
        .expect("valid url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw redis connection")
}
