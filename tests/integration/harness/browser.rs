//! A real browser: Debian's headless Chromium driven through chromedriver (WebDriver).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::free_port;

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: std::path::PathBuf,
}

/// The two screens the pages are tested on: a laptop, and a phone (with a phone's User-Agent,
/// touch and its width, as Chromium's device emulation gives them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewport {
    Desktop,
    Phone,
}

impl Viewport {
    pub fn name(self) -> &'static str {
        match self {
            Viewport::Desktop => "desktop",
            Viewport::Phone => "phone",
        }
    }
}

/// An iPhone's Safari, as phones announce themselves (the card means reads "iPhone").
const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile. Panics with a clear message if
    /// they are not installed (scripts/test installs `chromium` and `chromium-driver`).
    pub async fn start() -> Browser {
        Browser::start_on(None).await
    }

    /// A browser at 1280x800, or a phone at 390x844.
    pub async fn start_as(viewport: Viewport) -> Browser {
        Browser::start_on(Some(viewport)).await
    }

    async fn start_on(viewport: Option<Viewport>) -> Browser {
        let port = free_port();
        // Its own process group, so that killing the group also ends the Chromium it started
        // (a Chromium whose chromedriver was killed lives on, reparented to init).
        let mut driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver not found: install chromium and chromium-driver (scripts/test does)",
            );
        let profile = std::env::temp_dir().join(format!("auth-eid-chromium-{port}"));
        // Flags for a closed network and a root user (see the machine notes).
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut options = json!({"binary": "/usr/bin/chromium", "args": args});
        match viewport {
            Some(Viewport::Desktop) => {
                options["args"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("--window-size=1280,800"));
            }
            Some(Viewport::Phone) => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2, "touch": true, "mobile": true},
                    "userAgent": PHONE_UA,
                });
            }
            None => {}
        }
        let caps = json!({"goog:chromeOptions": options});
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                return Browser {
                    client,
                    driver,
                    profile,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        end_group(&mut driver);
        panic!("could not start a Chromium session through chromedriver");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        end_group(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        end_group(&mut self.driver);
    }
}

/// Kills chromedriver's process group (chromedriver and every Chromium process it started)
/// and reaps chromedriver.
fn end_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

/// Waits for the element and clicks it.
pub async fn click(c: &Client, css: &str) {
    let element = c
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Waits for the element and gives its text. An element that a navigation replaced under
/// us (stale) is looked up again.
pub async fn text_of(c: &Client, css: &str) -> String {
    for _ in 0..50 {
        let element = c
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        if let Ok(text) = element.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: the element kept going stale");
}
