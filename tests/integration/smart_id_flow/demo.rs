//! `auth-eid demo` has a Smart-ID path: the simulator in-process, the demo's own configuration.

use std::time::Duration;

use super::{choose, finish, settle, start};
use crate::harness::app::location;
use crate::harness::{free_port, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_has_a_smart_id_path() {
    let port = free_port();
    // Kept between runs: the simulator's test PKI (a 6144-bit key) is made once.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-smart-id");
    let config = auth_eid::demo::config(port, Some(dir)).unwrap();
    let rocket = auth_eid::demo::build(config).await.unwrap();
    let rocket = rocket.ignite().await.unwrap();
    let shutdown = rocket.shutdown();
    tokio::spawn(rocket.launch());
    let base = format!("http://127.0.0.1:{port}");
    let b = TestApp::browser();
    let mut index = String::new();
    for _ in 0..100 {
        if let Ok(r) = b.get(format!("{base}/demo/")).send().await {
            index = r.text().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(index.contains("Start with the Smart-ID tags"), "{index}");
    let tags = [
        ("tags", "name"),
        ("tags", "birthdate"),
        ("delivery", "redirect"),
    ];
    let res = b
        .post(format!("{base}/demo/start"))
        .form(&tags)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let client_url = location(&res);
    let csrf = choose(&b, &client_url).await;
    // SK's Belgian demo account: accepted by format in the demo (its check digit fails).
    start(&b, &client_url, &csrf, "BE", "05040400032").await;
    settle(&b, &client_url).await;
    let done = finish(&b, &client_url, &csrf).await;
    let result = b.get(location(&done)).send().await.unwrap();
    let page = result.text().await.unwrap();
    assert!(
        page.contains("succes") && page.contains("2005-04-04"),
        "{page}"
    );
    shutdown.notify();
}
