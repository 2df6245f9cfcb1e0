//! Smart-ID by device link (RP API v3) in headless Chromium, end to end:
//! - the demo's QR flow on a laptop: the QR code the page shows is read from the page's own
//!   pixels (drawn on a canvas in the browser, decoded with `rqrr`), the simulated app scans
//!   that link, and the browser ends on the demo's result page;
//! - Web2App on a phone: "Open Smart-ID" instead of the QR code, the link it opens goes to the
//!   simulated app, and the app's callback brings the browser back to the plugin.
//!
//! Web2App needs an https `public_url` (SK takes https callbacks only), so that walk runs the
//! plugin as behind a TLS proxy (`https_public_url`, as `smart_id_flow::device_link` does): the
//! page links are path-only, and the callback the app answers is opened with `http://` on
//! loopback, where Chromium sends the flow's Secure cookie (loopback is a secure context).

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::harness::app::{result_of, CONTINUATION};
use crate::harness::browser::{click, text_of, Browser, Viewport};
use crate::harness::free_port;
use crate::harness::pages::{
    assert_accessible, html_lang, launch_demo, title, wait_text, wait_url, Texts,
};
use crate::smart_id_flow::device_link::{app_v3, decode_qr_pixels, scan, simulator};
use crate::smart_id_flow::TAGS;

/// The demo with its in-process simulator, and where that simulator's control API is.
struct Demo {
    base: String,
    control: String,
    ca_pem: Vec<u8>,
    shutdown: rocket::Shutdown,
}

async fn spawn_demo() -> Demo {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("auth-eid-sid-browser-{port}"));
    let config = auth_eid::demo::config(port, Some(dir.clone())).unwrap();
    let api = config.smart_id.client.as_ref().unwrap().base_url.clone();
    let control = format!(
        "https://localhost:{}/control/device-link",
        api.port().unwrap()
    );
    let ca_pem = std::fs::read(dir.join("smart-id-simulator/pki/tls-ca.pem")).unwrap();
    let (base, shutdown) = launch_demo(config).await;
    Demo {
        base,
        control,
        ca_pem,
        shutdown,
    }
}

/// The simulated app opens `link` (as `scan` does for a standalone simulator).
async fn demo_app_scans(demo: &Demo, link: &str) -> Value {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&demo.ca_pem).unwrap())
        .build()
        .unwrap();
    let body =
        json!({"deviceLink": link, "flowType": "QR", "documentNumber": "PNOEE-40504040001-DEMO-Q"});
    let res = http.post(&demo.control).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The QR code as the page shows it: the `<img>` once loaded, drawn by Chromium on a canvas;
