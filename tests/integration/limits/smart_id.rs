//! Smart-ID starts by national number: counted per person (each one a push on that person's
//! phone), refused with the citizen's 429 page.

use crate::harness::app::location;
use crate::harness::{Options, TestApp};
use crate::smart_id::simulator;
use crate::smart_id_flow::{choose, smart_id_toml, submit};

const LIMITS: &str = "
[limits.smart_id_start]
count = 2
window_seconds = 600
[limits.smart_id_start_ip]
count = 100
";

#[tokio::test]
async fn a_third_start_for_one_person_gets_the_429_page_and_another_person_does_not() {
    let sim = simulator(100).await;
    let app = TestApp::spawn(Options {
        extra_toml: smart_id_toml(&sim, 10),
        limits_toml: LIMITS.to_string(),
        ..Options::default()
    })
    .await;
    let b = TestApp::browser();
    let client_url = app.start_ok(&["name"], None).await;
    let csrf = choose(&b, &client_url).await;
    for _ in 0..2 {
        let res = submit(&b, &client_url, &csrf, "EE", "40504040001").await;
        assert_eq!(res.status(), 303);
        assert!(location(&res).ends_with("/smart-id/wait"));
    }
    let res = b
        .post(format!("{client_url}/smart-id"))
        .header("Accept-Language", "nl")
        .form(&[
            ("csrf", csrf.as_str()),
            ("country", "EE"),
            ("code", "40504040001"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Te veel pogingen"), "the Dutch page: {html}");
    assert!(html.contains("10 minuten"), "the wait in minutes");
    assert!(
        !html.contains("40504040001"),
        "no national number on the page"
    );

    // Another person from the same address still starts.
    let res = submit(&b, &client_url, &csrf, "EE", "10101010005").await;
    assert_eq!(res.status(), 303);
}
