//! Each connection is read here between requests, so what a connection
//! keeps while it waits is only what it needs. Hyper keeps an 8 KiB read
//! and an 8 KiB write buffer for as long as it holds a connection; a
//! customer's phone long-polling its order holds one for a minute at a
//! time. So heads are read here into a small buffer, freed once parsed,
//! and a GET without a body is answered here as `server::handle` would
//! (the portal's intercept, then the route table; a customer's long-poll,
//! `router::is_long_poll`, by its own smaller future), which also spares
//! the captive redirect and cached pages a hyper connection per request.
//! The portal's intercept looks at the head's bytes where they were read,
//! and a redirect is written from parts made at start: another site's
//! request makes no `HeaderMap`, no `Response` and no allocation.
//! Any other request (one with a body, HEAD) is handed to hyper with its
//! bytes replayed, for that request alone, and the connection comes back
//! after the answer. What this reader cannot take whole (HTTP/1.0, a
//! chunked body, `Expect`, an upgrade, a head over `MAX_HEAD` or one it
//! cannot parse) goes to hyper for the rest of the connection, which
//! answers it as before (errors included).

use super::connection::{Replay, WriteTimeout};
use super::response::Response;
use super::router;
use super::routes::portal::{self, Interception};
use super::server::{self, READ_TIMEOUT};
use crate::app::App;
use crate::portal::PortalConfig;
use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, DATE, LOCATION};
use hyper::{Method, StatusCode, Uri, Version};
use std::cell::{Cell, RefCell};
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::Poll;
use std::thread::LocalKey;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

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
/// The most memory a thread keeps in a spare buffer (`SPARE_READ`,
/// `SPARE_ANSWER`) between requests; a larger one is freed.
const MAX_SPARE: usize = MAX_HEAD + READ_STEP;

thread_local! {
    /// A read buffer kept between requests, so a connection between two
    /// requests holds none and the next request still allocates none:
    /// one a thread is enough, as a head is mostly answered (or taken
    /// out of the buffer) before its task waits again.
    static SPARE_READ: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// The same for the portal's redirects, each written out before the
    /// next is made.
    static SPARE_ANSWER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// The `date` of answers written here and the second it was made in:
    /// formatted once a second, as hyper does.
    static NOW_DATE: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

/// What the bytes read so far hold.
enum Head {
    /// Not a whole head yet.
    Partial,
    /// A GET for another site, which the portal answered (`elsewhere`):
    /// the answer, the head's length, and whether the client asked to
    /// close after it.
    Elsewhere(Answer, usize, bool),
    /// Another GET without a body, answered here: the request, its head's
    /// length, and whether the client asked to close after it.
    Bodiless(Box<hyper::Request<()>>, usize, bool),
    /// Another HTTP/1.1 request (with a body, or HEAD) hyper answers alone:
    /// its length (head and body), and whether to close after it.
    Other(usize, bool),
    /// Hyper takes the connection from here.
    Hyper,
}

/// A GET without a body as the portal's intercept needs it, in the bytes
/// read: `host` as the request named it (its Host header, else its URI's).
struct Get<'a> {
    host: &'a str,
    path: &'a str,
    path_and_query: &'a str,
    accept_language: Option<&'a str>,
}

/// The portal's answer to a GET for another site.
enum Answer {
    /// A redirect, written whole (`write_redirect`).
    Written(Vec<u8>),
    /// A probe's answer, or a redirect the long way.
    Response(Response),
}

