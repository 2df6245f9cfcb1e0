//! The phone step on relying-party API sessions: `phoneStep` and `phoneNumber`, the fixed
//! number on the page, and `phone_not_verified` in the status after three wrong codes.

use serde_json::json;

use super::{body, code_in, last_sms, phone_toml, Gateway, Walk, E164, TOKEN};
use crate::harness::{Options, TestApp};
use crate::rp_api::{create, create_body, rp_toml, status, steps, KEY, OTHER_KEY};

async fn app(gateway: &Gateway) -> TestApp {
    // The deployment leaves the step off; the sessions ask for it.
    let phone = phone_toml(gateway, "").replace("enabled = true", "enabled = false");
    TestApp::spawn(Options {
        // The helpdesk's own setting turns the step on for its sessions.
        extra_toml: format!(
            "{phone}\n{}",
            rp_toml(None, false, 600)
                .replace("id = \"helpdesk\"", "id = \"helpdesk\"\nphone_step = true")
        ),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_with_a_given_number_ends_with_phone_not_verified_after_three_wrong_codes() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway).await;
    let mut req = create_body();
    req["phoneStep"] = json!(true);
    req["phoneNumber"] = json!("+32 470 12 34 56");
    let res = create(&app, Some(KEY), &req).await;
    assert_eq!(res.status(), 201);
    let session: serde_json::Value = res.json().await.unwrap();
    let id = session["id"].as_str().unwrap().to_string();
    let url = session["authenticationUrl"].as_str().unwrap();

    let (walk, html) = Walk::open(url).await;
    // The number is the relying party's: shown masked, not editable.
    assert!(
        html.contains("+32 ••• 56") && !html.contains("name=\"number\""),
        "{html}"
    );
    assert_eq!(status(&app, &id).await["status"], "CREATED");
    assert_eq!(walk.send("").await.status(), 303);
    // Typing another number changes nothing: the code goes to the given one.
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(status(&app, &id).await["status"], "WAITING");
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 7) % 1_000_000);
    for _ in 0..2 {
        assert_eq!(body(walk.code(&wrong).await).await.0, 400);
    }
    let (status_code, html) = body(walk.code(&wrong).await).await;
    assert_eq!(status_code, 400);
    let back = super::link(&html, "phone-return");
    assert!(
        back.starts_with(crate::rp_api::CALLBACK) && back.contains("/error"),
        "{back}"
    );
    let s = status(&app, &id).await;
    assert_eq!(s["status"], "ERROR", "{s}");
    assert_eq!(s["error"]["code"], "phone_not_verified", "{s}");
    assert!(steps(&s).contains(&"phone_code_sent".to_string()), "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_with_the_step_passes_it_then_the_test_means() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway).await;
    let mut req = create_body();
    req["phoneStep"] = json!(true);
    let session: serde_json::Value = create(&app, Some(KEY), &req).await.json().await.unwrap();
    let id = session["id"].as_str().unwrap().to_string();
    let url = session["authenticationUrl"].as_str().unwrap();
    let (walk, html) = Walk::open(url).await;
    assert!(html.contains("name=\"number\""), "{html}");
    assert_eq!(walk.send("0470123456").await.status(), 303);
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(walk.code(&code).await.status(), 303);
    let done = app.walk(&walk.browser, url).await;
    assert_eq!(done.status(), 303);
    let s = status(&app, &id).await;
    assert_eq!(s["status"], "SUCCESS", "{s}");
    assert!(steps(&s).contains(&"phone_verified".to_string()), "{s}");

    // Without phoneStep the relying party's (here the deployment's) setting holds: no step.
    let plain: serde_json::Value = create(&app, Some(KEY), &create_body())
        .await
        .json()
        .await
        .unwrap();
    let (_, html) = Walk::open(plain["authenticationUrl"].as_str().unwrap()).await;
    assert!(html.contains("name=\"means\"") && !html.contains("name=\"number\""));

    // A relying party with `phone_step = true` gets the step without asking for it.
    let mut helpdesk = create_body();
    helpdesk["callbackUrls"] = json!({"success": "http://127.0.0.1:9301/ok",
        "abort": "http://127.0.0.1:9301/abort", "error": "http://127.0.0.1:9301/error"});
    let res = create(&app, Some(OTHER_KEY), &helpdesk).await;
    assert_eq!(res.status(), 201);
    let session: serde_json::Value = res.json().await.unwrap();
    let (_, html) = Walk::open(session["authenticationUrl"].as_str().unwrap()).await;
    assert!(
        html.contains("name=\"number\"") && !html.contains("name=\"means\""),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_phone_fields_are_the_callers_mistake() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway).await;
    for (field, value, code) in [
        ("phoneStep", json!("yes"), "invalid_request"),
        (
            "phoneNumber",
            json!("+33 6 12 34 56 78"),
            "phone_country_not_allowed",
        ),
        ("phoneNumber", json!("12"), "invalid_request"),
    ] {
        let mut req = create_body();
        req["phoneStep"] = json!(true);
        req[field] = value;
        let res = create(&app, Some(KEY), &req).await;
        assert_eq!(res.status(), 400, "{field}");
        let e: serde_json::Value = res.json().await.unwrap();
        assert_eq!(e["error"], code, "{e}");
    }
    // A number without the step.
    let mut req = create_body();
    req["phoneNumber"] = json!(E164);
    assert_eq!(create(&app, Some(KEY), &req).await.status(), 400);
}
