//! The phone step before the real means: the emulated card and the Smart-ID simulator.

use auth_eid::simulate::card::Profile;
use serde_json::{json, Value};

use super::{code_in, last_sms, phone_toml, Gateway, Walk, E164, TOKEN, TYPED};
use crate::card_flow::{card_pki, card_toml, sign};
use crate::harness::app::{location, result_of};
use crate::harness::{Options, TestApp};
use crate::smart_id::simulator;
use crate::smart_id_flow::{choose, finish, settle, smart_id_toml, start};

/// Opens the flow, passes the phone step with the code from `gateway`; gives the walk.
async fn pass_the_phone_step(gateway: &Gateway, client_url: &str) -> Walk {
    let (walk, html) = Walk::open(client_url).await;
    assert!(html.contains("name=\"number\"") && !html.contains("name=\"means\""));
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let code = code_in(last_sms(gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(walk.code(&code).await.status(), 303);
    walk
}

#[tokio::test(flavor = "multi_thread")]
async fn the_card_after_the_phone_step() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let dir = card_pki();
    let app = TestApp::spawn(Options {
        extra_toml: format!(
            "{}\n{}",
            phone_toml(&gateway, ""),
            card_toml(dir, "http://127.0.0.1:24801", None)
        ),
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["nrn", "fullname"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    // No card challenge before the step, even for the bound browser with its token.
    let early = walk
        .browser
        .post(format!("{}/card/nonce", walk.url))
        .json(&json!({"csrf": walk.csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 409);
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(walk.code(&code).await.status(), 303);
    let csrf = app.choose(&walk.browser, &walk.url, "card").await;
    let res = walk
        .browser
        .post(format!("{}/card/nonce", walk.url))
        .json(&json!({"csrf": csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let challenge = res.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    let token = sign(dir, Profile::Rsa, &app.base, &challenge);
    let res = walk
        .browser
        .post(format!("{}/card/token", walk.url))
        .json(&json!({"csrf": csrf, "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let token = result_of(body["location"].as_str().unwrap()).unwrap();
    let claims = app.open_token(&token).claims;
    assert_eq!(claims["status"], "succes");
    assert!(claims["attributes"]["nrn"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn smart_id_after_the_phone_step() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let sim = simulator(200).await;
    let app = TestApp::spawn(Options {
        extra_toml: format!("{}\n{}", phone_toml(&gateway, ""), smart_id_toml(&sim, 10)),
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(crate::smart_id_flow::TAGS, None).await;
    let walk = pass_the_phone_step(&gateway, &client_url).await;
    let csrf = choose(&walk.browser, &client_url).await;
    start(&walk.browser, &client_url, &csrf, "EE", "40504040001").await;
    assert!(settle(&walk.browser, &client_url)
        .await
        .contains("\"done\""));
    let done = finish(&walk.browser, &client_url, &csrf).await;
    assert_eq!(done.status(), 303);
    let opened = app.open_token(&result_of(&location(&done)).unwrap());
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"]["sid"], "PNOEE-40504040001");
    sim.shutdown().await;
}
