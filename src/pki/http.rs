//! The one way `pki` reads from the network: a prepared request to a configured URL, a 2xx
//! answer, a bounded body, and errors that describe the failure without quoting anything.

/// Sends `req` and reads a successful body of at most `max` bytes. `what` names the peer in
/// the error ("OCSP responder", "CRL server").
pub(crate) async fn fetch_limited(
    req: reqwest::RequestBuilder,
    max: usize,
    what: &str,
) -> Result<Vec<u8>, String> {
    let mut resp = req
        .send()
        .await
        .map_err(|e| format!("{what} not reachable ({})", transport_kind(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("{what} answered HTTP {}", resp.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("{what} answer not received ({})", transport_kind(&e)))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("{what} answer too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A short, value-free description of a transport error (reqwest's own text has the URL).
fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    }
}
