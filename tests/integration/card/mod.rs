//! The card path with real parts: pcscd + vpcd + `auth-eid simulate card` + `auth-eid
//! connector`, over HTTP as a page would call it.

pub mod lab;

use std::time::Duration;

use auth_eid::means::card::{verify_token, WebEidToken};
use auth_eid::simulate::card::pki::person;
use auth_eid::simulate::card::Profile;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use lab::{Card, Lab, EC_READER, ORIGIN, RSA_READER};

fn challenge() -> (Vec<u8>, String) {
    let mut bytes = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut bytes).expect("random");
    let b64 = STANDARD.encode(&bytes);
    (bytes, b64)
}

fn auth_body(reader: &str, pin: &str, photo: bool) -> (Vec<u8>, Value) {
    let (raw, b64) = challenge();
    (
        raw,
        json!({"challenge": b64, "pin": pin, "reader": reader, "photo": photo}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_readers_cards_and_applets() {
    let lab = Lab::start(&[Card::rsa(), Card::ec()]).await;
    let (code, s) = lab.status(Some(RSA_READER)).await.unwrap();
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["readers"].as_array().unwrap().len(), 2);
    assert_eq!(
        (s["applet"].as_str(), s["card_present"].as_bool()),
        (Some("1.7"), Some(true))
    );
    assert!(s["pin_tries_left"].is_null());
    let (_, s) = lab.status(Some(EC_READER)).await.unwrap();
    assert_eq!(
        (s["applet"].as_str(), s["pin_tries_left"].as_u64()),
        (Some("1.8"), Some(3))
    );
    let (code, s) = lab.status(Some("No Such Reader 00 00")).await.unwrap();
    assert_eq!((code, s["error"].as_str()), (404, Some("unknown_reader")));
}

#[tokio::test(flavor = "multi_thread")]
async fn both_cards_authenticate_and_the_tokens_verify() {
    let lab = Lab::start(&[Card::rsa(), Card::ec()]).await;
    for (reader, profile, alg) in [
        (RSA_READER, Profile::Rsa, "RS256"),
        (EC_READER, Profile::Ec, "ES384"),
    ] {
        let (raw, body) = auth_body(reader, "1234", true);
        let (code, token) = lab.authenticate(ORIGIN, body).await;
        assert_eq!(code, 200, "{token}");
        assert!(token["beid"]["photo"].is_string());
        let token: WebEidToken = serde_json::from_value(token).unwrap();
        assert_eq!(token.algorithm, alg);
        let verified = verify_token(&token, ORIGIN, &raw).expect("the token verifies");
        let fields = verified.fields();
        assert_eq!(fields["national_number"], person(profile).national_number);
        assert_eq!(fields["municipality"], "Demostad");
        // Signed for the page's origin only.
        assert!(verify_token(&token, "https://evil.example", &raw).is_err());
    }
    // Photo only on request.
    let (_, body) = auth_body(EC_READER, "1234", false);
    let (_, token) = lab.authenticate(ORIGIN, body).await;
    assert!(token["beid"].get("photo").is_none());
    assert!(lab.pki_dir().join("root.pem").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_pin_twice_then_right() {
    let lab = Lab::start(&[Card::ec()]).await;
    for left in [2, 1] {
        let (_, body) = auth_body(EC_READER, "0000", false);
        let (code, err) = lab.authenticate(ORIGIN, body).await;
        assert_eq!(code, 401, "{err}");
        assert_eq!(err["error"], "wrong_pin");
        assert_eq!(err["tries_left"], left);
    }
    let (_, s) = lab.status(Some(EC_READER)).await.unwrap();
    assert_eq!(s["pin_tries_left"], 1);
    let (_, body) = auth_body(EC_READER, "1234", false);
    let (code, token) = lab.authenticate(ORIGIN, body).await;
    assert_eq!(code, 200, "{token}");
    let (_, s) = lab.status(Some(EC_READER)).await.unwrap();
    assert_eq!(s["pin_tries_left"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn three_wrong_pins_block_the_card() {
    let lab = Lab::start(&[Card::rsa()]).await;
    let mut last = Value::Null;
    for _ in 0..3 {
        let (_, body) = auth_body(RSA_READER, "9999", false);
        last = lab.authenticate(ORIGIN, body).await.1;
    }
    assert_eq!(last["error"], "pin_blocked");
    let (_, body) = auth_body(RSA_READER, "1234", false);
    let (code, err) = lab.authenticate(ORIGIN, body).await;
    assert_eq!((code, err["error"].as_str()), (423, Some("pin_blocked")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_pulled_out_mid_read_is_reported() {
    // 12 APDUs: card data, VERIFY, MSE, PSO, GET RESPONSE, LOG OFF, then file reads.
    let lab = Lab::start(&[Card::rsa().with(&["--drop-after-apdus", "12"])]).await;
    let (_, body) = auth_body(RSA_READER, "1234", false);
    let (code, err) = lab.authenticate(ORIGIN, body).await;
    assert_eq!(
        (code, err["error"].as_str()),
        (409, Some("card_removed")),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, s) = lab.status(None).await.unwrap();
    assert_eq!(s["card_present"], false, "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_origins_get_403_and_never_reach_the_card() {
    let log = std::env::temp_dir().join(format!("auth-eid-apdu-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let lab = Lab::start(&[Card::ec().with(&["--apdu-log", log.to_str().unwrap()])]).await;
    let url = |p: &str| format!("{}{p}", lab.base);
    // The lab's readiness check (allowed origin) already read the card data.
    let seen = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let before = seen();
    for origin in [
        Some("https://evil.example"),
        Some("https://rp.example.evil"),
        None,
    ] {
        let (_, body) = auth_body(EC_READER, "1234", false);
        let mut reqs = vec![
            lab.http.post(url("/v1/authenticate")).json(&body),
            lab.http.get(url("/v1/status")),
            lab.http
                .request(reqwest::Method::OPTIONS, url("/v1/authenticate"))
                .header("Access-Control-Request-Method", "POST"),
        ];
        for req in reqs.drain(..) {
            let req = match origin {
                Some(o) => req.header("Origin", o),
                None => req,
            };
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), 403);
            assert!(res.headers().get("access-control-allow-origin").is_none());
            let err: Value = res.json().await.unwrap();
            assert_eq!(err["error"], "origin_not_allowed");
        }
    }
    assert_eq!(seen(), before, "a refused request reached the card");
    // The allowed origin does reach it (so the log above really is empty for a reason).
    let res = lab
        .http
        .request(reqwest::Method::OPTIONS, url("/v1/authenticate"))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    lab.status(Some(EC_READER)).await.unwrap();
    assert!(seen() > before);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_card_and_no_smart_card_service_are_reported() {
    let lab = Lab::start(&[]).await;
    let (_, s) = lab.status(None).await.unwrap();
    assert_eq!(
        (
            s["readers"].as_array().unwrap().len(),
            s["card_present"].as_bool()
        ),
        (2, Some(false))
    );
    let (_, body) = auth_body(RSA_READER, "1234", false);
    let (code, err) = lab.authenticate(ORIGIN, body.clone()).await;
    assert_eq!(
        (code, err["error"].as_str()),
        (409, Some("no_card")),
        "{err}"
    );
    drop(lab);
    let lab = Lab::without_pcscd().await;
    let (code, err) = lab.authenticate(ORIGIN, body).await;
    assert_eq!(
        (code, err["error"].as_str()),
        (503, Some("pcsc_unavailable")),
        "{err}"
    );
}

#[test]
fn the_connector_refuses_non_loopback_addresses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args([
            "connector",
            "--listen",
            "0.0.0.0:24801",
            "--allow-origin",
            ORIGIN,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