/// Serves a connection until it closes, the server stops or a read times
/// out (`READ_TIMEOUT` for each head, as for hyper's header timer, idle
/// waits included).
pub(super) async fn serve(
    app: App,
    mut io: WriteTimeout<TcpStream>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    stopping: watch::Receiver<bool>,
) {
    // Bytes read and not yet served: empty, and unallocated, while idle.
    let mut read = Vec::new();
    let portal = |get: &Get<'_>| elsewhere(&app, peer, local, get);
    // One timer and one stop signal for the connection's life, rather than
    // one of each registered and removed again for every request: the
    // timer is moved only when it goes off before the head's deadline.
    let mut stop = stopping.clone();
    let stopped = stop.wait_for(|stop| *stop);
    tokio::pin!(stopped);
    let timer = tokio::time::sleep(READ_TIMEOUT);
    tokio::pin!(timer);
    loop {
        let deadline = Instant::now() + READ_TIMEOUT;
        let head = loop {
            tokio::select! {
                // The head first: it is what most wake-ups bring.
                biased;
                head = read_head(io.get_mut(), &mut read, portal) => break head,
                () = &mut timer => {
                    if Instant::now() >= deadline {
                        // Too slow: end it, as hyper does.
                        return;
                    }
                    timer.as_mut().reset(deadline);
                }
                _ = &mut stopped => return,
            }
        };
        let close = match head {
            Ok(Head::Elsewhere(answer, length, close)) => {
                served(&mut read, length);
                let sent = match answer {
                    Answer::Written(out) => {
                        let sent = io.write_all(&out).await.is_ok();
                        keep_spare(&SPARE_ANSWER, out);
                        sent
                    }
                    Answer::Response(response) => write(&mut io, response).await,
                };
                if !sent {
                    return;
                }
                close
            }
            Ok(Head::Bodiless(request, length, close)) => {
                served(&mut read, length);
                if !answer(&app, &mut io, *request, peer, local, &mut read).await {
                    return;
                }
                close
            }
            Ok(Head::Other(total, close)) => {
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
            Ok(Head::Hyper) => {
                let replay = Replay::new(read, &mut io);
                return Box::pin(server::hyper_connection(app, replay, peer, local, stopping))
                    .await;
            }
            // Closed or failed: end it, as hyper does.
            Ok(Head::Partial) | Err(_) => return,
        };
        if close || *stopping.borrow() {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// Takes a served head of `length` bytes out of `read`; once nothing is
/// left, its memory goes back to the thread's spare.
fn served(read: &mut Vec<u8>, length: usize) {
    read.drain(..length.min(read.len()));
    if read.is_empty() {
        keep_spare(&SPARE_READ, std::mem::take(read));
    }
}

/// Keeps `buffer`'s memory as the thread's spare, up to `MAX_SPARE`.
fn keep_spare(spare: &'static LocalKey<Cell<Vec<u8>>>, mut buffer: Vec<u8>) {
    if (1..=MAX_SPARE).contains(&buffer.capacity()) {
        buffer.clear();
        spare.set(buffer);
    }
}

/// Reads until `read` holds a head; `Partial` only when the client closed.
/// `portal` answers a GET for another site (`elsewhere`).
async fn read_head(
    stream: &mut TcpStream,
    read: &mut Vec<u8>,
    mut portal: impl FnMut(&Get<'_>) -> Option<Answer>,
) -> io::Result<Head> {
    loop {
        match parse(read, &mut portal) {
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
        let mut step = [const { MaybeUninit::<u8>::uninit() }; READ_STEP];
        let mut buf = ReadBuf::uninit(&mut step[..room]);
        std::task::ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf))?;
        let came = buf.filled();
        // Taken only once something came, so an idle connection holds no
        // buffer; a step at a time, never with room past `MAX_HEAD`.
        if read.capacity() == 0 {
            *read = SPARE_READ.take();
        }
        read.reserve_exact(came.len().max(room));
        read.extend_from_slice(came);
        Poll::Ready(Ok(came.len()))
    })
    .await
}

/// What `read` holds. A GET without a body for another site is answered
/// by `portal` here, from the bytes; any other GET becomes a request.
fn parse(read: &[u8], portal: impl FnOnce(&Get<'_>) -> Option<Answer>) -> Head {
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
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Head::Hyper;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Head::Hyper;
    };
    // Only a target `Uri` cannot take in place is parsed into one here.
    let origin = origin_form(target);
    let uri = match origin {
        Some(_) => None,
        None => match target.parse::<Uri>() {
            Ok(uri) => Some(uri),
            Err(_) => return Head::Hyper,
        },
    };
    // Names and values httparse took are ones `HeaderName` and
    // `HeaderValue` take too, so they are looked at here as they are.
    let headers = parsed.headers.iter();
    let named = |name: &'static str| {
        headers
            .clone()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    if ["transfer-encoding", "expect", "upgrade"]
        .iter()
        .any(|name| named(name).next().is_some())
    {
        return Head::Hyper;
    }
    let close = named("connection")
        .filter_map(header_text)
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"));
    // Hyper refuses differing lengths; it takes those whole.
    let mut lengths = named("content-length");
    let length_of = |v: &[u8]| header_text(v)?.parse::<usize>().ok();
    let body = match lengths.next().map(length_of) {
        None => 0,
        Some(Some(body)) if lengths.all(|v| length_of(v) == Some(body)) => body,
        Some(_) => return Head::Hyper,
    };
    if !(body == 0 && method == Method::GET) {
        return Head::Other(length.saturating_add(body), close);
    }
    let (path, path_and_query, uri_host) = match (&uri, origin) {
        (Some(uri), _) => (
            uri.path(),
            uri.path_and_query().map_or("/", |p| p.as_str()),
            uri.host(),
        ),
        (None, Some((path, path_and_query))) => (path, path_and_query, None),
        (None, None) => return Head::Hyper,
    };
    let host = named("host").next().and_then(header_text).or(uri_host);
    if let Some(host) = host {
        let get = Get {
            host,
            path,
            path_and_query,
            accept_language: named("accept-language").next().and_then(header_text),
        };
        if let Some(answer) = portal(&get) {
            return Head::Elsewhere(answer, length, close);
        }
    }
    let uri = match uri {
        Some(uri) => uri,
        None => match target.parse::<Uri>() {
            Ok(uri) => uri,
            Err(_) => return Head::Hyper,
        },
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
    let mut request = hyper::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = map;
    Head::Bodiless(Box::new(request), length, close)
}

/// A header's value as `HeaderValue::to_str` gives it: visible ASCII only.
fn header_text(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (b' '..0x7f).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// A request target in origin form (`/path?query`) that `Uri` takes, as
/// it would read it: its path, and its path and query (a `#fragment` cut
/// off). `None` for another form, or a target `Uri` refuses (the bytes it
/// wants percent-encoded, which httparse lets through).
fn origin_form(target: &str) -> Option<(&str, &str)> {
    if !target.starts_with('/') {
        return None;
    }
    let mut query = None;
    let mut end = target.len();
    for (at, b) in target.bytes().enumerate() {
        match (query.is_some(), b) {
            (_, b'#') => {
                end = at;
                break;
            }
            (false, b'?') => query = Some(at),
            (false, b'<' | b'>' | b'`') | (true, b'"' | b'<' | b'>') => return None,
            (_, b) if b <= b' ' || b == 0x7f => return None,
            _ => {}
        }
    }
    let path_and_query = &target[..end];
    Some((&path_and_query[..query.unwrap_or(end)], path_and_query))
}

/// The portal's answer to a GET for another site, `None` when it is for
/// the portal: as `portal::intercept` answers, its redirect written from
/// the parts made at start (`write_redirect`) where the portal allows.
fn elsewhere(
    app: &App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    get: &Get<'_>,
) -> Option<Answer> {
    let language =
        match portal::interception(app, peer, local, get.host, get.path, get.accept_language) {
            Interception::Portal => return None,
            Interception::Online(response) => return Some(Answer::Response(response)),
            Interception::Redirect(language) => language,
        };
    let Some((head, page)) = redirect_head().zip(portal::redirect_page(&app.portal, language))
    else {
        // A portal name that needs escaping takes the long way.
        let response = portal::redirected(&app.portal, get.host, get.path_and_query, language);
        return Some(Answer::Response(response));
    };
    let out = SPARE_ANSWER.take();
    let written = write_redirect(out, head, page, &app.portal, get);
    Some(Answer::Written(written))
}

/// `out` (empty) with the bytes `encode` makes of `portal::redirected`'s
/// 302, from its `head` (`redirect_head`) and `page`
/// (`portal::redirect_page`) made once. The Location is encoded once, for
/// the header, and copied into the page.
fn write_redirect(
    out: Vec<u8>,
    head: &str,
    (page, page_end): (&str, &str),
    portal: &PortalConfig,
    get: &Get<'_>,
) -> Vec<u8> {
    // Spares are kept empty, so this one is text.
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push_str(head);
    let link_at = text.len();
    portal.write_redirect_location(&mut text, get.host, get.path_and_query);
    let link = link_at..text.len();
    let mut out = text.into_bytes();
    out.extend_from_slice(b"\r\ncontent-length: ");
    let length = page.len() + link.len() + page_end.len();
    out.extend_from_slice(decimal(length, &mut [0; 20]).as_bytes());
    out.extend_from_slice(b"\r\ndate: ");
    with_date(|date| out.extend_from_slice(date.as_bytes()));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(page.as_bytes());
    out.extend_from_within(link);
    out.extend_from_slice(page_end.as_bytes());
    out
}

/// A redirect's status line and headers up to its `Location`'s value, as
/// `encode` writes them (`portal::redirect_headers`, `Location` last),
/// made once.
fn redirect_head() -> Option<&'static str> {
    static HEAD: OnceLock<Option<String>> = OnceLock::new();
    HEAD.get_or_init(|| {
        let headers = portal::redirect_headers();
        let (last, _) = headers.iter().last()?;
        if *last != LOCATION {
            return None;
        }
        let mut head = Vec::new();
        push_status(&mut head, StatusCode::FOUND);
        for (name, value) in headers.iter().filter(|(name, _)| **name != LOCATION) {
            push_header(&mut head, name.as_str(), value.as_bytes());
        }
        head.extend_from_slice(b"location: ");
        String::from_utf8(head).ok()
    })
    .as_deref()
}

/// Answers a GET without a body as `server::handle` does past the
/// portal's intercept; false when the client hung up or the answer could
/// not be written. While a long-poll waits, what the client sends is kept
/// in `ahead` (a pipelined request) and its hanging up ends the wait.
async fn answer(
    app: &App,
    io: &mut WriteTimeout<TcpStream>,
    request: hyper::Request<()>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    ahead: &mut Vec<u8>,
) -> bool {
    let (parts, ()) = request.into_parts();
    let segments = super::request::path_segments(parts.uri.path());
    let response = if router::is_long_poll(&parts.method, &segments) {
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
    push_status(&mut out, status);
    for (name, value) in &parts.headers {
        push_header(&mut out, name.as_str(), value.as_bytes());
    }
    if !bodiless && !parts.headers.contains_key(CONTENT_LENGTH) {
        let mut digits = [0; 20];
        let length = decimal(body.len(), &mut digits);
        push_header(&mut out, "content-length", length.as_bytes());
    }
    if !parts.headers.contains_key(DATE) {
        with_date(|date| push_header(&mut out, "date", date.as_bytes()));
    }
    out.extend_from_slice(b"\r\n");
    (out, if bodiless { Bytes::new() } else { body })
}

/// `n` in decimal, written into `digits` (no formatter for a length).
fn decimal(mut n: usize, digits: &mut [u8; 20]) -> &str {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[at..]).unwrap_or_default()
}

fn push_status(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Hands `use_it` the `date` header's value for now, formatted once a
/// second (as hyper's is) rather than for every answer.
fn with_date<T>(use_it: impl FnOnce(&str) -> T) -> T {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    NOW_DATE.with_borrow_mut(|(made_in, date)| {
        if *made_in != second || date.is_empty() {
            *date = httpdate::fmt_http_date(now);
            *made_in = second;
        }
        use_it(date)
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Head {
        parse(text.as_bytes(), |_| None)
    }

    /// What `parse` asks the portal about `head`, when it does.
    fn asked(head: &str) -> Option<(String, String, String, Option<String>)> {
        let mut asked = None;
        let parsed = parse(head.as_bytes(), |get| {
            asked = Some((
                get.host.to_string(),
                get.path.to_string(),
                get.path_and_query.to_string(),
                get.accept_language.map(str::to_string),
            ));
            Some(Answer::Written(b"answered".to_vec()))
        });
        match parsed {
            Head::Elsewhere(Answer::Written(out), length, false) => {
                assert_eq!((&out[..], length), (&b"answered"[..], head.len()));
                assert!(asked.is_some());
            }
            Head::Bodiless(..) => assert!(asked.is_none()),
            _ => panic!("neither asked nor taken: {head:?}"),
        }
        asked
    }

    #[test]
    fn the_portal_is_asked_about_a_get_with_its_parts_as_they_were_read() {
        let parts = |host: &str, path: &str, path_and_query: &str, language: Option<&str>| {
            Some((
                host.to_string(),
                path.to_string(),
                path_and_query.to_string(),
                language.map(str::to_string),
            ))
        };
        assert_eq!(
            asked(
                "GET /a/b?c=1#top HTTP/1.1\r\nAccept-Language: es\r\nHost: Example.COM:80\r\n\r\n"
            ),
            parts("Example.COM:80", "/a/b", "/a/b?c=1", Some("es"))
        );
        // The Host header first (the first of them), else the URI's host.
        assert_eq!(
            asked("GET http://example.com/x?y HTTP/1.1\r\n\r\n"),
            parts("example.com", "/x", "/x?y", None)
        );
        assert_eq!(
            asked("GET http://example.com HTTP/1.1\r\nHOST: other.org\r\nHost: third\r\n\r\n"),
            parts("other.org", "/", "/", None)
        );
        // A Host no header text can hold counts as none, as in `portal::intercept`.
        for unasked in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: caf\u{e9}.example\r\n\r\n",
        ] {
            assert_eq!(asked(unasked), None, "{unasked:?}");
        }
    }

    #[test]
    fn origin_form_targets_are_read_as_uri_reads_them() {
        let mut bytes: Vec<String> = (b'!'..0x7f).map(|b| char::from(b).to_string()).collect();
        bytes.extend(["\u{e9}", "%zz", "\u{202e}"].map(String::from));
        for b in &bytes {
            for target in [
                format!("/a{b}c"),
                format!("/a?x{b}y"),
                format!("/a#{b}"),
                format!("/{b}?{b}#{b}"),
            ] {
                let ours = origin_form(&target).map(|(path, path_and_query)| {
                    (path.to_string(), Some(path_and_query.to_string()))
                });
                let uris = target.parse::<Uri>().ok().map(|uri| {
                    let path_and_query = uri.path_and_query().map(|p| p.as_str().to_string());
                    (uri.path().to_string(), path_and_query)
                });
                assert_eq!(ours, uris, "{target:?}");
            }
        }
        for other in ["*", "http://example.com/", "example.com:80", "?x"] {
            assert_eq!(origin_form(other), None, "{other:?}");
        }
    }

    #[test]
    fn lengths_are_written_in_decimal() {
        for n in [0, 7, 10, 183, 65_536, usize::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string());
        }
    }

    /// `answer` without its `date` line, which may be of another second.
    fn undated(answer: &str) -> String {
        answer
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with("date: "))
            .collect()
    }

    #[tokio::test]
    async fn a_redirect_written_from_its_parts_has_the_bytes_of_its_response() {
        let plain = PortalConfig::default();
        let odd = PortalConfig {
            host: "order.lan&".into(),
            ..PortalConfig::default()
        };
        let head = redirect_head().unwrap();
        for (host, path_and_query) in [
            ("example.com", "/"),
            ("EXAMPLE.com.:8080", "/a b?q=\"<x>\"&y='1'"),
            ("[fe80::1]:80", "/%zz/../\u{202e}\u{fc}n"),
        ] {
            let get = Get {
                host,
                path: "/",
                path_and_query,
                accept_language: None,
            };
            for language in crate::support::i18n::catalogues() {
                let page = portal::redirect_page(&plain, language).unwrap();
                let written = write_redirect(Vec::new(), head, page, &plain, &get);
                let written = String::from_utf8(written).unwrap();
                let response = portal::redirected(&plain, host, path_and_query, language);
                assert_eq!(undated(&written), undated(&encoded(response).await));
                assert!(written.contains("\r\ndate: "), "{written}");
                assert!(portal::redirect_page(&odd, language).is_none());
            }
        }
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
