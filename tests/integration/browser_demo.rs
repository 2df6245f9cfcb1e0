//! The demo as a newcomer uses it, in a real browser: no inline script, plain forms, the
//! cookie, CSRF and Origin checks as Chromium really sends them, both delivery routes.

use fantoccini::Locator;

use crate::harness::browser::{click, text_of, Browser};
use crate::harness::pages::spawn_demo;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_walks_through_in_chromium_for_both_routes() {
    let (base, shutdown) = spawn_demo().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    for delivery in ["redirect", "attr_url"] {
        c.goto(&format!("{base}/demo/")).await.unwrap();
        click(c, &format!("input[name=delivery][value={delivery}]")).await;
        click(c, "form[action$='/demo/start'] button").await;
        // the plugin's start page: pick the test means
        click(c, "button[name=means][value=test]").await;
        // the confirmation page lists what will be shared; share it
        let shared = text_of(c, "dl.shared").await;
        assert!(shared.contains("An Peeters"), "{shared}");
        click(c, "form[action$='/test'] button").await;
        // back at the relying party: decrypted and verified
        let table = text_of(c, "table.claims").await;
        assert!(
            table.contains("\"succes\"") && table.contains("An Peeters"),
            "{delivery}: {table}"
        );
        let route = if delivery == "redirect" {
            "redirect (?result=)"
        } else {
            "server-side POST"
        };
        assert!(c.source().await.unwrap().contains(route));
    }
    // the card path: the demo's emulated card behind its in-process connector (PIN 1234)
    c.goto(&format!("{base}/demo/")).await.unwrap();
    click(c, "form[action$='/demo/start'] button").await;
    click(c, "button[name=means][value=card]").await;
    c.wait()
        .for_element(Locator::Css("#card-form:not([hidden])"))
        .await
        .unwrap();
    c.find(Locator::Css("#pin"))
        .await
        .unwrap()
        .send_keys("1234")
        .await
        .unwrap();
    click(c, "#card-submit").await;
    let table = text_of(c, "table.claims").await;
    assert!(
        table.contains("\"succes\"") && table.contains("Specimen"),
        "card: {table}"
    );

    // cancel on the start page delivers a failed result
    c.goto(&format!("{base}/demo/")).await.unwrap();
    click(c, "form[action$='/demo/start'] button").await;
    click(c, "form[action$='/cancel'] button").await;
    let table = text_of(c, "table.claims").await;
    assert!(table.contains("\"failed\""), "{table}");
    browser.close().await;
    shutdown.notify();
}

/// The demo portal on the session API (issue 13, item 6): create, the citizen's pages in the
/// chosen language, back on the callback with the webhook received and its signature verified,
/// the status read back; on a laptop in English and on a phone in Dutch, with axe.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_portal_uses_the_session_api_end_to_end() {
    use crate::harness::browser::Viewport;
    use crate::harness::pages::{assert_accessible, html_lang};
    let (base, shutdown) = spawn_demo().await;
    for (lang, viewport) in [("en", Viewport::Desktop), ("nl", Viewport::Phone)] {
        let browser = Browser::start_as(viewport).await;
        let c = &browser.client;
        let what = format!("demo portal ({lang}, {})", viewport.name());
        c.goto(&format!("{base}/demo/api")).await.unwrap();
        assert_accessible(c, &what).await;
        c.find(Locator::Css(&format!("#language option[value={lang}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(c, "#api-start").await;
        // The plugin's start page, in the session's language, names the portal.
        c.wait()
            .for_element(Locator::Css("button[name=means][value=test]"))
            .await
            .unwrap();
        assert_eq!(html_lang(c).await, lang, "{what}");
        assert!(c
            .source()
            .await
            .unwrap()
            .contains("Demo portal (session API)"));
        click(c, "button[name=means][value=test]").await;
        click(c, "form[action$='/test'] button").await;
        let status = text_of(c, "#session-status").await;
        assert_eq!(status, "SUCCESS", "{what}");
        let hook = text_of(c, "#webhook").await;
        assert!(
            hook.contains("session.success") && hook.contains("signature verified"),
            "{what}: {hook}"
        );
        let subject = text_of(c, "table.attrs").await;
        assert!(subject.contains("An Peeters"), "{what}: {subject}");
        assert_accessible(c, &format!("{what}, result")).await;
        browser.close().await;
    }
    shutdown.notify();
}
