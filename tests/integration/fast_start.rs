//! The server answers `POST /start_authentication` itself (`src/web/fast_start.rs`); every other
//! spelling Rocket routes to the same endpoint (`//start_authentication`, a trailing slash)
//! still goes through Rocket's route and fairings. Both ways must give the same bytes: status,
//! every header but `date`, and the body (flow ids aside).

use crate::harness::app::CONTINUATION;
use crate::harness::process::PluginProcess;
use crate::harness::Options;

/// Status line, sorted headers without `date`, and the body with the flow id masked.
async fn seen(url: &str, content_type: Option<&str>, body: &str) -> String {
    let mut request = reqwest::Client::new().post(url).body(body.to_owned());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.expect("start request");
    let status = response.status().as_u16();
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    headers.sort();
    let text = response.text().await.expect("body");
    let masked = match text.find("/flow/") {
        Some(at) => format!("{}/flow/<id>{}", &text[..at], &text[at + 6 + 22..]),
        None => text,
    };
    format!("{status}\n{}\n\n{masked}", headers.join("\n"))
}

#[tokio::test]
async fn the_servers_own_start_path_answers_byte_for_byte_as_the_rocket_route() {
    // The binary: in-process test apps run on Rocket's own server, which has no such path.
    let app = PluginProcess::start(&Options::default(), None).await;
    let good = format!(r#"{{"attributes":["email"],"continuation":"{CONTINUATION}"}}"#);
    let big = format!(r#"{{"x":"{}"}}"#, "x".repeat(70_000));
    let json = Some("application/json");
    let cases: Vec<(Option<&str>, &str)> = vec![
        (json, &good),
        (Some("application/json; charset=utf-8"), &good),
        (Some("text/plain"), &good),
        (None, &good),
        (json, "{"),
        (json, ""),
        (json, "[1]"),
        (json, r#"{"attributes":[],"continuation":"x"}"#),
        (
            json,
            r#"{"attributes":["nope"],"continuation":"http://127.0.0.1:9100/ui"}"#,
        ),
        (
            json,
            r#"{"attributes":["email"],"continuation":"https://evil.example/"}"#,
        ),
        (json, &big),
    ];
    for (content_type, body) in cases {
        let fast = seen(
            &format!("{}/start_authentication", app.base),
            content_type,
            body,
        )
        .await;
        for other in ["//start_authentication", "/start_authentication/"] {
            let routed = seen(&format!("{}{other}", app.base), content_type, body).await;
            assert_eq!(
                fast, routed,
                "{other} with {content_type:?}, body {:.40}",
                body
            );
        }
        assert!(fast.contains("content-security-policy: "), "{fast}");
    }
}
