//! Each connection is read here between requests, so what a connection
//! keeps while it waits is only what it needs. Hyper keeps an 8 KiB read
//! and an 8 KiB write buffer for as long as it holds a connection; a
//! customer's phone long-polling its order holds one for a minute at a
//! time. So heads are read here into a small buffer, freed once parsed,
//! and a GET without a body is answered here as `server::handle` would
//! (the portal's intercept, then the route table; a customer's long-poll,
//! `router::is_long_poll`, by its own smaller future), which also spares
//! the captive redirect and cached pages a hyper connection per request.
//! Any other request (one with a body, HEAD) is handed to hyper with its
//! bytes replayed, for that request alone, and the connection comes back
//! after the answer. What this reader cannot take whole (HTTP/1.0, a
//! chunked body, `Expect`, an upgrade, a head over `MAX_HEAD` or one it
//! cannot parse) goes to hyper for the rest of the connection, which
//! answers it as before (errors included).

use super::connection::{Replay, WriteTimeout};
use super::response::Response;
use super::router;
use super::routes::portal;
use super::server::{self, READ_TIMEOUT};
use crate::app::App;
use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::header::{
    HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, DATE, EXPECT, TRANSFER_ENCODING, UPGRADE,
};
use hyper::{HeaderMap, Method, StatusCode, Uri, Version};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The largest head read here (and the most kept of what a client sends
/// while its long-poll waits); a bigger one goes to hyper, which allows
/// 64 KiB.
const MAX_HEAD: usize = 8 * 1024;
/// Read at a time: a phone's head is usually under 1 KiB.
const READ_STEP: usize = 1024;
/// Headers a head may have here; more go to hyper (which allows 100).
const MAX_HEADERS: usize = 48;
/// Bodies up to this size go out in one write with their head.
const JOINED_BODY: usize = 16 * 1024;

/// What the bytes read so far hold.
enum Head {
    /// Not a whole head yet.
    Partial,
    /// A GET without a body, answered here: the request, its head's
    /// length, and whether the client asked to close after it.
    Bodiless(Box<hyper::Request<()>>, usize, bool),
    /// Another HTTP/1.1 request (with a body, or HEAD) hyper answers alone:
    /// its length (head and body), and whether to close after it.
    Other(usize, bool),
    /// Hyper takes the connection from here.
    Hyper,
}

/// Serves a connection until it closes, the server stops or a read times
/// out (`READ_TIMEOUT` for each head, as for hyper's header timer, idle
/// waits included).
pub(super) async fn serve(
    app: App,
    mut io: WriteTimeout<TcpStream>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    mut stopping: watch::Receiver<bool>,
) {
    // Bytes read and not yet served: empty, and unallocated, while idle.
    let mut read = Vec::new();
    loop {
        let head = tokio::select! {
            head = tokio::time::timeout(READ_TIMEOUT, read_head(io.get_mut(), &mut read)) => head,
            _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => return,
        };
        let close = match head {
            Ok(Ok(Head::Bodiless(request, length, close))) => {
                read.drain(..length);
                if read.is_empty() {
                    read = Vec::new();
                }
                if !answer(&app, &mut io, *request, peer, local, &mut read).await {
                    return;
                }
                close
            }
            Ok(Ok(Head::Other(total, close))) => {
                // What was read beyond this request stays here (pipelined).
                let rest = read.split_off(total.min(read.len()));
                let request = std::mem::replace(&mut read, rest);
                let left = total - request.len();
                // Boxed, as below: a connection's task is sized by what it holds
                // between requests, not by hyper's connection state.
                let answered = Box::pin(server::hyper_request(
                    &app, &mut io, request, left, peer, local,
                ));
                if !answered.await {
                    return;
                }
                close
            }
            Ok(Ok(Head::Hyper)) => {
                let replay = Replay::new(read, io);
                return Box::pin(server::hyper_connection(app, replay, peer, local, stopping))
                    .await;
            }
            // Closed, failed, or too slow: end it, as hyper does.
            Ok(Ok(Head::Partial)) | Ok(Err(_)) | Err(_) => return,
        };
        if close || *stopping.borrow() {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// Reads until `read` holds a head; `Partial` only when the client closed.
async fn read_head(stream: &mut TcpStream, read: &mut Vec<u8>) -> io::Result<Head> {
    loop {
        match parse(read) {
            Head::Partial if read.len() >= MAX_HEAD => return Ok(Head::Hyper),
            Head::Partial => {}
            head => return Ok(head),
        }
        if read_some(stream, read).await? == 0 {
            return Ok(Head::Partial);
        }
    }
}

/// Waits for bytes and appends what came, never past `MAX_HEAD` bytes
/// held (nor that much room); 0 when the client closed, or when `read`
/// is full already.
async fn read_some(stream: &mut TcpStream, read: &mut Vec<u8>) -> io::Result<usize> {
    let room = READ_STEP.min(MAX_HEAD.saturating_sub(read.len()));
    if room == 0 {
        return Ok(0);
    }
    // `poll_read`, not `try_read`: a short read clears the socket's
    // readiness, sparing a read that would block before each request. The
    // step lives only within a poll, not in the waiting future.
    std::future::poll_fn(|cx| {
        let mut step = [0u8; READ_STEP];
        let mut buf = ReadBuf::new(&mut step[..room]);
        std::task::ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf))?;
        let came = buf.filled();
        // Allocated only once something came, so an idle connection holds
        // no buffer; a step at a time, never with room past `MAX_HEAD`.
        read.reserve_exact(came.len().max(room));
        read.extend_from_slice(came);
        Poll::Ready(Ok(came.len()))
    })
    .await
}

fn parse(read: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let length = match parsed.parse(read) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Head::Partial,
        // Blank lines before a request are ignored (as hyper waits on them):
        // a client sending only those waits for its head's timeout.
        Err(_) if read.iter().all(|b| matches!(b, b'\r' | b'\n')) => return Head::Partial,
        Err(_) => return Head::Hyper,
    };
    if parsed.version != Some(1) {
        return Head::Hyper;
    }
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return Head::Hyper;
    };
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method.as_bytes()), path.parse::<Uri>()) else {
        return Head::Hyper;
    };
    let mut map = HeaderMap::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return Head::Hyper;
        };
        map.append(name, value);
    }
    if [TRANSFER_ENCODING, EXPECT, UPGRADE]
        .iter()
        .any(|name| map.contains_key(name))
    {
        return Head::Hyper;
    }
    let close = map
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"));
    // Hyper refuses differing lengths; it takes those whole.
    let mut lengths = map.get_all(CONTENT_LENGTH).iter();
    let length_of = |v: &HeaderValue| v.to_str().ok()?.parse::<usize>().ok();
    let body = match lengths.next().map(length_of) {
        None => 0,
        Some(Some(body)) if lengths.all(|v| length_of(v) == Some(body)) => body,
        Some(_) => return Head::Hyper,
    };
    if !(body == 0 && method == Method::GET) {
        return Head::Other(length.saturating_add(body), close);
    }
    let mut request = hyper::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = map;
    Head::Bodiless(Box::new(request), length, close)
}

