//! Branding in headless Chromium: the deployment's colour and footer on an ID Contact or plain
//! relying-party flow, and a relying party's own logo, colour and footer on its flows (issue
//! 12, item 2), in two languages and two viewports, with axe-core finding nothing.

use fantoccini::Client;
use serde_json::{json, Value};

use crate::harness::browser::{Browser, Viewport};
use crate::harness::pages::{assert_accessible, html_lang, wait_text, Texts};
use crate::harness::{Options, TestApp};
use crate::rp_api::{sha256_hex, KEY, OTHER_KEY};

const DEPLOYMENT_COLOUR: &str = "rgb(11, 83, 148)"; // #0b5394
const PORTAL_COLOUR: &str = "rgb(107, 44, 145)"; // #6b2c91

fn config(static_dir: &std::path::Path) -> String {
    format!(
        r##"
[pages]
static_dir = "{dir}"
primary_color = "#0b5394"
footer = {{ en = "Deployment footer", nl = "Voettekst van de dienst" }}
[[relying_party]]
id = "portal"
display_name = "Testville portal"
means = ["test"]
callback_prefixes = ["http://127.0.0.1:9300/back"]
api_key_sha256 = "{portal}"
[relying_party.branding]
logo = "portal.svg"
logo_alt = {{ en = "Testville portal logo", nl = "Logo van het Testville-portaal" }}
primary_color = "#6b2c91"
footer = {{ en = "Portal footer", nl = "Voettekst van het portaal" }}
[[relying_party]]
id = "helpdesk"
display_name = "Helpdesk"
means = ["test"]
callback_prefixes = ["http://127.0.0.1:9301/"]
api_key_sha256 = "{helpdesk}"
"##,
        dir = static_dir.display(),
        portal = sha256_hex(KEY),
        helpdesk = sha256_hex(OTHER_KEY),
    )
}

async fn session(app: &TestApp, key: &str, callback: &str, lang: &str) -> String {
    let body = json!({
        "allowedProviders": ["test"],
        "requestedAttributes": ["email"],
        "callbackUrls": {"success": format!("{callback}ok"), "abort": format!("{callback}abort"),
            "error": format!("{callback}error")},
        "language": lang,
    });
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", app.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    // The session's `language` opens the pages in it (the URL carries `?lang=`).
    let url = created["authenticationUrl"].as_str().unwrap();
    assert!(url.ends_with(&format!("?lang={lang}")), "{url}");
    url.to_string()
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// What the start page shows of the branding: the top bar's accent, the footer, the logo's alt.
async fn look(c: &Client) -> (String, String, Option<String>) {
    let accent = js(
        c,
        "return getComputedStyle(document.querySelector('.topbar')).borderTopColor;",
    )
    .await;
    let footer = js(c, "return document.querySelector('footer').innerText;").await;
    let alt = js(
        c,
        "const i = document.querySelector('img.logo'); return i && i.complete && i.naturalWidth > 0 ? i.alt : null;",
    )
    .await;
    (
        accent.as_str().unwrap_or_default().to_string(),
        footer.as_str().unwrap_or_default().trim().to_string(),
        alt.as_str().map(str::to_string),
    )
}

/// Waits until the top bar's logo has loaded (served from `/static/site/`).
async fn logo_loaded(c: &Client) {
    for _ in 0..50 {
        let done = js(c, "const i = document.querySelector('img.logo'); return !!(i && i.complete && i.naturalWidth > 0);").await;
        if done == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the relying party's logo never loaded");
}

async fn walk(lang: &'static str, viewport: Viewport) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portal.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg' width='120' height='32'><rect width='120' height='32' fill='#6b2c91'/></svg>",
    )
    .unwrap();
    let app = TestApp::spawn(Options {
        extra_toml: config(dir.path()),
        ..Options::default()
    })
    .await;
    let t = Texts::of(lang);
    let browser = Browser::start_as(viewport).await;
    let c = &browser.client;
    let what = |who: &str| format!("{who} ({lang}, {})", viewport.name());
    let footer = |en: &str, nl: &str| if lang == "nl" { nl } else { en }.to_string();

    // The relying party's own look.
    c.goto(&session(&app, KEY, "http://127.0.0.1:9300/back/", lang).await)
        .await
        .unwrap();
    wait_text(c, "h1", "Testville portal").await;
    assert_eq!(html_lang(c).await, lang, "{}", what("portal"));
    logo_loaded(c).await;
    let (accent, text, alt) = look(c).await;
    assert_eq!(accent, PORTAL_COLOUR, "{}", what("portal colour"));
    assert_eq!(text, footer("Portal footer", "Voettekst van het portaal"));
    let want_alt = footer("Testville portal logo", "Logo van het Testville-portaal");
    assert_eq!(
        alt.as_deref(),
        Some(want_alt.as_str()),
        "{}",
        what("portal logo")
    );
    assert_accessible(c, &what("portal start page")).await;

    // Another relying party without its own: the deployment's colour and footer, no logo.
    c.goto(&session(&app, OTHER_KEY, "http://127.0.0.1:9301/", lang).await)
        .await
        .unwrap();
    wait_text(c, "h1", "Helpdesk").await;
    let (accent, text, alt) = look(c).await;
    assert_eq!(accent, DEPLOYMENT_COLOUR, "{}", what("helpdesk colour"));
    assert_eq!(text, footer("Deployment footer", "Voettekst van de dienst"));
    assert_eq!(alt, None, "{}", what("no logo"));
    assert!(
        js(c, "return document.querySelector('.site-name').innerText;")
            .await
            .as_str()
            .is_some_and(|s| s == t.get("site_name")),
        "{}",
        what("the site name stands where no logo is")
    );
    assert_accessible(c, &what("helpdesk start page")).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relying_party_branding_in_english_on_a_laptop() {
    walk("en", Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relying_party_branding_in_dutch_on_a_phone() {
    walk("nl", Viewport::Phone).await;
}
