//! A local HTTP SMS gateway for the tests: a small tokio server that records every POST (its
//! `Authorization` header and JSON body) and answers 200 with the right bearer token, 401
//! without it; it can be told to answer 500 to the first N.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct Message {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// What the gateway answered.
    pub status: u16,
}

pub struct Gateway {
    port: u16,
    messages: Arc<Mutex<Vec<Message>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    /// Accepts `Bearer <token>`; answers 500 to the first `fail_first` requests.
    pub async fn start(token: &str, fail_first: usize) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages: Arc<Mutex<Vec<Message>>> = Arc::default();
        let log = messages.clone();
        let expected = format!("Bearer {token}");
        let failing = Arc::new(AtomicUsize::new(fail_first));
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (log, expected, failing) = (log.clone(), expected.clone(), failing.clone());
                tokio::spawn(async move {
                    let Some((path, head, body)) = read_request(&mut conn).await else {
                        return;
                    };
                    let authorization = head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_string())
                    });
                    let status = if authorization.as_deref() != Some(expected.as_str()) {
                        401
                    } else if failing
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        500
                    } else {
                        200
                    };
                    log.lock().unwrap().push(Message {
                        path,
                        authorization,
                        body: serde_json::from_str(&body).unwrap_or(Value::Null),
                        status,
                    });
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    );
                    let _ = conn.write_all(answer.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Gateway {
            port,
            messages,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/sms", self.port)
    }

    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().unwrap().clone()
    }

    /// Messages accepted (answered 200).
    pub fn delivered(&self) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.status == 200)
            .collect()
    }

    /// The last accepted message matching `pick`, waiting up to 5 s for one.
    pub async fn wait_for(&self, pick: impl Fn(&Message) -> bool) -> Option<Message> {
        for _ in 0..250 {
            if let Some(m) = self.delivered().into_iter().rev().find(|m| pick(m)) {
                return Some(m);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// Path, head and body of one HTTP/1.1 request with a Content-Length.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<(String, String, String)> {
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
            return Some((path, head, body));
        }
    }
}
