//! The citizen's 429 page in headless Chromium: two languages, laptop and phone, zero
//! axe-core violations at WCAG 2.2 AA, the message focused.

use fantoccini::{Client, Locator};

use crate::harness::browser::{click, Browser, Viewport};
use crate::harness::pages::{
    assert_accessible, focused_id, html_lang, screenshot, title, visible_text, wait_text, wait_url,
    Texts,
};
use crate::harness::{Options, TestApp};
use crate::smart_id::simulator;
use crate::smart_id_flow::smart_id_toml;

const ONE_START: &str = "
[limits.smart_id_start]
count = 1
window_seconds = 600
";

#[tokio::test(flavor = "multi_thread")]
async fn the_limit_page_in_dutch_on_a_laptop() {
    limit_page("nl", Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_limit_page_in_french_on_a_phone() {
    limit_page("fr", Viewport::Phone).await;
}

/// Opens a new flow in the browser, in `lang`, and submits a Smart-ID code.
async fn start_smart_id(c: &Client, app: &TestApp, lang: &str) {
    let client_url = app.start_ok(&["name"], None).await;
    c.goto(&client_url).await.unwrap();
    if html_lang(c).await != lang {
        click(c, &format!("nav.langs a[hreflang={lang}]")).await;
        for _ in 0..100 {
            if html_lang(c).await == lang {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    click(c, "button[name=means][value=smart-id]").await;
    wait_url(c, "/smart-id").await;
    click(c, "#country option[value=EE]").await;
    let field = c.wait().for_element(Locator::Css("#code")).await.unwrap();
    field.send_keys("30403039983").await.unwrap();
    click(c, ".sid-form button[type=submit]").await;
}

async fn limit_page(lang: &'static str, viewport: Viewport) {
    let sim = simulator(100).await;
    let app = TestApp::spawn(Options {
        extra_toml: smart_id_toml(&sim, 10),
        limits_toml: ONE_START.to_string(),
        ..Options::default()
    })
    .await;
    let t = Texts::of(lang);
    let browser = Browser::start_as(viewport).await;
    let c = &browser.client;
    start_smart_id(c, &app, lang).await;
    wait_url(c, "/smart-id/wait").await;
    // The same person again, in a new flow: over the budget of one.
    start_smart_id(c, &app, lang).await;
    let heading = wait_text(c, "h1", t.get("limited_heading")).await;
    assert_eq!(heading, t.get("limited_heading"));
    assert_eq!(html_lang(c).await, lang);
    assert!(title(c).await.contains(t.get("limited_heading")));
    let text = visible_text(c).await;
    let wait = t.get("limited_body_other").replace("{n}", "10");
    assert!(text.contains(&wait), "{text}");
    assert!(text.contains(t.get("limited_why")), "{text}");
    assert!(!text.contains("30403039983"), "no national number shown");
    assert_eq!(focused_id(c).await, "page-error");
    assert_accessible(c, &format!("rate limited ({lang}, {})", viewport.name())).await;
    screenshot(c, "rate-limited", lang, viewport).await;
    browser.close().await;
}
