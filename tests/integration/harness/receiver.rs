//! A real HTTP receiver for attr_url deliveries (a small Rocket server on loopback): it records
//! every POST and can be told to fail the first N.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::http::{ContentType, Status};
use rocket::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub slot: String,
    pub content_type: Option<String>,
    pub body: String,
    /// `Auth-Eid-Signature` (webhooks only).
    pub signature: Option<String>,
}

/// The webhook signature header of a request, if any.
struct Signature(Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Signature {
    type Error = std::convert::Infallible;
    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        let value = req
            .headers()
            .get_one("Auth-Eid-Signature")
            .map(str::to_string);
        rocket::request::Outcome::Success(Signature(value))
    }
}

#[derive(Default)]
struct Log {
    received: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
    /// How long each POST takes to answer; it is recorded when answered.
    delay: Duration,
}

pub struct Receiver {
    pub port: u16,
    log: Arc<Log>,
    shutdown: rocket::Shutdown,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

#[rocket::post("/auth_result/<slot>", data = "<body>")]
async fn receive(
    slot: &str,
    content_type: Option<&ContentType>,
    signature: Signature,
    body: String,
    log: &State<Arc<Log>>,
) -> Status {
    let ct = content_type.map(|c| c.to_string());
    tokio::time::sleep(log.delay).await;
    log.received.lock().unwrap().push(Received {
        slot: slot.to_string(),
        content_type: ct,
        body,
        signature: signature.0,
    });
    let failing = log
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        Status::InternalServerError
    } else {
        Status::Ok
    }
}

impl Receiver {
    /// Starts on `port`, answering 500 to the first `fail_first` POSTs.
    pub async fn start(port: u16, fail_first: usize) -> Receiver {
        Self::start_slow(port, fail_first, Duration::ZERO).await
    }

    /// As `start`, answering each POST (and recording it) only after `delay`.
    pub async fn start_slow(port: u16, fail_first: usize, delay: Duration) -> Receiver {
        let log = Arc::new(Log {
            fail_first: AtomicUsize::new(fail_first),
            delay,
            ..Log::default()
        });
        let config = rocket::Config {
            port,
            address: [127, 0, 0, 1].into(),
            log_level: rocket::config::LogLevel::Off,
            ..rocket::Config::debug_default()
        };
        let rocket = rocket::custom(config)
            .manage(log.clone())
            .mount("/", rocket::routes![receive])
            .ignite()
            .await
            .unwrap();
        let shutdown = rocket.shutdown();
        tokio::spawn(rocket.launch());
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Receiver {
            port,
            log,
            shutdown,
        }
    }

    pub fn url(&self, slot: &str) -> String {
        format!("http://127.0.0.1:{}/auth_result/{slot}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` POSTs arrived (or `timeout`), then gives all of them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.received().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

/// An attr_url that accepts connections, reads each request and never answers: the worst
/// kind of "down" for a sender, whose POST hangs until its timeout while it holds the entry.
/// It records what it was sent, so tests can compare the bytes of every attempt.
pub struct Blackhole {
    seen: Arc<Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    pub async fn start(port: u16) -> Blackhole {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            // Dropped with this task: every held connection is closed with it.
            let mut held = tokio::task::JoinSet::new();
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = log.clone();
                held.spawn(async move {
                    if let Some(request) = read_request(&mut conn).await {
                        log.lock().unwrap().push(request);
                    }
                    // Hold the connection open and silent until the sender gives up.
                    let mut sink = [0u8; 1024];
                    while matches!(
                        tokio::io::AsyncReadExt::read(&mut conn, &mut sink).await,
                        Ok(n) if n > 0
                    ) {}
                });
            }
        });
        Blackhole { seen, task }
    }

    /// (path, body) of every request read so far.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// Closes the port and every held connection.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Path and body of one HTTP/1.1 request with a Content-Length.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
            return Some((path, body));
        }
    }
}
