//! HTTP errors, transport failures and TLS pinning.

use std::time::Duration;

use auth_eid::means::smart_id::*;
use auth_eid::simulate::smart_id as sim;
use serde_json::json;

use super::{client, request, run, settings, simulator, target};

#[tokio::test(flavor = "multi_thread")]
async fn start_errors_are_typed() {
    let s = simulator(0).await;
    let c = client(&s);
    let start = |id: &'static str| {
        let c = c.clone();
        async move {
            c.start_authentication(&target(id), &request(&c))
                .await
                .unwrap_err()
        }
    };
    assert_eq!(
        start("PNOEE-10101010005").await,
        SmartIdError::NoSuitableAccount
    );
    assert_eq!(start("PNOEE-10101010016").await, SmartIdError::ViewApp);
    assert_eq!(
        start("PNOEE-10101010027").await,
        SmartIdError::AccountNotFound
    );
    // An ADVANCED-only account asked for QUALIFIED: 471.
    assert_eq!(
        start("PNOLT-40504049999").await,
        SmartIdError::NoSuitableAccount
    );
    // Unknown person (check digit wrong, so no account): 404.
    assert_eq!(
        start("PNOEE-40504040002").await,
        SmartIdError::AccountNotFound
    );

    let mut bad = settings(&s);
    bad.relying_party_uuid = "11111111-2222-4333-8444-555555555555".into();
    let e = SmartIdClient::new(bad).unwrap();
    let err = e
        .start_authentication(&target("PNOEE-40504040001"), &request(&e))
        .await;
    assert_eq!(err.unwrap_err(), SmartIdError::Unauthorized);

    let mut bad = settings(&s);
    bad.relying_party_name = "NOT REGISTERED".into();
    let e = SmartIdClient::new(bad).unwrap();
    let err = e
        .start_authentication(&target("PNOEE-40504040001"), &request(&e))
        .await;
    assert_eq!(err.unwrap_err(), SmartIdError::BadRequest);

    // The DEMO relying party may not use ADVANCED accounts: 403.
    let mut adv = settings(&s);
    adv.certificate_level = CertificateLevel::Advanced;
    let e = SmartIdClient::new(adv.clone()).unwrap();
    let err = e
        .start_authentication(&target("PNOLT-40504049999"), &request(&e))
        .await;
    assert_eq!(err.unwrap_err(), SmartIdError::Forbidden);
    // A relying party with the privilege gets the ADVANCED account, and it verifies.
    adv.relying_party_uuid = sim::ADVANCED_RP_UUID.into();
    adv.relying_party_name = sim::ADVANCED_RP_NAME.into();
    let e = SmartIdClient::new(adv).unwrap();
    let v = super::login(&e, "PNOLT-40504049999").await.unwrap();
    assert_eq!(v.level, CertificateLevel::Advanced);

    let unknown = "6f1e9a34-0000-4000-8000-000000000000";
    assert_eq!(
        c.session_status(unknown, 1000).await.unwrap_err(),
        SmartIdError::SessionNotFound
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_faults_map_to_typed_errors() {
    let s = simulator(0).await;
    let mut set = settings(&s);
    set.request_timeout = Duration::from_millis(800);
    let c = SmartIdClient::new(set).unwrap();
    let cases = [
        ("http_500", SmartIdError::Server(500)),
        ("http_503", SmartIdError::Server(503)),
        ("http_480", SmartIdError::ClientTooOld),
        ("http_580", SmartIdError::Maintenance),
        ("slow_answer", SmartIdError::Timeout),
    ];
    for (fault, want) in cases {
        s.add_fault(&json!({"fault": fault, "delay_ms": 3000}))
            .unwrap();
        let got = c
            .start_authentication(&target("PNOEE-40504040001"), &request(&c))
            .await;
        assert_eq!(got.unwrap_err(), want, "{fault}");
    }
    s.add_fault(&json!({"fault": "drop_connection"})).unwrap();
    let got = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await;
    assert!(matches!(got, Err(SmartIdError::Transport(_))), "{got:?}");
    s.add_fault(&json!({"fault": "broken_json"})).unwrap();
    let got = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await;
    assert!(
        matches!(got, Err(SmartIdError::BrokenResponse(_))),
        "{got:?}"
    );
    // A fault on a status request: the poll fails, the next poll works.
    let p = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await
        .unwrap();
    s.add_fault(&json!({"fault": "http_500"})).unwrap();
    assert_eq!(
        c.session_status(&p.session_id, 1000).await,
        Err(SmartIdError::Server(500))
    );
    assert!(c.session_status(&p.session_id, 1000).await.is_ok());
    for e in [
        SmartIdError::Server(500),
        SmartIdError::Timeout,
        SmartIdError::Maintenance,
    ] {
        assert!(e.failure().retry);
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_mismatch_refuses_before_any_request() {
    let s = simulator(0).await;
    let mut set = settings(&s);
    set.tls.pins = vec![Pin([9; 32])];
    let c = SmartIdClient::new(set).unwrap();
    let err = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await
        .unwrap_err();
    assert_eq!(err, SmartIdError::PinMismatch);
    assert_eq!(err.failure().message_key, "smart_id.unavailable");
    assert_eq!(s.stats()["requests"], 0);
    assert_eq!(s.stats()["sessions_created"], 0);
    // Pinned but not chained to a trusted CA (system store only): refused too.
    let mut set = settings(&s);
    set.tls.ca_pem = None;
    let c = SmartIdClient::new(set).unwrap();
    let err = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await;
    assert!(matches!(err, Err(SmartIdError::Tls(_))), "{err:?}");
    assert_eq!(s.stats()["requests"], 0);
    // A second pin next to the right one (rotation): accepted.
    let mut set = settings(&s);
    set.tls.pins.insert(0, Pin([9; 32]));
    let c = SmartIdClient::new(set).unwrap();
    assert!(run(&c, &target("PNOEE-40504040001"), &request(&c))
        .await
        .is_ok());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_api_down_is_a_connect_error() {
    let s = simulator(0).await;
    let set = settings(&s);
    s.shutdown().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let c = SmartIdClient::new(set).unwrap();
    let err = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await
        .unwrap_err();
    assert!(matches!(err, SmartIdError::Connect(_)), "{err:?}");
    assert!(err.failure().retry);
}

#[test]
fn settings_are_checked_and_secrets_hidden() {
    let tls = TlsSettings {
        pins: vec![Pin([1; 32])],
        ca_pem: None,
    };
    let ok = SmartIdSettings::new(
        "https://sid.demo.sk.ee/smart-id-rp/v2/".parse().unwrap(),
        sim::DEMO_RP_UUID,
        "DEMO",
        tls.clone(),
    );
    assert!(!format!("{ok:?}").contains(sim::DEMO_RP_UUID));
    assert!(SmartIdClient::new(ok.clone()).is_ok());
    let mut http = ok.clone();
    http.base_url = "http://sid.demo.sk.ee/smart-id-rp/v2/".parse().unwrap();
    assert!(SmartIdClient::new(http).is_err());
    let mut nopin = ok.clone();
    nopin.tls.pins.clear();
    assert!(SmartIdClient::new(nopin).is_err());
    let mut long = ok;
    long.relying_party_name = "x".repeat(33);
    assert!(SmartIdClient::new(long).is_err());
}

/// The command-line simulator: it prints its URL, pin and files, and a login against it works.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_the_same_api() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    /// Stops the simulator even if an assertion fails first.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let dir = super::state_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_auth-eid"))
        .args([
            "simulate",
            "smart-id",
            "--listen",
            "127.0.0.1:0",
            "--delay-ms",
            "0",
        ])
        .arg("--state-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let url = url.rsplit(' ').next().unwrap().to_string();
    let pin = lines.next().unwrap().unwrap();
    let pin = Pin::parse(pin.rsplit(' ').next().unwrap()).unwrap();
    let ca = std::fs::read(dir.join("pki/tls-ca.pem")).unwrap();
    let tls = TlsSettings {
        pins: vec![pin],
        ca_pem: Some(ca),
    };
    let set = SmartIdSettings::new(url.parse().unwrap(), sim::DEMO_RP_UUID, "demo", tls);
    let c = SmartIdClient::new(set).unwrap();
    let v = super::login(&c, "PNOBE-00010299944").await;
    drop(child);
    assert_eq!(v.unwrap().fields()["date_of_birth"], "2000-01-02");
}
