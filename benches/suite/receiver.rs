//! A communication plugin's attr_url endpoint on loopback: answers every POST with 200 and
//! notes when each result first arrived, by path (`/auth_result/<slot>`); a retried POST of
//! the same result does not count again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::{oneshot, Notify};

#[derive(Default)]
struct Inner {
    waiters: HashMap<String, oneshot::Sender<Instant>>,
    /// First arrival per slot.
    arrivals: HashMap<String, Instant>,
    last_token: Option<Bytes>,
}

#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    inner: Rc<RefCell<Inner>>,
    arrived: Rc<Notify>,
}

impl Receiver {
    /// Listens on a free loopback port; must run inside a `LocalSet`.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a receiver port");
        let port = listener.local_addr().expect("bound").port();
        let r = Receiver {
            port,
            inner: Rc::default(),
            arrived: Rc::default(),
        };
        let me = r.clone();
        tokio::task::spawn_local(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let me = me.clone();
                tokio::task::spawn_local(async move {
                    let svc = service_fn(move |req| me.clone().take(req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        r
    }

    pub fn url(&self, slot: &str) -> String {
        format!("http://127.0.0.1:{}/auth_result/{slot}", self.port)
    }

    /// Resolves when the result for `slot` arrives.
    pub fn expect(&self, slot: &str) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.inner.borrow_mut().waiters.insert(slot.to_string(), tx);
        rx
    }

    /// When each slot's result first arrived.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.inner.borrow().arrivals.values().copied().collect()
    }

    /// Waits until `n` results have arrived or `deadline` passes.
    pub async fn wait_for(&self, n: usize, deadline: Instant) {
        while self.inner.borrow().arrivals.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let _ = tokio::time::timeout(left, self.arrived.notified()).await;
        }
    }

    /// The body of the latest POST: a result token.
    pub fn last_token(&self) -> Option<Bytes> {
        self.inner.borrow().last_token.clone()
    }

    async fn take(self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let slot = req
            .uri()
            .path()
            .strip_prefix("/auth_result/")
            .unwrap_or("")
            .to_string();
        let body = req.into_body().collect().await.map(|b| b.to_bytes());
        let now = Instant::now();
        let mut inner = self.inner.borrow_mut();
        inner.arrivals.entry(slot.clone()).or_insert(now);
        if let Ok(b) = body {
            inner.last_token = Some(b);
        }
        if let Some(tx) = inner.waiters.remove(&slot) {
            let _ = tx.send(now);
        }
        drop(inner);
        self.arrived.notify_waiters();
        Ok(Response::new(Full::new(Bytes::new())))
    }
}