/// Answers a GET without a body as `server::handle` does; false when the
/// client hung up or the answer could not be written. While a long-poll
/// waits, what the client sends is kept in `ahead` (a pipelined request)
/// and its hanging up ends the wait.
async fn answer(
    app: &App,
    io: &mut WriteTimeout<TcpStream>,
    request: hyper::Request<()>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    ahead: &mut Vec<u8>,
) -> bool {
    // Captive portal first: requests for other sites never reach the routes.
    let response = match portal::intercept(app, peer, local, &request) {
        Some(response) => response,
        None => {
            let (parts, ()) = request.into_parts();
            let segments = super::request::path_segments(parts.uri.path());
            if router::is_long_poll(&parts.method, &segments) {
                // Boxed: only while it waits does a connection hold its future.
                let answer = Box::pin(server::answer_long_poll(app, parts, segments, peer, local));
                tokio::select! {
                    response = answer => response,
                    () = hung_up(io.get_mut(), ahead) => return false,
                }
            } else {
                // Boxed too: the route table's future is sized by its largest
                // handler, which a waiting connection must not carry.
                Box::pin(server::answer_bodiless(app, parts, segments, peer, local)).await
            }
        }
    };
    write(io, response).await
}

/// Resolves when the client closes its side or the connection fails.
async fn hung_up(stream: &mut TcpStream, ahead: &mut Vec<u8>) {
    while ahead.len() < MAX_HEAD {
        if !matches!(read_some(stream, ahead).await, Ok(n) if n > 0) {
            return;
        }
    }
    // Enough kept: the rest waits in the kernel until this answer is out.
    std::future::pending().await
}

