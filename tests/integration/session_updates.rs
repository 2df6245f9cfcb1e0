//! Session updates: always 200, no cookies, logout is final.

use std::time::Duration;

use auth_eid::ids::SessionId;
use auth_eid::store::now_millis;

use crate::harness::app::{location, result_of};
use crate::harness::for_each_store;
use crate::harness::{Options, TestApp};
use auth_eid::config::StoreKind;

for_each_store! {
    every_update_answers_200_and_logout_is_final,
    without_session_updates_there_is_no_session_url,
}

async fn session_url(app: &TestApp) -> String {
    let client_url = app.start_ok(&["email"], None).await;
    let done = app.walk(&TestApp::browser(), &client_url).await;
    let claims = app.open_token(&result_of(&location(&done)).unwrap()).claims;
    claims["session_url"].as_str().unwrap().to_string()
}

async fn live(app: &TestApp, session_url: &str) -> bool {
    let sid = SessionId::parse(session_url.rsplit('/').nth(1).unwrap()).unwrap();
    app.store
        .touch_session(&sid, now_millis(), Duration::from_secs(1))
        .await
        .unwrap()
}

async fn every_update_answers_200_and_logout_is_final(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let url = session_url(&app).await;
    assert!(!url.contains('?'), "session_url has no query");
    let client = reqwest::Client::new();
    let post = |q: &str| client.post(format!("{url}{q}")).send();
    for q in [
        "?type=user_active",
        "",
        "?type=bogus",
        "?type=%3Cscript%3E",
        "?type=user_active&type=logout",
    ] {
        assert_eq!(post(q).await.unwrap().status(), 200, "{q}");
    }
    assert!(live(&app, &url).await, "user_active keeps it alive");
    assert_eq!(post("?type=logout").await.unwrap().status(), 200);
    assert!(!live(&app, &url).await, "logout ends it");
    assert_eq!(post("?type=user_active").await.unwrap().status(), 200);
    assert!(
        !live(&app, &url).await,
        "user_active after logout does not revive it"
    );
    let unknown = format!(
        "{}/session/{}/update?type=user_active",
        app.base,
        SessionId::new()
    );
    assert_eq!(client.post(unknown).send().await.unwrap().status(), 200);
    let garbage = format!("{}/session/not-a-session/update?type=logout", app.base);
    assert_eq!(client.post(garbage).send().await.unwrap().status(), 200);
}

async fn without_session_updates_there_is_no_session_url(store: StoreKind) {
    let app = TestApp::spawn(Options {
        store,
        session_updates: false,
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], None).await;
    let done = app.walk(&TestApp::browser(), &client_url).await;
    let claims = app.open_token(&result_of(&location(&done)).unwrap()).claims;
    assert_eq!(claims["status"], "succes");
    assert!(claims.get("session_url").is_none());
}
