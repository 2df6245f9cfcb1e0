use super::*;

const MAX: usize = 1024;

impl ReleaseWhileWaiting for tokio::io::DuplexStream {
    fn release_buffers(&mut self) {}
}

/// The whole input in one piece, then the close.
fn parse(wire: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
    parse_split(wire, wire.len().max(1))
}

/// The input in pieces of `step` bytes (as reads may cut it), then the close if still needed.
fn parse_split(wire: &[u8], step: usize) -> Result<(u16, Vec<u8>), HttpError> {
    let mut p = ResponseParser::new(MAX);
    let mut done = false;
    for piece in wire.chunks(step) {
        done = p.feed(piece)?;
    }
    if !done {
        p.eof()?;
    }
    p.finish()
}

fn ok(status: u16, body: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
    Ok((status, body.to_vec()))
}

#[test]
fn content_length_bodies_in_any_split() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bc\"}\n";
    for step in [1, 2, 7, 64, wire.len()] {
        assert_eq!(
            parse_split(wire, step),
            ok(200, b"{\"a\":\"bc\"}\n"),
            "{step}"
        );
    }
    // Complete at the last body byte: no close needed.
    let mut p = ResponseParser::new(MAX);
    assert_eq!(p.feed(wire), Ok(true));
    assert_eq!(p.finish(), ok(200, b"{\"a\":\"bc\"}\n"));
    assert_eq!(
        parse(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
        ok(404, b"")
    );
    // Repeated and identical: one length.
    let twice = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi";
    assert_eq!(parse(twice), ok(200, b"hi"));
}

#[test]
fn content_length_mismatch_and_early_close() {
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    assert_eq!(parse(short), Err(HttpError::Closed("inside the body")));
    let long = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc";
    assert!(matches!(parse(long), Err(HttpError::Malformed(_))));
    for step in [1, 2] {
        assert!(matches!(
            parse_split(long, step),
            Err(HttpError::Malformed(_))
        ));
    }
    let conflict = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc";
    assert!(matches!(parse(conflict), Err(HttpError::Malformed(_))));
    for bad in ["+2", "-1", "2, 2", " ", "0x2", "99999999999999999999", "٣"] {
        let wire = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\nab");
        assert!(parse(wire.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(
        parse(b""),
        Err(HttpError::Closed("before the response head"))
    );
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nContent-Le"),
        Err(HttpError::Closed("before the response head"))
    );
}

#[test]
fn declared_or_sent_bodies_over_the_bound_are_refused() {
    let wire = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX + 1);
    assert_eq!(parse(wire.as_bytes()), Err(HttpError::TooLarge("body")));
    let mut until_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    until_close.extend(vec![b'x'; MAX]);
    assert_eq!(parse(&until_close).unwrap().1.len(), MAX);
    until_close.push(b'x');
    assert_eq!(parse(&until_close), Err(HttpError::TooLarge("body")));
    let chunk = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        MAX + 1
    );
    assert_eq!(parse(chunk.as_bytes()), Err(HttpError::TooLarge("body")));
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        4\r\n{\"a\"\r\n5;name=value\r\n:\"bc\"\r\n1\r\n}\r\n0\r\nX-Trailer: yes\r\n\r\n";
    for step in [1, 3, 5, wire.len()] {
        assert_eq!(
            parse_split(wire, step),
            ok(200, b"{\"a\":\"bc\"}"),
            "{step}"
        );
    }
    let plain =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n";
    assert_eq!(parse(plain), ok(200, b"0123456789"));
}

#[test]
fn malformed_chunked_coding_is_refused() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let cases = [
        "\r\n",                     // no size
        "g\r\n",                    // not hex
        "-1\r\n",                   // sign
        "4\nabcd\r\n0\r\n\r\n",     // bare LF after the size
        "4\r\nabcdX\r\n0\r\n\r\n",  // data longer than the size
        "4\r\nabc",                 // closed inside a chunk
        "4\r\nabcd\r\n",            // closed before the last chunk
        "0\r\nBad Trailer\r\n\r\n", // trailer without a colon
        "0\r\n\r\nextra",           // bytes after the response
        "10000000000000000\r\n",    // 17 hex digits
    ];
    for case in cases {
        let wire = format!("{head}{case}");
        assert!(parse(wire.as_bytes()).is_err(), "{case:?}");
        assert!(
            parse_split(wire.as_bytes(), 1).is_err(),
            "{case:?} byte by byte"
        );
    }
    let long_line = format!("{head}1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE));
    assert!(matches!(
        parse(long_line.as_bytes()),
        Err(HttpError::Malformed(_))
    ));
    let endless_trailers = format!("{head}0\r\nX: {}", "y".repeat(MAX_HEAD));
    assert!(parse(endless_trailers.as_bytes()).is_err());
}

#[test]
fn framing_that_could_be_read_two_ways_is_refused() {
    let both = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(matches!(parse(both), Err(HttpError::Malformed(_))));
    let twice =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(matches!(parse(twice), Err(HttpError::Malformed(_))));
    let gzip = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    assert!(matches!(parse(gzip), Err(HttpError::Malformed(_))));
    let old = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert!(matches!(parse(old), Err(HttpError::Malformed(_))));
    // HTTP/1.0 without a length: the body runs to the close.
    assert_eq!(parse(b"HTTP/1.0 200 OK\r\n\r\n{}"), ok(200, b"{}"));
}

#[test]
fn malformed_heads_are_refused() {
    let cases: [&[u8]; 10] = [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1 600 High\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nName : value\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
    ];
    for case in cases {
        assert!(parse(case).is_err(), "{:?}", String::from_utf8_lossy(case));
    }
}

#[test]
fn heads_are_bounded_in_size_and_field_count() {
    let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
    assert_eq!(parse(big.as_bytes()), Err(HttpError::TooLarge("head")));
    // Never complete, sent slowly: refused once past the bound, not buffered forever.
    let mut p = ResponseParser::new(MAX);
    let mut refused = None;
    for i in 0..2 * MAX_HEAD {
        let piece: &[u8] = if i == 0 {
            b"HTTP/1.1 200 OK\r\nX: "
        } else {
            b"a"
        };
        if let Err(e) = p.feed(piece) {
            refused = Some(i);
            assert_eq!(e, HttpError::TooLarge("head"));
            break;
        }
    }
    assert!(refused.is_some_and(|i| i <= MAX_HEAD));
    let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
    let wire = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(
        parse(wire.as_bytes()),
        Err(HttpError::TooLarge("header count"))
    );
}

#[test]
fn interim_responses_are_skipped_up_to_a_bound() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    for step in [1, wire.len()] {
        assert_eq!(parse_split(wire, step), ok(200, b"{}"));
    }
    let switch = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
    assert!(matches!(parse(switch), Err(HttpError::Malformed(_))));
    let many = b"HTTP/1.1 103 Early Hints\r\n\r\n".repeat(usize::from(MAX_INTERIM) + 1);
    assert!(matches!(parse(&many), Err(HttpError::Malformed(_))));
    // 204 and 304 have no body, whatever they declare.
    assert_eq!(parse(b"HTTP/1.1 204 No Content\r\n\r\n"), ok(204, b""));
}

