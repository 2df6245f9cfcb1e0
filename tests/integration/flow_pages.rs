//! The browser side: binding, CSRF, headers, languages, expiry, exactly one result.

use std::time::Duration;

use crate::harness::app::{csrf_of, location, result_of};
use crate::harness::for_each_store;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use auth_eid::config::StoreKind;

for_each_store! {
    every_page_carries_the_security_headers_and_the_cookie_is_bound,
    pages_speak_the_browsers_language,
    csrf_token_missing_or_wrong_is_403_without_state_change,
    another_browser_and_another_flows_cookie_are_refused,
    odd_flow_ids_are_404_never_500,
    expired_flows_show_the_expired_page_and_emit_nothing,
    a_finished_flow_never_yields_a_second_result,
}

fn assert_page_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{what}: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
}

async fn every_page_carries_the_security_headers_and_the_cookie_is_bound(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let client_url = app.start_ok(&["email"], None).await;
    let browser = TestApp::browser();
    let first = browser.get(&client_url).send().await.unwrap();
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        cookie.contains(&format!(
            "Path=/flow/{}",
            client_url.rsplit('/').next().unwrap()
        )),
        "{cookie}"
    );
    assert_page_headers(&first, "start page");
    let csrf = csrf_of(&first.text().await.unwrap());
    browser
        .post(format!("{client_url}/means"))
        .form(&[("csrf", csrf.as_str()), ("means", "test")])
        .send()
        .await
        .unwrap();
    let confirm = browser
        .get(format!("{client_url}/test"))
        .send()
        .await
        .unwrap();
    assert_page_headers(&confirm, "confirm page");
    let html = confirm.text().await.unwrap();
    assert!(
        html.contains("an@example.org") && html.contains("/cancel"),
        "lists what is shared, offers cancel"
    );
    let unknown = browser
        .get(format!("{}/flow/AAAAAAAAAAAAAAAAAAAAAA", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_page_headers(&unknown, "error page");
}

async fn pages_speak_the_browsers_language(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    for (accept, expected) in [
        ("nl-BE,nl;q=0.9", "Bevestig wie u bent"),
        ("fr", "Confirmez votre identité"),
        ("de", "Bestätigen Sie, wer Sie sind"),
        ("es", "Confirm who you are"),
    ] {
        let client_url = app.start_ok(&["email"], None).await;
        let res = TestApp::browser()
            .get(&client_url)
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        assert!(res.text().await.unwrap().contains(expected), "{accept}");
    }
}

async fn csrf_token_missing_or_wrong_is_403_without_state_change(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let client_url = app.start_ok(&["email"], None).await;
    let browser = TestApp::browser();
    let csrf = csrf_of(
        &browser
            .get(&client_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let before = app.store_flow(&client_url).await;
    for form in [
        vec![("means", "test")],
        vec![("csrf", "wrong"), ("means", "test")],
        vec![("csrf", ""), ("means", "test")],
    ] {
        let res = browser
            .post(format!("{client_url}/means"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{form:?}");
    }
    for step in ["test", "cancel"] {
        let res = browser
            .post(format!("{client_url}/{step}"))
            .form(&[("csrf", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{step}");
    }
    // a cross-site form post is refused even with the right token
    let res = browser
        .post(format!("{client_url}/cancel"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.store_flow(&client_url).await, before, "no state change");
    // the legitimate steps still work
    let done = app.walk(&browser, &client_url).await;
    assert_eq!(done.status(), 303);
}

async fn another_browser_and_another_flows_cookie_are_refused(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let a = app.start_ok(&["email"], None).await;
    let b = app.start_ok(&["email"], None).await;
    let browser = TestApp::browser();
    let page_a = browser.get(&a).send().await.unwrap();
    let cookie_a = page_a.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // a second browser opening a bound flow
    assert_eq!(
        TestApp::browser().get(&a).send().await.unwrap().status(),
        403
    );
    // flow B opened by a client that presents flow A's (valid, private) cookie
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first_b = TestApp::browser().get(&b).send().await.unwrap();
    assert_eq!(first_b.status(), 200, "B is bound to its own browser");
    let res = thief
        .get(&b)
        .header("cookie", &cookie_a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a cookie of flow A does not open flow B");
    // the first browser continues normally
    assert_eq!(app.walk(&browser, &a).await.status(), 303);
}

async fn odd_flow_ids_are_404_never_500(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let long = "A".repeat(10_000);
    for id in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "..%2f..%2fetc%2fpasswd",
        "%00",
        long.as_str(),
        "x",
    ] {
        let res = TestApp::browser()
            .get(format!("{}/flow/{id}", app.base))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(res.status().as_u16(), 404 | 400 | 414 | 431),
            "{id:.20}: {}",
            res.status()
        );
    }
}

async fn expired_flows_show_the_expired_page_and_emit_nothing(store: StoreKind) {
    let app = TestApp::spawn(Options {
        store,
        ttl_seconds: 1,
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], None).await;
    let browser = TestApp::browser();
    let csrf = app.choose_test(&browser, &client_url).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(browser.get(&client_url).send().await.unwrap().status(), 404);
    let res = browser
        .post(format!("{client_url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers().get("location").is_none());
}

async fn a_finished_flow_never_yields_a_second_result(store: StoreKind) {
    let receiver = Receiver::start(free_port(), 0).await;
    let allow = vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)];
    let app = TestApp::spawn(Options {
        store,
        attr_url_allow: allow,
        ..Options::default()
    })
    .await;
    // by redirect: the second confirm and a reload show the done page, no Location
    let client_url = app.start_ok(&["email"], None).await;
    let browser = TestApp::browser();
    let csrf = app.choose_test(&browser, &client_url).await;
    let first = browser
        .post(format!("{client_url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(result_of(&location(&first)).is_some());
    for step in ["test", "cancel"] {
        let again = browser
            .post(format!("{client_url}/{step}"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200, "{step}");
        assert!(again.headers().get("location").is_none());
        assert!(again
            .text()
            .await
            .unwrap()
            .contains("This request is finished"));
    }
    let reload = browser.get(&client_url).send().await.unwrap();
    assert!(reload
        .text()
        .await
        .unwrap()
        .contains("This request is finished"));

    // by attr_url, with two confirmations racing: exactly one delivery
    let client_url = app.start_ok(&["email"], Some(&receiver.url("race"))).await;
    let browser = TestApp::browser();
    let csrf = app.choose_test(&browser, &client_url).await;
    let posts = (0..8).map(|_| {
        browser
            .post(format!("{client_url}/test"))
            .form(&[("csrf", csrf.as_str())])
            .send()
    });
    let answers = futures_join(posts).await;
    assert_eq!(
        answers.iter().filter(|s| **s == 303).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(receiver.wait_for(1, Duration::from_secs(3)).await.len(), 1);
    // And no second delivery follows (a retry would come within the 100 ms first backoff).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1);
}

async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}
