//! The phone + one-time-code step (issue 14, docs/phone.md) against the real server: codes
//! received by a local HTTP SMS gateway (a tokio server that checks the bearer token) and by a
//! real SMTP server (aiosmtpd); wrong, expired and reused codes, send caps, the OTP budgets'
//! 429s, the relying-party API's `phoneStep`, `check-config`, and a Chromium walk of the demo.

mod api;
mod browser;
mod config;
mod flow;
mod gateway;
mod logs;
mod means;
mod smtp;

use serde_json::Value;

use crate::harness::app::{csrf_of, without_query};
use crate::harness::{Options, TestApp};
pub use gateway::Gateway;

/// The gateway's bearer token in the tests.
pub const TOKEN: &str = "gw-token-0123456789";
/// A Belgian mobile number (no subscriber meant) as typed, and in E.164.
pub const TYPED: &str = "0470 12 34 56";
pub const E164: &str = "+32470123456";

/// `[phone]` with the gateway as sender, plus `more` keys under `[phone]`.
pub fn phone_toml(gateway: &Gateway, more: &str) -> String {
    format!(
        r#"
[phone]
enabled = true
countries = [32, 31]
sender = "gateway"
{more}
[phone.gateway]
url = "{url}"
token = "{TOKEN}"
sender_id = "auth-eid"
attempts = 2
"#,
        url = gateway.url()
    )
}

/// A test app with the phone step, codes to `gateway`.
pub async fn app(gateway: &Gateway, more: &str) -> TestApp {
    TestApp::spawn(Options {
        extra_toml: phone_toml(gateway, more),
        ..Options::default()
    })
    .await
}

/// The first run of 6 digits in `text`.
pub fn code_in(text: &str) -> String {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit())
        })
        .map(|i| text[i..i + 6].to_string())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// One browser on one flow's pages.
pub struct Walk {
    pub browser: reqwest::Client,
    /// The flow's URL without a query.
    pub url: String,
    pub csrf: String,
}

impl Walk {
    /// Opens `client_url` (binding this browser); the page must be the phone step's.
    pub async fn open(client_url: &str) -> (Walk, String) {
        let browser = TestApp::browser();
        let page = browser.get(client_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let walk = Walk {
            browser,
            url: without_query(client_url).to_string(),
            csrf: csrf_of(&html),
        };
        (walk, html)
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.browser
            .post(format!("{}{path}", self.url))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Sends the number (or address); `""` asks for a resend.
    pub async fn send(&self, to: &str) -> reqwest::Response {
        if to.is_empty() {
            self.post("/phone", &[]).await
        } else {
            self.post("/phone", &[("number", to)]).await
        }
    }

    pub async fn code(&self, code: &str) -> reqwest::Response {
        self.post("/phone/code", &[("code", code)]).await
    }

    pub async fn page(&self) -> (u16, String) {
        let res = self.browser.get(&self.url).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// The body of a response, with its status.
pub async fn body(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The JSON of the last message the gateway received for `to`.
pub async fn last_sms(gateway: &Gateway, to: &str) -> Value {
    gateway
        .wait_for(|m| m.body["to"] == to)
        .await
        .unwrap_or_else(|| panic!("no SMS to {to}: {:?}", gateway.messages()))
        .body
}

/// The `href` of the link with `id` in a page, unescaped.
pub fn link(html: &str, id: &str) -> String {
    let marker = format!("\" id=\"{id}\"");
    html.split("<a href=\"")
        .skip(1)
        .find(|s| s.contains(&marker))
        .unwrap_or_else(|| panic!("no link {id} in {html}"))
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}