/// Writes `response`; false when it could not be written.
async fn write(io: &mut WriteTimeout<TcpStream>, response: Response) -> bool {
    let (mut head, body) = encode(response).await;
    if body.len() <= JOINED_BODY {
        head.extend_from_slice(&body);
        return io.write_all(&head).await.is_ok();
    }
    // A large body (a photo, a backup) is sent as it is, not copied.
    io.write_all(&head).await.is_ok() && io.write_all(&body).await.is_ok()
}

/// The head hyper would write for `response` to a GET (status line, its
/// headers, `content-length` and `date`), and the body to send after it.
async fn encode(response: Response) -> (Vec<u8>, Bytes) {
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let status = parts.status;
    let bodiless = matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let mut out = Vec::with_capacity(
        256 + if bodiless || body.len() > JOINED_BODY {
            0
        } else {
            body.len()
        },
    );
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !bodiless && !parts.headers.contains_key(CONTENT_LENGTH) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (out, if bodiless { Bytes::new() } else { body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Head {
        parse(text.as_bytes())
    }

    #[test]
    fn gets_without_a_body_are_taken_and_anything_else_is_handed_on() {
        let head = "GET /api/orders/7?since=2&wait=25 HTTP/1.1\r\nHost: a\r\n\r\nGET /";
        match parsed(head) {
            Head::Bodiless(request, length, close) => {
                assert_eq!(request.uri().query(), Some("since=2&wait=25"));
                assert_eq!(request.headers()["host"], "a");
                assert_eq!(length, head.len() - "GET /".len());
                assert!(!close);
            }
            _ => panic!("not taken"),
        }
        let closing = "GET /api/checkouts/3 HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n";
        assert!(matches!(parsed(closing), Head::Bodiless(_, _, true)));
        for taken in [
            "GET /shops/1 HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert!(
                matches!(parsed(taken), Head::Bodiless(_, _, false)),
                "{taken:?}"
            );
        }
        // Handed to hyper with their whole length, head and body.
        for (other, length) in [
            ("HEAD /shops/1 HTTP/1.1\r\n\r\n", 26),
            (
                "POST /api/orders/7 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /",
                52,
            ),
            (
                "GET /api/orders/7 HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
                73,
            ),
        ] {
            match parsed(other) {
                Head::Other(total, false) => assert_eq!(total, length, "{other:?}"),
                _ => panic!("not handed on: {other:?}"),
            }
        }
        for partial in ["GET /api/orders/7 HTTP/1.1\r\nHost: a", "\r\r\n\r"] {
            assert!(matches!(parsed(partial), Head::Partial), "{partial:?}");
        }
        for hyper_s in [
            "GET /api/orders/7 HTTP/1.0\r\n\r\n",
            "POST /api/orders HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /api/orders/7 HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /api/orders/7 HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET /api/orders/7 HTTP/1.1\r\nBad Header: x\r\n\r\n",
            "\r\rGET / HTTP/1.1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -2\r\n\r\n",
            "GET\x01 / HTTP/1.1\r\n\r\n",
            "GE(T / HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(parsed(hyper_s), Head::Hyper), "{hyper_s:?}");
        }
        let many: String = (0..MAX_HEADERS + 1)
            .map(|n| format!("X-{n}: y\r\n"))
            .collect();
        assert!(matches!(
            parsed(&format!("GET /api/orders/7 HTTP/1.1\r\n{many}\r\n")),
            Head::Hyper
        ));
    }

    async fn encoded(response: Response) -> String {
        let (mut head, body) = encode(response).await;
        head.extend_from_slice(&body);
        String::from_utf8(head).unwrap()
    }

    #[tokio::test]
    async fn an_answer_has_the_bytes_hyper_writes() {
        let response = super::super::response::with_body(StatusCode::OK, "application/json", "{}");
        let text = encoded(response).await;
        assert!(text.starts_with(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\n"
        ));
        assert!(text.contains("\r\ncontent-length: 2\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\n\r\n{}"), "{text}");
        let response =
            super::super::response::with_body(StatusCode::NOT_MODIFIED, "application/json", "");
        let text = encoded(response).await;
        assert!(text.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{text}");
        assert!(!text.contains("content-length"), "{text}");
    }
}
