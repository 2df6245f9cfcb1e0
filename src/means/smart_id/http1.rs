//! One HTTP/1.1 request and its response on a fresh, pinned TLS stream to the RP API.
//!
//! Why not hyper's client connection: a long poll waits up to two minutes, and hyper kept a
//! dispatch channel, a connection task and 16 KB of buffers for each (about 25 KB of the 60 KB
//! a waiting session cost, docs/performance.md). Here the request is written in one piece and
//! freed; while the server holds the poll nothing is buffered (reads land in a stack buffer);
//! the head is bounded and parsed by `httparse`; the body is framed by Content-Length, chunked
//! coding or the close (we send `Connection: close`) within the caller's bound. Anything else
//! is refused. The parser ([`ResponseParser`]) is a state machine over bytes, so the tests and
//! the `http_response` fuzz target drive it without a socket.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Largest response head (status line and headers), and largest trailer section.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in a head; SK's answers carry about a dozen.
const MAX_HEADERS: usize = 64;
/// Longest chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 1024;
/// Interim (1xx) responses skipped before the final one.
const MAX_INTERIM: u8 = 4;
/// One read. It lives on the stack only while a read completes, never across the wait.
const READ_CHUNK: usize = 4096;

/// Why an exchange failed; the client maps every one to `SmartIdError::Transport`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Io(String),
    #[error("connection closed {0}")]
    Closed(&'static str),
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
    #[error("HTTP response too large: {0}")]
    TooLarge(&'static str),
}

/// The request bytes: `target` is the path and query, `host` the Host header's value. Only
/// visible ASCII is accepted in either, so nothing can end a line early.
pub fn request(
    method: &str,
    target: &str,
    host: &str,
    body: Option<&[u8]>,
) -> Result<Vec<u8>, &'static str> {
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !visible(target) || !target.starts_with('/') || !visible(host) {
        return Err("request line");
    }
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\
         User-Agent: auth-eid/{}\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(body) = body {
        let n = body.len();
        head.push_str(&format!(
            "Content-Type: application/json; charset=UTF-8\r\nContent-Length: {n}\r\n"
        ));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    Ok(bytes)
}

/// A stream that can give its buffers back while it waits for the peer (see `tls_ffi.rs`).
pub trait ReleaseWhileWaiting {
    /// Called each time a read has to wait.
    fn release_buffers(&mut self);
}

/// Writes `request`, frees it, and reads one response of at most `max_body` body bytes:
/// `(status, body)`. The caller bounds the time.
pub async fn exchange<S: AsyncRead + AsyncWrite + ReleaseWhileWaiting + Unpin>(
    io: &mut S,
    request: Vec<u8>,
    max_body: usize,
) -> Result<(u16, Vec<u8>), HttpError> {
    let io_err = |e: io::Error| HttpError::Io(e.to_string());
    io.write_all(&request).await.map_err(io_err)?;
    io.flush().await.map_err(io_err)?;
    drop(request);
    let mut parser = ResponseParser::new(max_body);
    poll_fn(|cx| loop {
        let mut chunk = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        let Poll::Ready(read) = Pin::new(&mut *io).poll_read(cx, &mut buf) else {
            io.release_buffers();
            return Poll::Pending;
        };
        read.map_err(io_err)?;
        let done = match buf.filled() {
            [] => parser.eof().map(|()| true),
            bytes => parser.feed(bytes),
        };
        if done? {
            return Poll::Ready(Ok(()));
        }
    })
    .await?;
    parser.finish()
}

/// An HTTP/1.1 response read from bytes as they arrive (a response to GET or POST: never to
/// HEAD or CONNECT).
#[derive(Debug)]
pub struct ResponseParser {
    max_body: usize,
    phase: Phase,
    /// Bytes received but not yet consumed: a partial head, or chunked framing.
    pending: Vec<u8>,
    body: Vec<u8>,
    status: u16,
    interim: u8,
    /// All bytes received, framing included; bounds a body cut into tiny chunks.
    received: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Length(usize),
    Chunked(Chunk),
    UntilClose,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailers,
}

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

impl ResponseParser {
    pub fn new(max_body: usize) -> Self {
        ResponseParser {
            max_body,
            phase: Phase::Head,
            pending: Vec::new(),
            body: Vec::new(),
            status: 0,
            interim: 0,
            received: 0,
        }
    }

    /// Takes bytes just received; `Ok(true)` once the response is complete. Bytes after the
    /// end of the response are an error: with `Connection: close` there is nothing after it.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<bool, HttpError> {
        self.received += bytes.len();
        if self.received > MAX_HEAD + 2 * self.max_body {
            return Err(HttpError::TooLarge("framing"));
        }
        match self.phase {
            Phase::Head | Phase::Chunked(_) => {
                self.pending.extend_from_slice(bytes);
                self.advance()
            }
            Phase::Length(_) | Phase::UntilClose => self.body_bytes(bytes),
            Phase::Done => Err(HttpError::Malformed("bytes after the response")),
        }
    }

    /// Body bytes of a response framed by length or by the close.
    fn body_bytes(&mut self, bytes: &[u8]) -> Result<bool, HttpError> {
        match self.phase {
            Phase::Length(n) if bytes.len() > n - self.body.len() => {
                Err(HttpError::Malformed("more bytes than Content-Length"))
            }
            Phase::Length(n) => {
                self.body.extend_from_slice(bytes);
                if self.body.len() == n {
                    self.phase = Phase::Done;
                }
                Ok(self.phase == Phase::Done)
            }
            _ if bytes.len() > self.max_body - self.body.len() => Err(HttpError::TooLarge("body")),
            _ => {
                self.body.extend_from_slice(bytes);
                Ok(false)
            }
        }
    }

    /// The peer closed the connection.
    pub fn eof(&mut self) -> Result<(), HttpError> {
        match self.phase {
            Phase::UntilClose => {
                self.phase = Phase::Done;
                Ok(())
            }
            Phase::Done => Ok(()),
            Phase::Head => Err(HttpError::Closed("before the response head")),
            Phase::Length(_) | Phase::Chunked(_) => Err(HttpError::Closed("inside the body")),
        }
    }

    /// `(status, body)` of a complete response.
    pub fn finish(self) -> Result<(u16, Vec<u8>), HttpError> {
        match self.phase {
            Phase::Done => Ok((self.status, self.body)),
            _ => Err(HttpError::Closed("before the end of the response")),
        }
    }

    fn advance(&mut self) -> Result<bool, HttpError> {
        while self.phase == Phase::Head {
            let Some((len, status, framing)) = parse_head(&self.pending, self.max_body)? else {
                return Ok(false);
            };
            self.pending.drain(..len);
            if (100..200).contains(&status) {
                self.interim += 1;
                if status == 101 || self.interim > MAX_INTERIM {
                    return Err(HttpError::Malformed("unexpected 1xx response"));
                }
                continue;
            }
            self.status = status;
            self.phase = match framing {
                Framing::Empty | Framing::Length(0) => Phase::Done,
                Framing::Length(n) => {
                    // Bounded by max_body in parse_head; exact, so no growth by doubling.
                    self.body.reserve_exact(n);
                    Phase::Length(n)
                }
                Framing::Chunked => Phase::Chunked(Chunk::Size),
                Framing::UntilClose => Phase::UntilClose,
            };
            if matches!(self.phase, Phase::Length(_) | Phase::UntilClose) {
                let rest = std::mem::take(&mut self.pending);
                return self.body_bytes(&rest);
            }
        }
        if let Phase::Chunked(state) = self.phase {
            let used = self.chunked(state)?;
            self.pending.drain(..used);
        }
        if self.phase == Phase::Done && !self.pending.is_empty() {
            return Err(HttpError::Malformed("bytes after the response"));
        }
        Ok(self.phase == Phase::Done)
    }

    /// Decodes as much chunked coding from `pending` as has arrived; returns the bytes used.
    fn chunked(&mut self, mut state: Chunk) -> Result<usize, HttpError> {
        let mut at = 0;
        loop {
            let rest = &self.pending[at..];
            match state {
                Chunk::Size => {
                    // httparse reads an empty size as 0; a size needs at least one digit.
                    match rest.first() {
                        None => break,
                        Some(b) if !b.is_ascii_hexdigit() => {
                            return Err(HttpError::Malformed("chunk size"))
                        }
                        Some(_) => {}
                    }
                    let (n, size) = match httparse::parse_chunk_size(rest) {
                        Ok(httparse::Status::Complete(line)) => line,
                        Ok(httparse::Status::Partial) if rest.len() <= MAX_CHUNK_LINE => break,
                        Ok(httparse::Status::Partial) => {
                            return Err(HttpError::Malformed("chunk size line too long"))
                        }
                        Err(_) => return Err(HttpError::Malformed("chunk size")),
                    };
                    if n > MAX_CHUNK_LINE {
                        return Err(HttpError::Malformed("chunk size line too long"));
                    }
                    if size > (self.max_body - self.body.len()) as u64 {
                        return Err(HttpError::TooLarge("body"));
                    }
                    at += n;
                    state = match size {
                        0 => Chunk::Trailers,
                        _ => Chunk::Data(size as usize),
                    };
                }
                Chunk::Data(left) => {
                    let take = left.min(rest.len());
                    self.body.extend_from_slice(&rest[..take]);
                    at += take;
                    if take < left {
                        state = Chunk::Data(left - take);
                        break;
                    }
                    state = Chunk::DataEnd;
                }
                Chunk::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        at += 2;
                        state = Chunk::Size;
                    }
                    [] | [b'\r'] => break,
                    _ => return Err(HttpError::Malformed("chunk not followed by CRLF")),
                },
                Chunk::Trailers => {
                    let mut fields = [httparse::EMPTY_HEADER; 16];
                    match httparse::parse_headers(rest, &mut fields) {
                        Ok(httparse::Status::Complete((n, _))) => {
                            at += n;
                            self.phase = Phase::Done;
                            return Ok(at);
                        }
                        Ok(httparse::Status::Partial) if rest.len() <= MAX_HEAD => break,
                        Ok(httparse::Status::Partial) => {
                            return Err(HttpError::TooLarge("trailers"))
                        }
                        Err(_) => return Err(HttpError::Malformed("trailers")),
                    }
                }
            }
        }
        self.phase = Phase::Chunked(state);
        Ok(at)
    }
}

