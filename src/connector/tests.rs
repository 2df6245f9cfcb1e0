//! The connector over the in-process virtual card: HTTP rules and the busy lock. The real
//! PC/SC path is in `tests/integration/card`.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use super::service::{Connector, ConnectorError};
use super::{rocket, Settings};
use crate::means::card::beid::Pin;
use crate::means::card::transport::{CardAccess, CardTransport, ReaderInfo, TransportError};
use crate::simulate::card::{test_card, EmulatedAccess, Profile};

const ORIGIN: &str = "https://rp.example";

async fn client() -> Client {
    let settings = Settings::new("127.0.0.1:24801".parse().unwrap(), &[ORIGIN.into()]).unwrap();
    let access = Arc::new(EmulatedAccess::new(test_card(Profile::Ec)));
    Client::tracked(rocket(settings, access)).await.unwrap()
}

fn challenge() -> String {
    STANDARD.encode([5u8; 32])
}

async fn post(c: &Client, host: &str, body: Value) -> (Status, Value) {
    let res = c
        .post("/v1/authenticate")
        .header(Header::new("Origin", ORIGIN))
        .header(Header::new("Host", host.to_string()))
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    (res.status(), res.into_json().await.unwrap_or(Value::Null))
}

#[rocket::async_test]
async fn bad_input_is_400_with_a_code() {
    let c = client().await;
    let host = "127.0.0.1:24801";
    for body in [
        json!({"challenge": STANDARD.encode([1u8; 16]), "pin": "1234"}),
        json!({"challenge": "not base64!", "pin": "1234"}),
        json!({"challenge": challenge().trim_end_matches('='), "pin": "1234"}),
        json!({"challenge": challenge(), "pin": "12"}),
        json!({"challenge": challenge(), "pin": "12ab"}),
        json!({"challenge": challenge(), "pin": "1234", "origin": "https://evil.example"}),
        json!({"pin": "1234"}),
    ] {
        let (status, err) = post(&c, host, body.clone()).await;
        assert_eq!(status, Status::BadRequest, "{body}");
        assert_eq!(err["error"], "bad_request");
        assert!(!err.to_string().contains("12ab"));
    }
    let (status, token) = post(&c, host, json!({"challenge": challenge(), "pin": "1234"})).await;
    assert_eq!(status, Status::Ok, "{token}");
    assert_eq!(token["algorithm"], "ES384");
}

#[rocket::async_test]
async fn a_foreign_host_name_is_refused() {
    // DNS rebinding: evil.example resolving to 127.0.0.1 still carries its own Host.
    let c = client().await;
    let (status, err) = post(&c, "evil.example:24801", json!({})).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (Status::Forbidden, Some("origin_not_allowed"))
    );
    let (status, _) = post(&c, "localhost:24801", json!({})).await;
    assert_eq!(status, Status::BadRequest);
}

#[test]
fn settings_refuse_other_addresses_and_bad_origins() {
    let ok = "127.0.0.1:1".parse().unwrap();
    assert!(Settings::new("0.0.0.0:1".parse().unwrap(), &[ORIGIN.into()]).is_err());
    assert!(Settings::new("[::1]:1".parse().unwrap(), &[ORIGIN.into()]).is_ok());
    for bad in [
        "https://rp.example/",
        "rp.example",
        "https://rp.example/path",
        "ftp://x",
        "http://rp.example",
        "http://192.0.2.7:8000",
        "http://localhost.evil.example",
    ] {
        assert!(Settings::new(ok, &[bad.into()]).is_err(), "{bad}");
    }
    for good in [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ] {
        assert!(Settings::new(ok, &[good.into()]).is_ok(), "{good}");
    }
    let plain = Settings::new(ok, &["http://rp.example".into()]).unwrap_err();
    assert!(plain.to_string().contains("must use https"), "{plain}");
}

#[rocket::async_test]
async fn a_wrong_pin_is_answered_after_a_delay_and_a_right_one_at_once() {
    let c = client().await;
    let host = "127.0.0.1:24801";
    let started = std::time::Instant::now();
    let (status, err) = post(&c, host, json!({"challenge": challenge(), "pin": "9999"})).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (Status::Unauthorized, Some("wrong_pin"))
    );
    assert!(
        started.elapsed() >= super::service::WRONG_PIN_DELAY,
        "{:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let (status, _) = post(&c, host, json!({"challenge": challenge(), "pin": "1234"})).await;
    assert_eq!(status, Status::Ok);
    assert!(
        started.elapsed() < super::service::WRONG_PIN_DELAY,
        "{:?}",
        started.elapsed()
    );
}

/// A card that takes its time, to hold the operation lock.
struct Slow(EmulatedAccess);

impl CardAccess for Slow {
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        self.0.readers()
    }
    fn session(
        &self,
        reader: Option<&str>,
        op: &mut dyn FnMut(&mut dyn CardTransport),
    ) -> Result<(), TransportError> {
        std::thread::sleep(Duration::from_millis(300));
        self.0.session(reader, op)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_operation_meanwhile_is_busy() {
    let access = Arc::new(Slow(EmulatedAccess::new(test_card(Profile::Rsa))));
    let connector = Arc::new(Connector::new(access));
    let run = |c: Arc<Connector>| async move {
        c.authenticate(
            ORIGIN.into(),
            challenge(),
            Pin::parse("1234").unwrap(),
            None,
            false,
        )
        .await
    };
    let first = tokio::spawn(run(connector.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        run(connector.clone()).await.unwrap_err(),
        ConnectorError::Busy
    );
    assert!(connector.status(None).await.unwrap().busy);
    assert!(first.await.unwrap().is_ok());
    assert!(!connector.status(None).await.unwrap().busy);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_operation_keeps_the_card_busy_until_the_card_is_done() {
    let access = Arc::new(Slow(EmulatedAccess::new(test_card(Profile::Rsa))));
    let connector = Arc::new(Connector::new(access));
    let first = {
        let c = connector.clone();
        tokio::spawn(async move {
            c.authenticate(
                ORIGIN.into(),
                challenge(),
                Pin::parse("1234").unwrap(),
                None,
                false,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The HTTP request is given up on (client gone): the card session still runs.
    first.abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = connector
        .authenticate(
            ORIGIN.into(),
            challenge(),
            Pin::parse("1234").unwrap(),
            None,
            false,
        )
        .await;
    assert_eq!(second.unwrap_err(), ConnectorError::Busy);
    // Once the card session has ended, the card is free again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!connector.status(None).await.unwrap().busy);
}
