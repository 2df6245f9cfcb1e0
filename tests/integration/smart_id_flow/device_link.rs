//! Smart-ID by device link (RP API v3) through the plugin's pages: the page's QR code is read
//! back by an independent QR decoder (`rqrr`) and "scanned" by the simulator's app; Web2App goes
//! through our `/app` hop and back through the callback with the browser's own cookie.

use std::time::Duration;

use auth_eid::simulate::smart_id::{Simulator, SimulatorOptions};
use serde_json::{json, Value};

use super::{choose, finish, settle, smart_id_toml, TAGS};
use crate::harness::app::{location, result_of};
use crate::harness::{Options, TestApp};

/// A simulator whose unscanned sessions last (its default test timeout is 300 ms).
pub(crate) async fn simulator(delay_ms: u64) -> Simulator {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("smart-id-simulator");
    let mut o = SimulatorOptions::new("127.0.0.1:0".parse().unwrap(), dir);
    o.delay = Duration::from_millis(delay_ms);
    o.user_timeout = Duration::from_secs(30);
    auth_eid::simulate::smart_id::start(o).await.unwrap()
}

pub(crate) async fn app_v3(sim: &Simulator, https_public_url: bool) -> TestApp {
    let toml = smart_id_toml(sim, 10).replace(&sim.base_url(), &sim.base_url_v3());
    assert!(toml.contains("/smart-id-rp/v3/"));
    TestApp::spawn(Options {
        extra_toml: toml,
        https_public_url,
        ..Options::default()
    })
    .await
}

/// The text of the QR code in qrcode's SVG (`M{x} {y}h{w}v{h}H{x}V{y}` per dark run), read by
/// rasterizing it and decoding with rqrr.
fn decode_qr_svg(svg: &str) -> String {
    let num = |key: &str| -> usize {
        let at = svg.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    let (w, h) = (num("width"), num("height"));
    let mut pixels = vec![255u8; w * h];
    let d_at = svg.find(" d=\"").unwrap() + 4;
    let d = &svg[d_at..d_at + svg[d_at..].find('"').unwrap()];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = run
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
        for yy in y..y + rh {
            for xx in x..x + rw {
                pixels[yy * w + xx] = 0;
            }
        }
    }
    decode_qr_pixels(w, h, &pixels)
}

/// The text of the one QR code in a greyscale image (row by row, 0 black, 255 white).
pub(crate) fn decode_qr_pixels(w: usize, h: usize, pixels: &[u8]) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

/// The page's current QR code, once SK answered the start.
async fn qr_of_page(b: &reqwest::Client, client_url: &str) -> String {
    for _ in 0..100 {
        let res = b
            .get(format!("{client_url}/smart-id/qr.svg"))
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            assert_eq!(res.headers()["content-type"], "image/svg+xml");
            return decode_qr_svg(&res.text().await.unwrap());
        }
        assert_eq!(res.status(), 204, "not yet started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no QR code");
}

pub(crate) async fn scan(sim: &Simulator, body: Value) -> (u16, Value) {
    let ca = reqwest::Certificate::from_pem(&sim.tls_ca_pem()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/control/device-link", sim.port());
    let res = http.post(url).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Picks Smart-ID, then the device link instead of the code form; gives the CSRF token.
async fn open_device_link(b: &reqwest::Client, client_url: &str) -> String {
    let csrf = choose(b, client_url).await;
    let form = b
        .get(format!("{client_url}/smart-id"))
        .send()
        .await
        .unwrap();
    assert!(
        form.text().await.unwrap().contains("/smart-id/qr\""),
        "offered with v3"
    );
    let res = b
        .post(format!("{client_url}/smart-id/qr"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let wait = b
        .get(format!("{client_url}/smart-id/wait"))
        .send()
        .await
        .unwrap();
    let html = wait.text().await.unwrap();
    assert!(
        html.contains("smart-id/qr.svg") && !html.contains("class=\"vc\""),
        "{html}"
    );
    csrf
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_code_on_the_page_scanned_by_the_simulated_app_logs_in() {
    let sim = simulator(100).await;
    let app = app_v3(&sim, false).await;
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = open_device_link(&b, &client_url).await;
    let first = qr_of_page(&b, &client_url).await;
    assert!(
        first.contains("deviceLinkType=QR&elapsedSeconds="),
        "{first}"
    );
    assert!(
        !first.contains("sessionSecret"),
        "the secret stays on the server"
    );
    // A second later the page shows another code (the authCode changes every second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = qr_of_page(&b, &client_url).await;
    assert_ne!(first, second);
    let (code, answer) = scan(
        &sim,
        json!({"deviceLink": second, "flowType": "QR", "documentNumber": "PNOEE-40504040001-DEMO-Q"}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    assert!(settle(&b, &client_url).await.contains("\"done\""));
    let done = finish(&b, &client_url, &csrf).await;
    assert_eq!(done.status(), 303);
    let opened = app.open_token(&result_of(&location(&done)).unwrap());
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"]["sid"], "PNOEE-40504040001");
    // Another browser gets no QR code of this flow.
    let stranger = TestApp::browser();
    let res = stranger
        .get(format!("{client_url}/smart-id/qr.svg"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn web2app_comes_back_through_the_callback_and_only_with_this_browser() {
    let sim = simulator(100).await;
    // Behind TLS, as SK wants an https callback; the test talks http to loopback.
    let app = app_v3(&sim, true).await;
    let client_url = app
        .start_ok(TAGS, None)
        .await
        .replace("https://", "http://");
    let b = TestApp::browser();
    let csrf = open_device_link(&b, &client_url).await;
    qr_of_page(&b, &client_url).await; // started
    let hop = b
        .get(format!("{client_url}/smart-id/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(hop.status(), 303);
    let link = location(&hop);
    assert!(
        link.contains("deviceLinkType=Web2App&sessionToken="),
        "{link}"
    );
    let (code, answer) = scan(&sim, json!({"deviceLink": link, "flowType": "Web2App"})).await;
    assert_eq!(code, 200, "{answer}");
    let callback = answer["callbackUrl"].as_str().unwrap();
    let callback = callback.replace("https://", "http://");
    assert!(callback.starts_with(&format!("{client_url}/smart-id/callback?state=")));
    // Without the verifier's round trip the result is not taken: still running.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = b
        .get(format!("{client_url}/smart-id/status"))
        .send()
        .await
        .unwrap();
    assert!(status.text().await.unwrap().contains("running"));
    // Another browser (no flow cookie), a forged digest, a wrong state: refused.
    let stranger = TestApp::browser();
    assert_ne!(stranger.get(&callback).send().await.unwrap().status(), 303);
    let forged = callback.replace("sessionSecretDigest=", "sessionSecretDigest=x");
    assert_ne!(b.get(&forged).send().await.unwrap().status(), 303);
    let wrong_state = callback.replace("state=", "state=x");
    assert_ne!(b.get(&wrong_state).send().await.unwrap().status(), 303);
    // This browser: on to the page, and the login completes.
    let back = b.get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert!(location(&back).ends_with("/smart-id/wait"));
    assert_ne!(
        b.get(&callback).send().await.unwrap().status(),
        303,
        "single use"
    );
    assert!(settle(&b, &client_url).await.contains("\"done\""));
    let done = finish(&b, &client_url, &csrf).await;
    let opened = app.open_token(&result_of(&location(&done)).unwrap());
    assert_eq!(opened.claims["status"], "succes");
    sim.shutdown().await;
}