#[test]
fn requests_carry_only_visible_ascii_in_line_and_host() {
    let r = request(
        "POST",
        "/v2/authentication/etsi/PNOEE-1",
        "h:8443",
        Some(b"{}"),
    )
    .unwrap();
    let text = String::from_utf8(r).unwrap();
    assert!(text.starts_with("POST /v2/authentication/etsi/PNOEE-1 HTTP/1.1\r\nHost: h:8443\r\n"));
    assert!(text.contains("\r\nConnection: close\r\n"));
    assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
    let get = String::from_utf8(request("GET", "/s?timeoutMs=1000", "[::1]", None).unwrap());
    assert!(!get.unwrap().contains("Content-Length"));
    for (target, host) in [
        ("/a b", "h"),
        ("/a\r\nX: y", "h"),
        ("relative", "h"),
        ("/a", "h\r\nX: y"),
        ("/a", ""),
        ("/é", "h"),
    ] {
        assert!(
            request("GET", target, host, None).is_err(),
            "{target:?} {host:?}"
        );
    }
}

#[tokio::test]
async fn exchange_writes_the_request_and_reads_the_answer() {
    let (mut ours, mut theirs) = tokio::io::duplex(64);
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut got = vec![0u8; 5];
        theirs.read_exact(&mut got).await.unwrap();
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        theirs.write_all(answer).await.unwrap();
        got
    });
    let answer = exchange(&mut ours, b"hello".to_vec(), MAX).await;
    assert_eq!(answer, ok(200, b"{}"));
    assert_eq!(server.await.unwrap(), b"hello");
    // The other side goes away without answering: early EOF.
    let (mut ours, theirs) = tokio::io::duplex(64);
    drop(theirs);
    let got = exchange(&mut ours, Vec::new(), MAX).await;
    assert_eq!(got, Err(HttpError::Closed("before the response head")));
}
