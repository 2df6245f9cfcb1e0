//! The steps of a flow as the core and a citizen's browser take them, over [`Conn`].

use hyper::body::Bytes;

use crate::http::{csrf_of, path_of, Conn, Fail};

/// `POST /start_authentication` as the core sends it; gives the client_url's path.
pub async fn start(c: &mut Conn, attributes: &str, attr_url: Option<&str>) -> Result<String, Fail> {
    let body = match attr_url {
        Some(u) => format!(
            r#"{{"attributes":{attributes},"continuation":"{}/done/x","attr_url":"{u}"}}"#,
            c.origin()
        ),
        None => format!(
            r#"{{"attributes":{attributes},"continuation":"{}/done/x"}}"#,
            c.origin()
        ),
    };
    let a = c
        .post_json("/start_authentication", Bytes::from(body))
        .await?
        .expect(200, "start_authentication")?;
    let v: serde_json::Value =
        serde_json::from_slice(&a.body).map_err(|e| format!("start answer: {e}"))?;
    let url = v["client_url"].as_str().ok_or("no client_url")?;
    Ok(path_of(url))
}

/// A new browser opens client_url and picks `means`; gives the CSRF token.
pub async fn choose(c: &mut Conn, client: &str, means: &str) -> Result<String, Fail> {
    c.forget_cookies();
    let page = c.get(client).await?.expect(200, "client_url")?;
    let csrf = csrf_of(page.text())?;
    c.post_form(
        &format!("{client}/means"),
        &[("csrf", &csrf), ("means", means)],
    )
    .await?
    .expect(303, "choose means")?;
    Ok(csrf)
}

/// The test means to the end: gives the final redirect's Location.
pub async fn walk_test(c: &mut Conn, client: &str) -> Result<String, Fail> {
    let csrf = choose(c, client, "test").await?;
    let page = format!("{client}/test");
    c.get(&page).await?.expect(200, "test page")?;
    let done = c
        .post_form(&page, &[("csrf", &csrf)])
        .await?
        .expect(303, "test confirm")?;
    done.location.ok_or_else(|| "no Location".to_string())
}

/// Smart-ID up to the waiting page, whose first view starts the session at the RP API.
pub async fn start_smart_id(
    c: &mut Conn,
    client: &str,
    country: &str,
    code: &str,
) -> Result<(), Fail> {
    let csrf = choose(c, client, "smart-id").await?;
    let form = format!("{client}/smart-id");
    c.get(&form).await?.expect(200, "smart-id form")?;
    c.post_form(
        &form,
        &[("csrf", &csrf), ("country", country), ("code", code)],
    )
    .await?
    .expect(303, "smart-id code")?;
    c.get(&format!("{form}/wait"))
        .await?
        .expect(200, "smart-id wait page")?;
    Ok(())
}
