//! The server loop: accepting connections within their limits, reading
//! each request whole (bounded in size and time), handing it to the router,
//! and the graceful stop.

use super::connection::{
    self, Admission, ConnectionLimits, Progress, RefusalLog, Replay, WriteTimeout,
};
use super::lean;
use super::render::{chosen_language, speech};
use super::request::{self, Request};
use super::response::{self, HttpResponse, Response, Speech};
use super::router::{self, route};
use super::routes::{photos, portal};
use crate::app::App;
use crate::error::{Code, Error, Failure, Result};
use crate::ordering::photos::{too_large as photo_too_large, MAX_PHOTO_BYTES};
use crate::support::{i18n, task};
use http_body_util::{BodyExt, Limited};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Largest request body we read; bigger ones get 413. Photo uploads alone
/// may send a photo's size (`ordering::photos::MAX_PHOTO_BYTES`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Slow clients must send their headers (and body) within this time. The
/// header timer also runs while a kept-alive connection waits for its next
/// request, so idle connections end after it too.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connections get after a shutdown signal to finish what they
/// are doing; the few still busy then are dropped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` completes, within `limits`. Then
/// stops accepting, answers long-polls at once with their current state,
/// lets requests in flight finish (up to `DRAIN_TIMEOUT`) and returns.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let admission = Admission::new(&limits);
    let mut refusals = RefusalLog::new();
    // Tells every connection to finish its request and close.
    let (stop, stopping) = watch::channel(false);
    // Each connection holds a sender: the channel closes when the last ends.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let slot = match admission.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                connection::refuse(&stream, refusal, app.default_language());
                refusals.note(peer.ip(), refusal);
                continue;
            }
        };
        no_delay(&stream, peer);
        let app = app.clone();
        let local = stream.local_addr().ok();
        let io = WriteTimeout::new(stream, limits.write_timeout);
        let stopping = stopping.clone();
        let open = open.clone();
        task::spawn(async move {
            lean::serve(app, io, peer, local, stopping).await;
            // Only now is the socket closed and its descriptor free.
            drop(slot);
            drop(open);
        });
    }
    drop(listener);
    log::info!("stopping: no new connections, long-polls answered, requests in flight finishing");
    app.data.live.close();
    stop.send_replace(true);
    drop(open);
    if tokio::time::timeout(DRAIN_TIMEOUT, all_closed.recv())
        .await
        .is_err()
    {
        log::warn!(
            "connections still busy {} s after the stop: closing them",
            DRAIN_TIMEOUT.as_secs()
        );
    }
}

/// Answers are written whole where they can be; without TCP_NODELAY the
/// last part of a longer one waits for the client's delayed ACK (Nagle's
/// algorithm: 40 ms on Linux, up to 200 ms on phones).
pub(super) fn no_delay(stream: &TcpStream, peer: SocketAddr) {
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("connection from {peer}: cannot set TCP_NODELAY: {e}");
    }
}

/// Hyper serves the rest of a connection the lean reader could not
/// (HTTP/1.0, a chunked body, an oversized head), starting with `io`'s
/// replayed bytes.
pub(super) async fn hyper_connection(
    app: App,
    io: Replay<&mut WriteTimeout<TcpStream>>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    mut stopping: watch::Receiver<bool>,
) {
    let service = service(app, peer, local, Arc::default());
    let connection = builder().serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
            // Ends an idle connection now, a busy one after its answer.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        log::debug!("connection from {peer}: {e}");
    }
}

