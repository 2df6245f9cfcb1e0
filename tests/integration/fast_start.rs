//! The server answers `POST /start_authentication` and `POST /api/v1/sessions` itself
//! (`src/web/fast_start.rs`); every other spelling Rocket routes to the same endpoint
//! (`//start_authentication`, a trailing slash)
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

/// [`seen`] for a session-API create: headers as sent, and the fields that differ per session
/// (id, times, the flow URL) masked in the JSON body.
async fn seen_api(url: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut request = reqwest::Client::new().post(url).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("create request");
    let status = response.status().as_u16();
    let mut lines: Vec<String> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    lines.sort();
    let text = response.text().await.expect("body");
    let masked = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut v) => {
            for key in ["id", "createdAt", "expiresAt", "authenticationUrl"] {
                if v.get(key).is_some() {
                    v[key] = "<masked>".into();
                }
            }
            let steps = v.get_mut("tracker").and_then(|t| t.as_array_mut());
            for step in steps.into_iter().flatten() {
                step["at"] = "<masked>".into();
            }
            v.to_string()
        }
        Err(_) => text,
    };
    format!("{status}\n{}\n\n{masked}", lines.join("\n"))
}

#[tokio::test]
async fn the_servers_own_create_path_answers_byte_for_byte_as_the_rocket_route() {
    use crate::rp_api::{create_body, rp_toml, KEY, OTHER_KEY};
    let options = Options {
        extra_toml: rp_toml(None, false, 600),
        ..Options::default()
    };
    let app = PluginProcess::start(&options, None).await;
    let good = create_body().to_string();
    let mut unknown_field = create_body();
    unknown_field["extra"] = 1.into();
    let unknown_field = unknown_field.to_string();
    let big = format!(r#"{{"x":"{}"}}"#, "x".repeat(70_000));
    let bearer = format!("Bearer {KEY}");
    let other = format!("Bearer {OTHER_KEY}x");
    let json = ("content-type", "application/json");
    let auth = ("authorization", bearer.as_str());
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![json, auth], &good),
        (vec![json, auth, ("idempotency-key", "retry-7")], &good),
        (vec![json, auth, ("idempotency-key", "retry-7")], &good),
        (vec![json, auth, ("idempotency-key", "retry-7")], "{}"),
        (vec![json], &good),
        (vec![json, ("authorization", other.as_str())], &good),
        (vec![json, ("authorization", "Basic abc")], &good),
        (vec![("content-type", "text/plain"), auth], &good),
        (vec![auth], &good),
        (vec![json, auth], "{"),
        (vec![json, auth], &unknown_field),
        (vec![json, auth], &big),
    ];
    for (headers, body) in cases {
        let fast = seen_api(&format!("{}/api/v1/sessions", app.base), &headers, body).await;
        for spelling in ["//api/v1/sessions", "/api/v1/sessions/"] {
            let routed = seen_api(&format!("{}{spelling}", app.base), &headers, body).await;
            assert_eq!(fast, routed, "{spelling} with {headers:?}, body {body:.40}");
        }
        assert!(fast.contains("content-security-policy: "), "{fast}");
    }
}
