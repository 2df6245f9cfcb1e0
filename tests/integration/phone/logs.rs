//! The real binary's logs over flows with the phone step: what happened is there, the number,
//! the codes and the gateway's token are not (T45).

use super::{body, code_in, last_sms, phone_toml, Gateway, Walk, E164, TOKEN, TYPED};
use crate::harness::process::PluginProcess;
use crate::harness::Options;

#[tokio::test(flavor = "multi_thread")]
async fn logs_tell_the_steps_without_the_number_or_the_codes() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let options = Options {
        extra_toml: phone_toml(&gateway, ""),
        ..Options::default()
    };
    let mut server = PluginProcess::start_logged(&options).await;
    let mut codes = Vec::new();

    // One flow passes the step and ends with the test means.
    let client_url = server.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(walk.code(&code).await.status(), 303);
    codes.push(code);
    assert_eq!(server.walk(&walk.browser, &client_url).await.status(), 303);

    // Another ends after three wrong codes.
    let client_url = server.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send("+31 6 12345678").await.status(), 303);
    let code = code_in(
        last_sms(&gateway, "+31612345678").await["text"]
            .as_str()
            .unwrap(),
    );
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 3) % 1_000_000);
    for _ in 0..3 {
        assert_eq!(body(walk.code(&wrong).await).await.0, 400);
    }
    codes.extend([code, wrong]);
    // The log writer runs behind the requests: let it catch up before the process is stopped.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let logs = server.logs();
    for expected in [
        "one-time code sent",
        "phone step passed",
        "phone step ended: too many wrong codes",
        "route=\"/flow/<id>/phone\"",
        "route=\"/flow/<id>/phone/code\"",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    for secret in ["470123456", "470 12 34 56", "612345678", TOKEN] {
        assert!(!logs.contains(secret), "{secret:?} leaked into the logs");
    }
    for code in &codes {
        // Timestamps have 6-digit fractions: look for the code as a value, not inside one.
        for spelled in [
            format!(" {code}"),
            format!("={code}"),
            format!("\"{code}\""),
        ] {
            assert!(
                !logs.contains(&spelled),
                "a code leaked into the logs: {spelled}"
            );
        }
    }
}