/// Hyper answers one request: `request` (what the lean reader read of
/// it), then at most `left` bytes more from `io` (the rest of its body).
/// Hyper's buffers live only while it works; true when the connection is
/// the lean reader's again (the answer written, the request read whole),
/// false when it failed or is to close.
pub(super) async fn hyper_request(
    app: &App,
    io: &mut WriteTimeout<TcpStream>,
    request: Vec<u8>,
    left: usize,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> bool {
    let progress = Arc::new(Progress::default());
    let handed = Replay::one_request(io, request, left, progress.clone());
    let service = service(app.clone(), peer, local, progress.clone());
    let connection = builder().serve_connection(TokioIo::new(handed), service);
    tokio::pin!(connection);
    // Hyper keeps the connection alive as usual (so it says nothing of
    // closing it), and is dropped once the answer is out and the request
    // read whole; a body the answer left unread, hyper drains or closes.
    std::future::poll_fn(|cx| match connection.as_mut().poll(cx) {
        Poll::Ready(Ok(())) => Poll::Ready(false),
        Poll::Ready(Err(e)) => {
            log::debug!("connection from {peer}: {e}");
            Poll::Ready(false)
        }
        Poll::Pending if progress.sent() && progress.read_whole() => Poll::Ready(true),
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Hyper's service for both of the above: one service type over one I/O
/// type, so hyper's HTTP/1 code is compiled once, not once per use.
/// `answered` hears of each answer made (only a lent request looks).
fn service(
    app: App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    answered: Arc<Progress>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = HttpResponse,
    Error = Infallible,
    Future = impl Future<Output = std::result::Result<HttpResponse, Infallible>> + Send,
> + Send {
    service_fn(move |req| {
        let (app, answered) = (app.clone(), answered.clone());
        async move {
            let response = handle(app, peer, local, req).await;
            answered.answer();
            response
        }
    })
}

fn builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .max_buf_size(64 * 1024);
    builder
}

pub(super) async fn handle(
    app: App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    req: hyper::Request<Incoming>,
) -> std::result::Result<HttpResponse, Infallible> {
    // Captive portal: requests for other sites never reach the routes.
    if let Some(response) = portal::intercept(&app, peer, local, &req) {
        return Ok(*response);
    }
    let api = req.uri().path().starts_with("/api/");
    let response = match read_request(peer, local, req).await {
        Ok((req, _upload)) => {
            let routed = route(&app, &req).await;
            finish(&app, &req, routed)
        }
        Err(e) => {
            let venue = app.venue();
            let language = i18n::find(&venue.language).unwrap_or_else(i18n::english);
            response::error(&e, api, &Speech::new(language, venue.money_for(language)))
        }
    };
    Ok(*response)
}

/// What `handle` answers to a GET without a body that the lean reader
/// took, past the portal's intercept: the route table's answer.
pub(super) async fn answer_bodiless(
    app: &App,
    parts: hyper::http::request::Parts,
    segments: Vec<String>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> Response {
    let req = request_of(parts, segments, Bytes::new(), peer, local);
    let routed = route(app, &req).await;
    finish(app, &req, routed)
}

/// `answer_bodiless` for a long-poll (`router::is_long_poll`), with a
/// future sized by the long-poll handlers alone.
pub(super) async fn answer_long_poll(
    app: &App,
    parts: hyper::http::request::Parts,
    segments: Vec<String>,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> Response {
    let req = request_of(parts, segments, Bytes::new(), peer, local);
    let routed = router::long_poll(app, &req).await;
    finish(app, &req, routed)
}

/// A routed answer, or its error in the asker's words; a redirect keeps a
/// picked language.
fn finish(app: &App, req: &Request, routed: Result<Response>) -> Response {
    let mut response = match routed {
        Ok(response) => response,
        Err(e) => response::error(&e, req.is_api(), &speech(app, req)),
    };
    if response.status().is_redirection() {
        if let Some(lang) = app.with_venue(|venue| chosen_language(venue, req)) {
            response::carry_language(&mut response, lang);
        }
    }
    response
}

fn request_of(
    parts: hyper::http::request::Parts,
    segments: Vec<String>,
    body: Bytes,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> Request {
    Request {
        method: parts.method,
        segments,
        query: request::parse_urlencoded(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
        peer,
        local,
    }
}

/// The request with its body, and for a photo upload the slot its larger
/// body holds until the answer.
async fn read_request(
    peer: SocketAddr,
    local: Option<SocketAddr>,
    req: hyper::Request<Incoming>,
) -> Result<(Request, Option<photos::UploadSlot>)> {
    let (parts, body) = req.into_parts();
    let segments = request::path_segments(parts.uri.path());
    let upload = if photos::is_upload(&parts.method, &segments) {
        Some(photos::upload_slot()?)
    } else {
        None
    };
    let (max_bytes, too_large): (usize, fn() -> Error) = match upload {
        Some(_) => (MAX_PHOTO_BYTES, photo_too_large),
        None => (MAX_BODY_BYTES, || Error::from(Failure::TooLarge)),
    };
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max_bytes) {
        return Err(too_large());
    }
    let body = tokio::time::timeout(READ_TIMEOUT, Limited::new(body, max_bytes).collect())
        .await
        .map_err(|_| Error::bad(Code::RequestBodySlow))?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                Error::bad(Code::RequestBodyUnreadable)
            }
        })?
        .to_bytes();
    Ok((request_of(parts, segments, body, peer, local), upload))
}
