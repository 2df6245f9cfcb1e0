//! The card path with every real part: the plugin, pcscd with the vpcd driver, the virtual
//! card, the connector, and (last) headless Chromium running the page's script, so CORS, the
//! `Origin` header and the page's own code are exercised for real.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::card::lab::{Card, Lab};
use crate::card_flow::card_toml;
use crate::harness::app::{result_of, CONTINUATION};
use crate::harness::browser::{click, text_of, Browser};
use crate::harness::{free_port, Options, TestApp};

/// The plugin and a lab whose connector allows the plugin's origin.
async fn plugin_and_lab(cards: &[Card<'_>]) -> (TestApp, Lab) {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let lab = Lab::start_for(&[&origin], cards).await;
    let extra_toml = card_toml(&lab.pki_dir(), &lab.base, None);
    let app = TestApp::spawn(Options {
        port: Some(port),
        extra_toml,
        ..Options::default()
    })
    .await;
    (app, lab)
}

#[tokio::test(flavor = "multi_thread")]
async fn browserless_flow_through_pcscd_and_the_connector_for_both_cards() {
    let (app, lab) = plugin_and_lab(&[Card::rsa(), Card::ec()]).await;
    for reader in [crate::card::lab::RSA_READER, crate::card::lab::EC_READER] {
        let client_url = app.start_ok(&["nrn", "fullname", "city"], None).await;
        let browser = TestApp::browser();
        let csrf = app.choose(&browser, &client_url, "card").await;
        let nonce: Value = browser
            .post(format!("{client_url}/card/nonce"))
            .json(&json!({"csrf": csrf}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body = json!({"challenge": nonce["challenge"], "pin": "1234", "reader": reader});
        let (status, token) = lab.authenticate(&app.base, body).await;
        assert_eq!(status, 200, "{token}");
        let res = browser
            .post(format!("{client_url}/card/token"))
            .json(&json!({"csrf": csrf, "token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let location = res.json::<Value>().await.unwrap()["location"]
            .as_str()
            .unwrap()
            .to_string();
        let claims = app.open_token(&result_of(&location).unwrap()).claims;
        assert_eq!(claims["status"], "succes", "{reader}");
        assert_eq!(claims["attributes"].as_object().unwrap().len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_walks_the_card_page_with_the_real_connector() {
    let (app, _lab) = plugin_and_lab(&[Card::rsa()]).await;
    let client_url = app.start_ok(&["nrn", "fullname"], None).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&client_url).await.unwrap();
    click(c, "button[name=means][value=card]").await;
    // the page's script found the connector, the reader and the card
    c.wait()
        .for_element(Locator::Css("#card-form:not([hidden])"))
        .await
        .unwrap();
    assert!(text_of(c, "#card-status").await.contains("Card found"));
    // a wrong PIN first: the connector's answer is shown, the flow goes on
    c.find(Locator::Css("#pin"))
        .await
        .unwrap()
        .send_keys("9999")
        .await
        .unwrap();
    click(c, "#card-submit").await;
    let mut shown = String::new();
    for _ in 0..100 {
        shown = text_of(c, "#card-status").await;
        if shown.contains("Wrong PIN") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown.contains("Wrong PIN code. 2 tries left."), "{shown}");
    c.find(Locator::Css("#pin"))
        .await
        .unwrap()
        .send_keys("1234")
        .await
        .unwrap();
    click(c, "#card-submit").await;
    // the browser ends at the continuation with the result
    let mut url = String::new();
    for _ in 0..150 {
        url = c.current_url().await.unwrap().to_string();
        if url.starts_with(CONTINUATION) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let claims = app
        .open_token(&result_of(&url).expect("redirected with a result"))
        .claims;
    assert_eq!(claims["status"], "succes");
    assert_eq!(claims["attributes"]["nrn"], "85073000160");
    browser.close().await;
}
