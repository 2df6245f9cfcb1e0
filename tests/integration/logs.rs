//! The real binary's logs over whole flows: useful lines, and no token, key or attribute value.

use std::time::Duration;

use crate::harness::app::{location, result_of};
use crate::harness::process::PluginProcess;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn logs_say_what_happened_without_personal_data_or_secrets() {
    let receiver = Receiver::start(free_port(), 1).await;
    let options = Options {
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        ..Options::default()
    };
    let mut server = PluginProcess::start_logged(&options).await;
    let base = server.base.clone();
    let walk = async |attr_url: Option<&str>| {
        let client_url = server.start_ok(&["email", "name"], attr_url).await;
        let done = server.walk(&TestApp::browser(), &client_url).await;
        assert_eq!(done.status(), 303);
        done
    };
    let done = walk(None).await;
    let token = result_of(&location(&done)).unwrap();
    walk(Some(&receiver.url("l"))).await;
    let delivered = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 2, "one refused, one accepted delivery");
    reqwest::Client::new()
        .post(format!("{base}/session/x/update?type=logout"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = server.logs();
    for expected in [
        "flow started",
        "flow finished",
        "result delivered",
        "will retry",
        "session update",
        "route=\"/flow/<id>\"",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    let secrets = [
        &token[..40],
        &delivered[0].body[..40],
        "an@example.org",
        "An Peeters",
        "BEGIN",
        "PRIVATE KEY",
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret:?} leaked into the logs");
    }
}
