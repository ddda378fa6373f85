//! Captive-portal routes: requests for other sites (redirect or probe
//! answer), the landing page with its one Continue button, and the
//! RFC 8908 API. The rules are in `crate::portal`.

use crate::app::App;
use crate::error::Result;
use crate::http::identity;
use crate::http::request::Request;
use crate::http::response::{redirect, with_body, Response};
use crate::portal::{host_name, redirect_body, Intercept};
use crate::support::i18n::{self, Catalogue};
use crate::support::text::percent_encode;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT_LANGUAGE, HOST, LOCATION};
use hyper::StatusCode;
use std::net::SocketAddr;

/// The answer to a request whose Host is another site, or `None` when it
/// is for the portal (or names no host) and goes through the route table.
pub fn intercept(
    app: &App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    req: &hyper::Request<Incoming>,
) -> Option<Response> {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())?;
    let local = local.map(|l| l.ip().to_canonical());
    let peer_ip = peer.ip().to_canonical();
    // The router itself (health checks, the owner on SSH) is no Wi-Fi client.
    if !peer_ip.is_loopback() && Some(peer_ip) != local {
        record_seen(app, peer);
    }
    let name = host_name(host);
    if app.portal.is_portal_host(&name, local) {
        return None;
    }
    let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let original = format!("http://{host}{path_and_query}");
    let visit = app.clients.visit(peer.ip());
    Some(
        match app
            .portal
            .intercept(&name, req.uri().path(), &original, visit)
        {
            Intercept::Online(probe) => {
                let (status, content_type, body) = probe.online_answer();
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                with_body(status, content_type, body)
            }
            Intercept::Redirect(location) => {
                let mut response = with_body(
                    StatusCode::FOUND,
                    "text/html; charset=utf-8",
                    redirect_body(&location, language(app, req)),
                );
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(LOCATION, value);
                }
                response
            }
        },
    )
}

/// The language of a redirected request: its browser's, else the venue's.
fn language(app: &App, req: &hyper::Request<Incoming>) -> &'static Catalogue {
    let accept = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let venue = app.venue();
    i18n::choose(&venue.offered(), None, accept, &venue.language)
}

/// Sessions record when a client was last seen; off the request's path.
fn record_seen(app: &App, peer: SocketAddr) {
    let clients = app.clients.clone();
    tokio::spawn(async move {
        if let Err(e) = clients.seen(peer.ip()).await {
            log::warn!("recording Wi-Fi client {peer}: {e}");
        }
    });
}

/// Where a redirected browser (`/?url=…`) lands: the welcome page before
/// Continue; after it, the status page of the client's open order when
/// this device placed one during this acceptance, else the shop list.
pub async fn arrival(app: &App, req: &Request) -> Result<Response> {
    if !app.clients.is_accepted(req.peer.ip()) {
        return landing_page(app, req).await;
    }
    match app.clients.open_order(req.peer.ip()) {
        Some((order, token)) => Ok(redirect(&format!(
            "/o/{order}?t={}",
            percent_encode(&token)
        ))),
        None => super::account::home_or_setup(app, req).await,
    }
}

pub async fn landing_page(app: &App, req: &Request) -> Result<Response> {
    let accepted = app.clients.is_accepted(req.peer.ip());
    crate::http::render::page(
        app,
        req,
        "portal/welcome.html",
        crate::http::templates::context! { accepted => accepted },
    )
    .await
}

/// "Continue": the client is authorised and lands on the shop list.
pub async fn accept_form(app: &App, req: &Request) -> Result<Response> {
    identity::check_csrf(app, req, &req.form())?;
    app.clients.accept(req.peer.ip()).await?;
    Ok(redirect("/"))
}

/// RFC 8908: whether this client is still held by the portal.
pub fn captive_api(app: &App, req: &Request) -> Response {
    let remaining = app.clients.remaining_ms(req.peer.ip()).map(|ms| ms / 1000);
    let body = app.portal.captive_json(remaining).to_string();
    with_body(StatusCode::OK, "application/captive+json", body)
}
