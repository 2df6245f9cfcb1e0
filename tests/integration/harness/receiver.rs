//! A real HTTP receiver for attr_url deliveries (a small Rocket server on loopback): it records
//! every POST and can be told to fail the first N.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::http::{ContentType, Status};
use rocket::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Log {
    received: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
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

#[rocket::post("/auth_result/<_slot>", data = "<body>")]
fn receive(
    _slot: &str,
    content_type: Option<&ContentType>,
    body: String,
    log: &State<Arc<Log>>,
) -> Status {
    let ct = content_type.map(|c| c.to_string());
    log.received.lock().unwrap().push(Received {
        content_type: ct,
        body,
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
        let log = Arc::new(Log {
            fail_first: AtomicUsize::new(fail_first),
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
