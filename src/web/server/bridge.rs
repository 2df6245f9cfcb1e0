//! One HTTP request from hyper through Rocket's pipeline and back.
//!
//! Rocket 0.5 serves its own connections with no header, body or idle timeout and no
//! connection cap, and offers no hook to add them. So we own the connections (hyper) and hand
//! each request to Rocket through its in-process dispatcher (`rocket::local`): the same
//! fairings, routes, guards and catchers as Rocket's own server, with the request's head,
//! cookies, peer address and body carried over the way Rocket's server reads them.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Request, Response, StatusCode, Version};
use rocket::http::{Cookie, Header, Method};
use rocket::local::asynchronous::Client;

use super::connection::Activity;
use crate::web::fast_start::FastStart;

/// The most body read before Rocket sees it. Every route's own limit is below this, so a body
/// cut here is always one its route refuses (413 from the route's own catcher, as before).
pub const MAX_BODY: usize = 2 << 20;

pub type Answer = Response<Full<Bytes>>;

/// Answers one request; never fails (hyper would close the connection without a response).
pub async fn answer(
    client: &Client,
    peer: SocketAddr,
    activity: &Activity,
    body_timeout: Duration,
    req: Request<Incoming>,
) -> Answer {
    let (parts, body) = req.into_parts();
    // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    if parts.version == Version::HTTP_11 && !parts.headers.contains_key(HOST) {
        return plain(StatusCode::BAD_REQUEST, "a Host header is required");
    }
    let Ok(method) = Method::from_str(parts.method.as_str()) else {
        return plain(StatusCode::NOT_IMPLEMENTED, "unknown method");
    };
    let Some(target) = parts.uri.path_and_query() else {
        return plain(StatusCode::BAD_REQUEST, "the request target must be a path");
    };
    let (body, complete) = match tokio::time::timeout(body_timeout, read_body(body)).await {
        Ok(Ok(read)) => read,
        Ok(Err(_)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
        }
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body came too slowly",
            )
        }
    };

    if FastStart::serves(&parts.method, target.path()) {
        if let Some(fast) = client.rocket().state::<FastStart>() {
            let handling = activity.handling();
            let answer = fast.answer(peer, target.path(), &parts.headers, body).await;
            drop(handling);
            return closing_unless(complete, answer);
        }
    }

    let mut request = client.req(method, target.as_str().to_owned()).remote(peer);
    for (name, value) in &parts.headers {
        // Rocket's own server skips header values that are not UTF-8 the same way.
        let Ok(value) = value.to_str() else { continue };
        if name == hyper::header::COOKIE {
            for one in value.split(';').map(str::trim) {
                if let Ok(cookie) = Cookie::parse_encoded(one.to_owned()) {
                    request = request.cookie(cookie);
                }
            }
        }
        request.add_header(Header::new(name.as_str().to_owned(), value.to_owned()));
    }
    if let Some(host) = parts.headers.get(HOST).and_then(|h| h.to_str().ok()) {
        if let Ok(host) = rocket::http::uri::Host::parse_owned(host.to_owned()) {
            request.inner_mut().set_host(host);
        }
    }
    request.set_body(body);

    let handling = activity.handling();
    let response = request.dispatch().await;
    let mut answer = Response::builder().status(response.status().code);
    for header in response.headers().iter() {
        answer = answer.header(header.name().as_str(), header.value());
    }
    let bytes = response.into_bytes().await.unwrap_or_default();
    drop(handling);
    let answer = answer
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad response header"));
    closing_unless(complete, answer)
}

/// `Connection: close` unless the whole body was read: the rest of it is still on the wire, so
/// this connection cannot carry another request.
fn closing_unless(complete: bool, mut answer: Answer) -> Answer {
    if !complete {
        answer
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// The body, up to [`MAX_BODY`] + 1 bytes; `false` when there was more.
async fn read_body(mut body: Incoming) -> Result<(Vec<u8>, bool), hyper::Error> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let room = MAX_BODY + 1 - bytes.len();
            if data.len() >= room {
                bytes.extend_from_slice(&data[..room]);
                return Ok((bytes, false));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok((bytes, true))
}

/// A short plain-text answer from the server itself (before Rocket saw the request); the
/// connection closes after it, since what follows on it cannot be trusted to be a request.
pub fn plain(status: StatusCode, message: &'static str) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    answer
}