/// A complete head in `buf`: its length, the status and the body's framing; `None` while
/// more bytes are needed.
fn parse_head(buf: &[u8], max_body: usize) -> Result<Option<(usize, u16, Framing)>, HttpError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => return Err(HttpError::TooLarge("head")),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooLarge("header count")),
        Err(_) => return Err(HttpError::Malformed("head")),
    };
    if len > MAX_HEAD {
        return Err(HttpError::TooLarge("head"));
    }
    let status = response.code.ok_or(HttpError::Malformed("status"))?;
    if !(100..=599).contains(&status) {
        return Err(HttpError::Malformed("status"));
    }
    let (mut length, mut chunked) = (None, false);
    for field in response.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            let n = content_length(field.value)?;
            if length.is_some_and(|m| m != n) {
                return Err(HttpError::Malformed("conflicting Content-Length"));
            }
            length = Some(n);
        } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only plain chunked coding: we asked for no other, and a repeated field is faulty.
            let value = std::str::from_utf8(field.value).unwrap_or_default().trim();
            if chunked || !value.eq_ignore_ascii_case("chunked") {
                return Err(HttpError::Malformed("Transfer-Encoding"));
            }
            chunked = true;
        }
    }
    let framing = match (status, chunked, length) {
        (100..=199 | 204 | 304, _, _) => Framing::Empty,
        (_, true, Some(_)) => {
            return Err(HttpError::Malformed(
                "Content-Length with Transfer-Encoding",
            ))
        }
        (_, true, None) if response.version == Some(0) => {
            return Err(HttpError::Malformed("Transfer-Encoding in HTTP/1.0"))
        }
        (_, true, None) => Framing::Chunked,
        (_, false, Some(n)) if n > max_body => return Err(HttpError::TooLarge("body")),
        (_, false, Some(n)) => Framing::Length(n),
        (_, false, None) => Framing::UntilClose,
    };
    Ok(Some((len, status, framing)))
}

/// Digits only (no sign, no list), at most 19 of them.
fn content_length(value: &[u8]) -> Result<usize, HttpError> {
    let digits = !value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit);
    std::str::from_utf8(value)
        .ok()
        .filter(|_| digits)
        .and_then(|s| s.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or(HttpError::Malformed("Content-Length"))
}

#[cfg(test)]
#[path = "http1_tests.rs"]
mod tests;
