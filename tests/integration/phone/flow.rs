//! The phone step on ID Contact flows with the test means, codes through the local gateway.

use std::time::Duration;

use auth_eid::config::StoreKind;

use super::{app, body, code_in, last_sms, Gateway, Walk, E164, TOKEN, TYPED};
use crate::harness::app::RELAXED_LIMITS;
use crate::harness::app::{location, result_of, CONTINUATION};
use crate::harness::{for_each_store, Options, TestApp};

for_each_store!(whole_flow_with_the_test_means);

/// Start page asks for the number, means refused before the code, the code from the gateway
/// passes, then the test means completes the flow with a success token.
async fn whole_flow_with_the_test_means(store: StoreKind) {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = TestApp::spawn(Options {
        store,
        extra_toml: super::phone_toml(&gateway, ""),
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, html) = Walk::open(&client_url).await;
    assert!(
        html.contains("name=\"number\"") && html.contains("type=\"tel\""),
        "{html}"
    );
    assert!(
        !html.contains("name=\"means\""),
        "no means before the phone step"
    );

    // Choosing a means first is refused, and changes nothing.
    let before = app.store_flow(&client_url).await.unwrap();
    let (status, _) = body(walk.post("/means", &[("means", "test")]).await).await;
    assert_eq!(status, 409);
    assert_eq!(app.store_flow(&client_url).await.unwrap().data, before.data);

    let sent = walk.send(TYPED).await;
    assert_eq!(sent.status(), 303);
    let sms = last_sms(&gateway, E164).await;
    let m = &gateway.delivered()[0];
    assert_eq!(
        m.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(m.path, "/v1/sms");
    assert_eq!(sms["sender"], "auth-eid");
    let code = code_in(sms["text"].as_str().unwrap());
    // Only a MAC of the code is stored, never the code or ... the code itself.
    let stored = app.store_flow(&client_url).await.unwrap().data;
    assert!(!stored.contains(&code), "{stored}");

    let (status, html) = walk.page().await;
    assert_eq!(status, 200);
    assert!(
        html.contains("name=\"code\"") && html.contains("+32 ••• 56"),
        "{html}"
    );
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(walk.code(&spaced).await.status(), 303);
    assert!(app
        .store_flow(&client_url)
        .await
        .unwrap()
        .data
        .contains("phone_verified"));

    // "Choose another way" after a means comes back to the means choice, not the phone step.
    let csrf = app.choose_test(&walk.browser, &client_url).await;
    let back = walk
        .browser
        .post(format!("{}/choose", walk.url))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    let (_, html) = walk.page().await;
    assert!(
        html.contains("name=\"means\"") && !html.contains("name=\"code\""),
        "{html}"
    );

    // Now the means choice, and the test means to the end.
    let done = app.walk(&walk.browser, &client_url).await;
    assert_eq!(done.status(), 303);
    let token = result_of(&location(&done)).expect("a result");
    let opened = app.open_token(&token);
    assert_eq!(opened.claims["status"], "succes");
    // The used code does nothing more: the flow is finished, its record unchanged.
    let finished = app.store_flow(&client_url).await.unwrap();
    let again = walk.code(&code).await;
    assert_ne!(again.status(), 303);
    assert!(again.text().await.unwrap().contains(done_text()));
    assert_eq!(
        app.store_flow(&client_url).await.unwrap().data,
        finished.data
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn three_wrong_codes_end_the_step_and_the_flow() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway, "").await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

    let (status, html) = body(walk.code(&wrong).await).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("2 tries left") && html.contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(
        html.contains("aria-describedby=\"code-hint code-error\"") && html.contains("data-focus")
    );
    // Not 6 digits: no try spent.
    let (status, html) = body(walk.code("12a").await).await;
    assert_eq!(status, 400);
    assert!(html.contains("6 digits"), "{html}");
    let (_, html) = body(walk.code(&wrong).await).await;
    assert!(html.contains("1 try left"), "{html}");
    let (status, html) = body(walk.code(&wrong).await).await;
    assert_eq!(status, 400);
    assert!(html.contains("entered wrongly too many times"), "{html}");
    // The page leads back to the service with a failed result.
    let failed_page_link = super::link(&html, "phone-return");
    assert!(failed_page_link.starts_with(CONTINUATION));
    let token = result_of(&failed_page_link).unwrap();
    assert_eq!(app.open_token(&token).claims["status"], "failed");
    // Even the right code no longer passes: the flow is over.
    let (status, _) = body(walk.code(&code).await).await;
    assert_eq!(status, 200, "the finished page");
    assert!(app
        .store_flow(&client_url)
        .await
        .unwrap()
        .data
        .contains("delivered"));
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_replaced_codes_are_refused() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(
        &gateway,
        "code_lifetime_seconds = 2\nresend_after_seconds = 0",
    )
    .await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let first = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (status, html) = body(walk.code(&first).await).await;
    assert_eq!(status, 400);
    assert!(html.contains("has expired"), "{html}");

    // A new code replaces the old one: the old one no longer passes.
    assert_eq!(walk.send("").await.status(), 303);
    assert_eq!(gateway.delivered().len(), 2);
    let second = code_in(gateway.delivered()[1].body["text"].as_str().unwrap());
    if second != first {
        let (status, _) = body(walk.code(&first).await).await;
        assert_eq!(status, 400, "the replaced code");
    }
    assert_eq!(walk.code(&second).await.status(), 303);
    // Reused: the step is over, the code is spent.
    let (status, _) = body(walk.code(&second).await).await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn resends_wait_and_stop_at_max_sends() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway, "resend_after_seconds = 1\nmax_sends = 2").await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let (_, html) = walk.page().await;
    assert!(
        html.contains("id=\"phone-resend\"") && html.contains("new code in 1 second"),
        "{html}"
    );

    let early = walk.send("").await;
    assert_eq!(early.status(), 429);
    assert_eq!(early.headers()["retry-after"], "1");
    assert_eq!(gateway.delivered().len(), 1, "no code sent too soon");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(walk.send("").await.status(), 303);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, html) = body(walk.send("").await).await;
    assert_eq!(status, 429);
    assert!(html.contains("No more codes"), "{html}");
    assert_eq!(gateway.delivered().len(), 2, "max_sends = 2");
    // Another number gives no fresh count.
    let (status, _) = body(walk.send("+31 6 12345678").await).await;
    assert_eq!(status, 429);
    assert_eq!(gateway.delivered().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_numbers_never_reach_the_gateway() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway, "").await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    for (typed, says) in [
        ("+33 6 12 34 56 78", "numbers of this country"),
        ("+882 1234 5678 90", "not a valid mobile number"),
        ("0470 12 34 56\r\nBcc: x", "not a valid mobile number"),
        ("hello", "not a valid mobile number"),
    ] {
        let (status, html) = body(walk.send(typed).await).await;
        assert_eq!(status, 400, "{typed:?}");
        assert!(html.contains(says), "{typed:?}: {html}");
        assert!(html.contains("id=\"number\"") && html.contains("aria-invalid=\"true\""));
        assert!(html.contains("aria-describedby=\"number-hint number-error\""));
    }
    assert!(gateway.messages().is_empty());
    // A Dutch number is allowed here (countries = [32, 31]).
    assert_eq!(walk.send("+31 6 12345678").await.status(), 303);
    last_sms(&gateway, "+31612345678").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_is_retried_and_a_refusal_is_ours() {
    // Two 500s, then 200: attempts = 2 gives up after the second 500 (502 page).
    let gateway = Gateway::start(TOKEN, 2).await;
    let app = app(&gateway, "resend_after_seconds = 0").await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    let (status, html) = body(walk.send(TYPED).await).await;
    assert_eq!(status, 502, "{html}");
    assert_eq!(gateway.messages().len(), 2);
    // The next try gets through, and the code works.
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let code = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    assert_eq!(walk.code(&code).await.status(), 303);

    // A gateway that refuses our token: one request (no retry on a 4xx), a 502 page.
    let strict = Gateway::start("another-token", 0).await;
    let app = app_with(&strict).await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    let (status, _) = body(walk.send(TYPED).await).await;
    assert_eq!(status, 502);
    assert_eq!(strict.messages().len(), 1);
    assert_eq!(strict.messages()[0].status, 401);
}

async fn app_with(gateway: &Gateway) -> TestApp {
    app(gateway, "").await
}

#[tokio::test(flavor = "multi_thread")]
async fn otp_budgets_answer_429_at_the_configured_count() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let limits = format!(
        "{RELAXED_LIMITS}\n[limits.otp_send]\ncount = 2\nwindow_seconds = 600\n[limits.otp_check]\ncount = 2\nwindow_seconds = 600\n"
    );
    let app = TestApp::spawn(Options {
        extra_toml: super::phone_toml(&gateway, ""),
        limits_toml: limits,
        ..Options::default()
    })
    .await;
    // otp_send: 2 codes to one number, over any flows; the third is a 429.
    for _ in 0..2 {
        let client_url = app.start_ok(&["email"], None).await;
        let (walk, _) = Walk::open(&client_url).await;
        assert_eq!(walk.send(TYPED).await.status(), 303);
    }
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    let refused = walk.send(TYPED).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.text().await.unwrap().contains("Too many attempts"));
    assert_eq!(gateway.delivered().len(), 2, "the gateway was not called");
    // Another number still has its budget.
    assert_eq!(walk.send("+32 471 12 34 56").await.status(), 303);

    // otp_check: 2 checks per flow; the third is a 429 even with the right code.
    let code = code_in(
        last_sms(&gateway, "+32471123456").await["text"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(walk.code("000000").await.status().as_u16() / 100, 4);
    assert_eq!(walk.code("000001").await.status().as_u16() / 100, 4);
    let limited = walk.code(&code).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

/// What the page of a finished flow says (locales/en.toml `done_body`).
fn done_text() -> &'static str {
    "finished"
}

#[tokio::test(flavor = "multi_thread")]
async fn another_number_replaces_the_code_and_keeps_the_count() {
    let gateway = Gateway::start(TOKEN, 0).await;
    let app = app(&gateway, "resend_after_seconds = 0\nmax_sends = 2").await;
    let client_url = app.start_ok(&["email"], None).await;
    let (walk, _) = Walk::open(&client_url).await;
    assert_eq!(walk.send(TYPED).await.status(), 303);
    let first = code_in(last_sms(&gateway, E164).await["text"].as_str().unwrap());
    let (_, html) = walk.page().await;
    assert!(html.contains("class=\"other-number\""), "{html}");
    assert_eq!(walk.send("+31 6 12345678").await.status(), 303);
    let second = code_in(
        last_sms(&gateway, "+31612345678").await["text"]
            .as_str()
            .unwrap(),
    );
    let (_, html) = walk.page().await;
    assert!(
        html.contains("+31 ••• 78") && !html.contains("class=\"other-number\""),
        "{html}"
    );
    // The first number's code is bound to it: it does not pass for the second.
    let (status, _) = body(walk.code(&first).await).await;
    assert_eq!(status, 400);
    // Two sends used: a third number gets no code.
    let (status, _) = body(walk.send("0471 12 34 56").await).await;
    assert_eq!(status, 429);
    assert_eq!(gateway.delivered().len(), 2);
    assert_eq!(walk.code(&second).await.status(), 303);
}
