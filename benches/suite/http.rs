//! A lean HTTP/1.1 client for load: one kept-alive connection per simulated browser, its cookies
//! and nothing else, so the load generator spends little of the machine's two cores.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

pub type Fail = String;

/// What the load generator looks at in an answer.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }

    /// The answer if its status is `want`, else an error naming both.
    pub fn expect(self, want: u16, what: &str) -> Result<Answer, Fail> {
        if self.status == want {
            Ok(self)
        } else {
            Err(format!("{what}: status {} (want {want})", self.status))
        }
    }
}

/// One browser (or core) connection to `addr`, reconnected when the server closes it.
pub struct Conn {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    cookies: BTreeMap<String, String>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            host: addr.to_string(),
            sender: None,
            cookies: BTreeMap::new(),
        }
    }

    /// `http://host:port` of the server.
    pub fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    /// A new browser on the same connection: no cookies.
    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
    }

    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Fail> {
        if let Some(s) = &mut self.sender {
            if s.ready().await.is_ok() {
                return Ok(self.sender.as_mut().expect("just checked"));
            }
        }
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer, Fail> {
        self.send(Method::GET, path, None, Bytes::new()).await
    }

    /// A form POST as a browser sends it from one of the service's pages.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Answer, Fail> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let kind = "application/x-www-form-urlencoded";
        self.send(Method::POST, path, Some(kind), Bytes::from(body))
            .await
    }

    pub async fn post_json(&mut self, path: &str, body: Bytes) -> Result<Answer, Fail> {
        self.send(Method::POST, path, Some("application/json"), body)
            .await
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Answer, Fail> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", &self.host);
        if let Some(kind) = content_type {
            req = req.header("content-type", kind);
        }
        if method == Method::POST {
            req = req.header("origin", format!("http://{}", self.host));
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let sender = self.ready().await?;
        let res = sender.send_request(req).await.map_err(|e| {
            self.sender = None;
            format!("{method} {}: {e}", path.split('/').nth(1).unwrap_or(""))
        })?;
        for c in res.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}

/// The path (and query) of an absolute URL on the service.
pub fn path_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// The value of the page's CSRF field.
pub fn csrf_of(html: &str) -> Result<String, Fail> {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).ok_or("no csrf field on the page")? + marker.len();
    Ok(html[at..].split('"').next().unwrap_or("").to_string())
}
