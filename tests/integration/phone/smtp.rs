//! Codes by e-mail through a real SMTP server: aiosmtpd (PyPI, installed by scripts/test)
//! started by the test, writing each message it accepts to a file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{body, code_in, Walk};
use crate::harness::{free_port, Options, TestApp};

/// `python3 tests/integration/phone/smtp_sink.py`: stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    child: Child,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mail.jsonl");
        let port = free_port();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/phone/smtp_sink.py"
        );
        let child = Command::new("python3")
            .args([
                script,
                "127.0.0.1",
                &port.to_string(),
                file.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        for _ in 0..250 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        SmtpServer {
            port,
            child,
            file,
            _dir: dir,
        }
    }

    /// Every message received so far: `{from, to, data}`.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits up to 5 s for the `n`th message.
    pub async fn wait_for(&self, n: usize) -> Value {
        for _ in 0..250 {
            if let Some(m) = self.messages().get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no message {n}: {:?}", self.messages());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_arrives_by_e_mail_through_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn(Options {
        extra_toml: format!(
            r#"
[phone]
enabled = true
sender = "smtp"
[phone.smtp]
host = "127.0.0.1"
port = {port}
from = "auth-eid <codes@auth-eid.example>"
starttls = false
"#,
            port = smtp.port
        ),
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, html) = Walk::open(&client_url).await;
    assert!(
        html.contains("type=\"email\"") && html.contains("e-mail address"),
        "{html}"
    );
    let (status, html) = body(walk.send("not an address").await).await;
    assert_eq!(status, 400);
    assert!(html.contains("not a valid e-mail address"), "{html}");

    assert_eq!(walk.send("an.peeters@example.org").await.status(), 303);
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail["to"][0], "an.peeters@example.org");
    assert_eq!(mail["from"], "codes@auth-eid.example");
    let data = mail["data"].as_str().unwrap();
    assert!(data.contains("Subject: Your login code"), "{data}");
    let (_, page) = walk.page().await;
    assert!(page.contains("a•••@example.org"), "{page}");

    let code = code_in(data.split("\r\n\r\n").nth(1).unwrap_or(data));
    assert_eq!(walk.code(&code).await.status(), 303);
    let done = app.walk(&walk.browser, &client_url).await;
    assert_eq!(done.status(), 303);
    let token = crate::harness::app::result_of(&crate::harness::app::location(&done)).unwrap();
    assert_eq!(app.open_token(&token).claims["status"], "succes");
    assert_eq!(smtp.messages().len(), 1);
}