/// its pixels in greyscale, decoded here.
async fn qr_shown(c: &Client) -> String {
    let script = r#"
        const img = document.getElementById("sid-qr");
        if (!img.complete || img.naturalWidth === 0) { return null; }
        const w = img.width, h = img.height;
        const canvas = document.createElement("canvas");
        canvas.width = w; canvas.height = h;
        const g = canvas.getContext("2d");
        g.fillStyle = "white"; g.fillRect(0, 0, w, h);
        g.drawImage(img, 0, 0, w, h);
        const d = g.getImageData(0, 0, w, h).data;
        let grey = "";
        for (let i = 0; i < d.length; i += 4) { grey += d[i] < 128 ? "0" : "1"; }
        return {w: w, h: h, grey: grey};
    "#;
    for _ in 0..100 {
        let shown = c.execute(script, vec![]).await.unwrap();
        if let Some(grey) = shown["grey"].as_str() {
            let (w, h) = (shown["w"].as_u64().unwrap(), shown["h"].as_u64().unwrap());
            let pixels: Vec<u8> = grey.bytes().map(|b| (b - b'0') * 255).collect();
            return decode_qr_pixels(w as usize, h as usize, &pixels);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed its QR code");
}

/// A new demo flow in `lang`, Smart-ID chosen, then "scan a QR code instead".
async fn open_qr_page(c: &Client, base: &str, lang: &str) {
    c.goto(&format!("{base}/demo/")).await.unwrap();
    click(c, "form[action$='/demo/start'] button").await;
    wait_url(c, "/flow/").await;
    if html_lang(c).await != lang {
        click(c, &format!("nav.langs a[hreflang={lang}]")).await;
    }
    click(c, "button[name=means][value=smart-id]").await;
    click(c, "#sid-link-offer").await;
    wait_url(c, "/smart-id/wait").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_qr_flow_completes_in_chromium_in_two_languages() {
    let demo = spawn_demo().await;
    let browser = Browser::start_as(Viewport::Desktop).await;
    let c = &browser.client;
    for lang in ["en", "nl"] {
        let t = Texts::of(lang);
        open_qr_page(c, &demo.base, lang).await;
        let heading = t.get("sid_heading");
        assert_eq!(wait_text(c, "h1", heading).await, heading, "{lang}");
        assert!(title(c).await.contains(heading), "{lang}: title");
        assert_eq!(html_lang(c).await, lang);
        let link = qr_shown(c).await;
        assert!(link.contains("deviceLinkType=QR&elapsedSeconds="), "{link}");
        // On a laptop the QR code is shown and the Web2App button is not.
        let app = c.find(Locator::Css("#sid-app")).await.unwrap();
        assert!(!app.is_displayed().await.unwrap());
        assert_eq!(
            text_of(c, "#sid-qr-block p").await,
            t.get("sid_link_scan"),
            "{lang}"
        );
        assert_accessible(c, &format!("smart-id QR page ({lang}, desktop)")).await;
        // The link shown a moment ago is still fresh enough for the app (SK allows a few
        // seconds); the simulated app scans it and the page's script finishes the flow.
        demo_app_scans(&demo, &link).await;
        wait_url(c, "/demo/result").await;
        assert_eq!(text_of(c, "#result-status").await, "succes", "{lang}");
        let claims = text_of(c, "table.claims").await;
        assert!(claims.contains("1905-04-04"), "{lang}: {claims}");
    }
    browser.close().await;
    demo.shutdown.notify();
}

#[tokio::test(flavor = "multi_thread")]
async fn web2app_on_a_phone_comes_back_through_the_callback_in_chromium() {
    let sim = simulator(100).await;
    let app = app_v3(&sim, true).await;
    let browser = Browser::start_as(Viewport::Phone).await;
    let c = &browser.client;
    let t = Texts::of("en");
    let client_url = app
        .start_ok(TAGS, None)
        .await
        .replace("https://", "http://");
    c.goto(&client_url).await.unwrap();
    click(c, "button[name=means][value=smart-id]").await;
    click(c, "#sid-link-offer").await;
    wait_url(c, "/smart-id/wait").await;
    // A touch screen: "Open Smart-ID" replaces the QR code, which this phone cannot scan.
    let open = c
        .wait()
        .for_element(Locator::Css("#sid-app"))
        .await
        .unwrap();
    for _ in 0..50 {
        if open.is_displayed().await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(open.is_displayed().await.unwrap());
    assert_eq!(open.text().await.unwrap(), t.get("sid_link_open"));
    let qr = c.find(Locator::Css("#sid-qr")).await.unwrap();
    assert!(!qr.is_displayed().await.unwrap());
    assert_accessible(c, "smart-id Web2App page (en, phone)").await;
    // Wait until SK answered the start (the page shows the QR code's image even if hidden).
    for _ in 0..100 {
        let loaded = c
            .execute(
                "const i = document.getElementById('sid-qr'); return i.complete && i.naturalWidth > 0;",
                vec![],
            )
            .await
            .unwrap();
        if loaded == Value::Bool(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The button opens a new tab (target=_blank) at our /app hop, which sends it on to the
    // Web2App link; the phone would hand that to the Smart-ID app, here the simulated one.
    let page = c.window().await.unwrap();
    open.click().await.unwrap();
    let mut link = String::new();
    'found: for _ in 0..100 {
        for w in c.windows().await.unwrap() {
            if w != page {
                c.switch_to_window(w).await.unwrap();
                link = c.current_url().await.unwrap().to_string();
                if link.contains("deviceLinkType=Web2App") {
                    break 'found;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        link.contains("deviceLinkType=Web2App&sessionToken="),
        "{link}"
    );
    // Only this tab goes on (the app opens the callback here); the first tab is closed so
    // that one page, not two racing pages, finishes the flow.
    let app_tab = c.window().await.unwrap();
    c.switch_to_window(page).await.unwrap();
    c.close_window().await.unwrap();
    c.switch_to_window(app_tab).await.unwrap();
    let (code, answer) = scan(&sim, json!({"deviceLink": link, "flowType": "Web2App"})).await;
    assert_eq!(code, 200, "{answer}");
    let callback = answer["callbackUrl"]
        .as_str()
        .unwrap()
        .replace("https://", "http://");
    assert!(callback.starts_with(&format!("{client_url}/smart-id/callback?state=")));
    c.goto(&callback).await.unwrap();
    let url = wait_url(c, CONTINUATION).await;
    let opened = app.open_token(&result_of(&url).expect("redirected with a result"));
    assert_eq!(opened.claims["status"], "succes");
    browser.close().await;
    sim.shutdown().await;
}
