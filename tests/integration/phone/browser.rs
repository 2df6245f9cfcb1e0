//! The demo with the phone step in headless Chromium: Dutch on a laptop (1280x800), French on
//! a phone (390x844). The number form, a refused number, the code form, a wrong code, the code
//! read from the demo relying-party page (the demo sender), then the means choice and the test
//! means to the demo's result page. Each page: its language, title, focus, and zero axe-core
//! violations at WCAG 2.2 AA.

use fantoccini::{Client, Locator};

use crate::harness::browser::{click, text_of, Browser, Viewport};
use crate::harness::free_port;
use crate::harness::pages::{
    assert_accessible, focused_id, html_lang, launch_demo, screenshot, title, wait_text, wait_url,
    Texts,
};

/// `[pages] display_name` of the demo configuration (config.toml).
const SERVICE: &str = "Demo relying party";

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_with_the_phone_step_in_dutch_on_a_laptop() {
    walk("nl", Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_with_the_phone_step_in_french_on_a_phone() {
    walk("fr", Viewport::Phone).await;
}

async fn check(c: &Client, what: &str, lang: &str, viewport: Viewport, heading: &str) {
    let label = format!("{what} ({lang}, {})", viewport.name());
    assert_eq!(wait_text(c, "h1", heading).await, heading, "{label}");
    assert_eq!(html_lang(c).await, lang, "{label}");
    assert_accessible(c, &label).await;
    screenshot(c, what, lang, viewport).await;
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let field = c.wait().for_element(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn walk(lang: &'static str, viewport: Viewport) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("auth-eid-demo-phone-{port}"));
    let mut config = auth_eid::demo::config(port, Some(dir)).unwrap();
    // As AUTH_EID_PHONE__ENABLED=true would: the demo sender is the demo's own.
    config.phone.enabled = true;
    let (base, shutdown) = launch_demo(config).await;
    let browser = Browser::start_as(viewport).await;
    let c = &browser.client;
    let t = Texts::of(lang);

    c.goto(&format!("{base}/demo/")).await.unwrap();
    assert!(text_of(c, "#demo-code").await.contains("No one-time code"));
    click(c, "form[action$='/demo/start'] button").await;
    let flow_url = wait_url(c, "/flow/").await;
    if html_lang(c).await != lang {
        click(c, &format!("nav.langs a[hreflang={lang}]")).await;
    }
    let service_heading = t.get("title_service").replace("{service}", SERVICE);
    check(c, "phone", lang, viewport, &service_heading).await;
    assert!(title(c)
        .await
        .starts_with(&format!("{} · ", t.get("phone_heading"))));
    assert!(
        c.find(Locator::Css("button[name=means]")).await.is_err(),
        "no means yet"
    );

    // A number of a country not allowed: the error on the field, the focus on it.
    type_into(c, "#number", "+33 6 12 34 56 78").await;
    click(c, "#phone-send").await;
    wait_text(c, "#number-error", t.get("phone_country")).await;
    assert_eq!(focused_id(c).await, "number");
    let invalid = c.find(Locator::Css("#number")).await.unwrap();
    assert_eq!(
        invalid.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    check(c, "phone-error", lang, viewport, &service_heading).await;

    type_into(c, "#number", "0470 12 34 56").await;
    click(c, "#phone-send").await;
    check(c, "phone-code", lang, viewport, t.get("phone_code_heading")).await;
    assert!(text_of(c, "#sent-to").await.contains("+32 ••• 56"));

    // Not 6 digits: the error on the field, focused (no try spent).
    type_into(c, "#code", "12345").await;
    click(c, "#code-submit").await;
    wait_text(c, "#code-error", t.get("phone_code_format")).await;
    assert_eq!(focused_id(c).await, "code");
    check(
        c,
        "phone-code-error",
        lang,
        viewport,
        t.get("phone_code_heading"),
    )
    .await;

    // The demo page shows the code the demo sender kept.
    c.goto(&format!("{base}/demo/")).await.unwrap();
    let code = text_of(c, "#demo-code-value").await;
    assert_eq!(code.len(), 6, "{code}");
    assert!(text_of(c, "#demo-code").await.contains("+32 ••• 56"));
    c.goto(&flow_url).await.unwrap();
    type_into(c, "#code", &code).await;
    click(c, "#code-submit").await;
    check(c, "phone-verified", lang, viewport, &service_heading).await;
    click(c, "button[name=means][value=test]").await;
    wait_text(c, "h1", t.get("test_heading")).await;
    click(c, "form[action$='/test'] button").await;
    wait_url(c, "/demo/result").await;
    browser.close().await;
    shutdown.notify();
}
