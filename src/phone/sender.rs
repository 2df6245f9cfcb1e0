//! Where a one-time code goes: an HTTP SMS gateway (a JSON POST with a bearer token, the shape
//! most providers accept) or an e-mail over SMTP. Two real senders, hence the trait; the demo's
//! sender keeps the code for the demo page and is refused outside the demo (docs/phone.md).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::urls::HttpUrl;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The gateway or server refused this message (4xx, a bad recipient): retrying will not help.
    #[error("the code was refused by {0}")]
    Refused(&'static str),
    /// Not reachable or failing (5xx) after the retries.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
}

#[async_trait]
pub trait CodeSender: Send + Sync {
    /// Sends `text` (the code in the citizen's language) to `to`: E.164 for SMS, an e-mail
    /// address for e-mail.
    async fn send(&self, to: &str, text: &str) -> Result<(), SendError>;
}

/// A bearer token; `Debug` prints nothing of it.
#[derive(Clone)]
pub struct GatewayToken(pub String);

impl fmt::Debug for GatewayToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewayToken(..)")
    }
}

/// `POST <url>` with `{"to": "+32...", "text": "...", "sender": "..."}` and
/// `Authorization: Bearer <token>`. 2xx is sent; 4xx is refused at once; 5xx and network
/// errors are retried with a doubling pause (`attempts` in all).
pub struct HttpGateway {
    pub url: HttpUrl,
    pub token: GatewayToken,
    pub sender_id: Option<String>,
    pub attempts: u32,
    pub first_pause: Duration,
    pub client: reqwest::Client,
}

#[async_trait]
impl CodeSender for HttpGateway {
    async fn send(&self, to: &str, text: &str) -> Result<(), SendError> {
        let mut body = serde_json::json!({ "to": to, "text": text });
        if let Some(id) = &self.sender_id {
            body["sender"] = serde_json::json!(id);
        }
        let mut pause = self.first_pause;
        for attempt in 1..=self.attempts.max(1) {
            let answer = self
                .client
                .post(self.url.as_str())
                .bearer_auth(&self.token.0)
                .json(&body)
                .send()
                .await;
            match answer.map(|r| r.status()) {
                Ok(s) if s.is_success() => return Ok(()),
                Ok(s) if s.is_client_error() => {
                    tracing::warn!(status = s.as_u16(), "SMS gateway refused a code");
                    return Err(SendError::Refused("the SMS gateway"));
                }
                outcome => {
                    let status = outcome.as_ref().ok().map(|s| s.as_u16());
                    tracing::warn!(attempt, ?status, "SMS gateway failed");
                }
            }
            if attempt < self.attempts {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Err(SendError::Unavailable("the SMS gateway"))
    }
}

/// SMTP with STARTTLS required, except to a server on loopback (a local relay or the tests).
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    subject: String,
}

impl SmtpSender {
    /// `None` when `from` is not an address or the relay cannot be set up for TLS.
    pub fn new(
        host: &str,
        port: u16,
        login: Option<(String, String)>,
        from: &str,
        subject: &str,
    ) -> Option<Self> {
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let mut builder = if loopback {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).ok()?
        }
        .port(port)
        .timeout(Some(Duration::from_secs(10)));
        if let Some((user, password)) = login {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Some(SmtpSender {
            transport: builder.build(),
            from: from.parse().ok()?,
            subject: subject.to_string(),
        })
    }
}

#[async_trait]
impl CodeSender for SmtpSender {
    async fn send(&self, to: &str, text: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Refused("the e-mail address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(self.subject.clone())
            .body(text.to_string())
            .map_err(|_| SendError::Refused("the e-mail builder"))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused("the SMTP server")),
            Err(e) => {
                tracing::warn!(error = %e, "SMTP server failed");
                Err(SendError::Unavailable("the SMTP server"))
            }
        }
    }
}

/// The demo's sender: keeps the last text per recipient for the demo page to show.
#[derive(Default)]
pub struct DemoSender {
    sent: Mutex<HashMap<String, String>>,
    latest: Mutex<Option<(String, String)>>,
}

impl DemoSender {
    pub fn last_sent(&self, to: &str) -> Option<String> {
        self.sent.lock().ok()?.get(to).cloned()
    }

    /// The most recent message: recipient and text.
    pub fn latest(&self) -> Option<(String, String)> {
        self.latest.lock().ok()?.clone()
    }
}

#[async_trait]
impl CodeSender for DemoSender {
    async fn send(&self, to: &str, text: &str) -> Result<(), SendError> {
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| SendError::Unavailable("the demo sender"))?;
        if sent.len() >= 1000 {
            sent.clear();
        }
        sent.insert(to.to_string(), text.to_string());
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some((to.to_string(), text.to_string()));
        }
        Ok(())
    }
}
