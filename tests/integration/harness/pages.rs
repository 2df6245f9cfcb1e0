//! What the page tests share: the demo on a free port, the locale texts, axe-core in the page,
//! and screenshots for docs/screenshots/ (when `AUTH_EID_SCREENSHOTS` names a directory).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};
use figment::providers::{Format, Toml};
use figment::Figment;
use serde_json::Value;

use super::browser::Viewport;
use super::free_port;

/// The demo (plugin, relying party, emulated card, Smart-ID simulator) on a free port.
pub async fn spawn_demo() -> (String, rocket::Shutdown) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("auth-eid-demo-test-{port}"));
    launch_demo(auth_eid::demo::config(port, Some(dir)).unwrap()).await
}

/// Launches the demo built from `config`; gives its base URL once it answers.
pub async fn launch_demo(config: auth_eid::config::Config) -> (String, rocket::Shutdown) {
    let port = config.server.port;
    let rocket = auth_eid::demo::build(config)
        .await
        .unwrap()
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    tokio::spawn(rocket.launch());
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/health/live")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (base, shutdown)
}

/// A language's texts, from the locale file the binary embeds.
pub struct Texts(BTreeMap<String, String>);

impl Texts {
    pub fn of(lang: &str) -> Texts {
        let path = format!("{}/locales/{lang}.toml", env!("CARGO_MANIFEST_DIR"));
        Texts(Figment::from(Toml::file_exact(path)).extract().unwrap())
    }

    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).unwrap_or_else(|| panic!("no text {key}"))
    }
}

/// The pinned axe-core that scripts/test installs (`npm ci --prefix tests/axe`).
fn axe_source() -> String {
    let path = format!(
        "{}/tests/axe/node_modules/axe-core/axe.min.js",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; run `npm ci --prefix tests/axe` (scripts/test does)")
    })
}

/// Runs axe-core on the page as it is now, with the WCAG 2.0-2.2 A and AA rules; panics with
/// every violation (rule, impact, the elements) if there is any.
pub async fn assert_accessible(c: &Client, what: &str) {
    c.execute(&format!("{};return true;", axe_source()), vec![])
        .await
        .unwrap();
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
          .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
              nodes: v.nodes.map(n => n.html).slice(0, 3)}))))
          .catch(e => done([{id: "axe-failed", impact: String(e), nodes: []}]));
    "#;
    let violations = c.execute_async(script, vec![]).await.unwrap();
    assert_eq!(
        violations,
        Value::Array(vec![]),
        "{what}: axe-core found WCAG 2.2 AA violations"
    );
}

/// The page's visible text (what a citizen reads).
pub async fn visible_text(c: &Client) -> String {
    c.execute("return document.body.innerText;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The id of the focused element ("" for none).
pub async fn focused_id(c: &Client) -> String {
    c.execute(
        "return document.activeElement ? document.activeElement.id : '';",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

pub async fn title(c: &Client) -> String {
    c.title().await.unwrap()
}

pub async fn html_lang(c: &Client) -> String {
    c.execute("return document.documentElement.lang;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the element's text contains `wanted`, and gives the text.
pub async fn wait_text(c: &Client, css: &str, wanted: &str) -> String {
    let mut shown = String::new();
    for _ in 0..150 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            shown = e.text().await.unwrap_or_default();
            if shown.contains(wanted) {
                return shown;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {wanted:?}; last: {shown:?}");
}

/// Waits until the URL contains `part`.
pub async fn wait_url(c: &Client, part: &str) -> String {
    let mut url = String::new();
    for _ in 0..150 {
        url = c.current_url().await.unwrap().to_string();
        if url.contains(part) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {part}; at {url}");
}

/// Saves a screenshot as `<dir>/<page>-<lang>-<viewport>.png` when `AUTH_EID_SCREENSHOTS` is
/// set (scripts/screenshots sets it to docs/screenshots).
pub async fn screenshot(c: &Client, page: &str, lang: &str, viewport: Viewport) {
    let Some(dir) = std::env::var_os("AUTH_EID_SCREENSHOTS").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    let file = dir.join(format!("{page}-{lang}-{}.png", viewport.name()));
    std::fs::write(&file, png).unwrap();
}
