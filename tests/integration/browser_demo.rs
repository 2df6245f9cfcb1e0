//! The demo as a newcomer uses it, in a real browser: no inline script, plain forms, the
//! cookie, CSRF and Origin checks as Chromium really sends them, both delivery routes.

use std::time::Duration;

use fantoccini::Locator;

use crate::harness::browser::Browser;
use crate::harness::free_port;

async fn spawn_demo() -> (String, rocket::Shutdown) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("auth-eid-demo-test-{port}"));
    let config = auth_eid::demo::config(port, Some(dir)).unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_walks_through_in_chromium_for_both_routes() {
    let (base, shutdown) = spawn_demo().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    for delivery in ["redirect", "attr_url"] {
        c.goto(&format!("{base}/demo/")).await.unwrap();
        c.find(Locator::Css(&format!(
            "input[name=delivery][value={delivery}]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        c.find(Locator::Css("form[action$='/demo/start'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // the plugin's start page: pick the test means
        c.wait()
            .for_element(Locator::Css("button[name=means][value=test]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // the confirmation page lists what will be shared; share it
        let shared = c
            .wait()
            .for_element(Locator::Css("dl.shared"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(shared.contains("an.peeters@example.org"), "{shared}");
        c.find(Locator::Css("form[action$='/test'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // back at the relying party: decrypted and verified
        let table = c
            .wait()
            .for_element(Locator::Css("table.claims"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            table.contains("\"succes\"") && table.contains("An Peeters"),
            "{delivery}: {table}"
        );
        let page = c.source().await.unwrap();
        assert!(page.contains(if delivery == "redirect" {
            "redirect (?result=)"
        } else {
            "server-side POST"
        }));
    }
    // cancel on the start page delivers a failed result
    c.goto(&format!("{base}/demo/")).await.unwrap();
    c.find(Locator::Css("form[action$='/demo/start'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("form[action$='/cancel'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let table = c
        .wait()
        .for_element(Locator::Css("table.claims"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains("\"failed\""), "{table}");
    browser.close().await;
    shutdown.notify();
}
