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
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ACCEPT_LANGUAGE, HOST, LOCATION};
use hyper::StatusCode;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The answer to a request whose Host is another site, or `None` when it
/// is for the portal (or names no host) and goes through the route table.
pub fn intercept<B>(
    app: &App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    req: &hyper::Request<B>,
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
    let name = bare_host(host);
    if app.portal.is_portal_host(&name, local) {
        return None;
    }
    let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut original = String::with_capacity(7 + host.len() + path_and_query.len());
    original.push_str("http://");
    original.push_str(host);
    original.push_str(path_and_query);
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
            Intercept::Redirect(location) => redirected(&location, language(app, req)),
        },
    )
}

/// `host_name` without its copy when the Host is already a bare lower-case
/// name, as browsers send it.
fn bare_host(host: &str) -> Cow<'_, str> {
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if plain && !host.ends_with('.') {
        Cow::Borrowed(host)
    } else {
        Cow::Owned(host_name(host))
    }
}

/// The redirect page of each language split around its link, made once.
fn redirect_pages() -> &'static [(&'static Catalogue, String, String)] {
    static PAGES: OnceLock<Vec<(&'static Catalogue, String, String)>> = OnceLock::new();
    PAGES.get_or_init(|| {
        i18n::catalogues()
            .iter()
            .filter_map(|language| {
                let page = redirect_body(HOLE, language);
                let (head, tail) = page.split_once(HOLE)?;
                (!tail.contains(HOLE)).then(|| (language, head.to_string(), tail.to_string()))
            })
            .collect()
    })
}

/// Where a redirect page's link goes, while it is made.
const HOLE: &str = "\u{1}";

/// The 302 to the portal: its page and its `Location` in one buffer.
fn redirected(location: &str, language: &'static Catalogue) -> Response {
    let page = redirect_pages()
        .iter()
        .find(|(l, _, _)| std::ptr::eq(*l, language));
    // A percent-encoded URL needs no HTML escaping; anything else takes
    // the long way.
    let plain = !location.contains(['&', '<', '>', '"', '\'']);
    let (body, link) = match page {
        Some((_, head, tail)) if plain => {
            let mut body = String::with_capacity(head.len() + location.len() + tail.len());
            body.push_str(head);
            body.push_str(location);
            body.push_str(tail);
            let body = Bytes::from(body);
            let link = body.slice(head.len()..head.len() + location.len());
            (body, link)
        }
        _ => (
            Bytes::from(redirect_body(location, language)),
            Bytes::copy_from_slice(location.as_bytes()),
        ),
    };
    let mut response = with_body(StatusCode::FOUND, "text/html; charset=utf-8", body);
    if let Ok(value) = HeaderValue::from_maybe_shared(link) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The language of a redirected request: its browser's, else the venue's.
fn language<B>(app: &App, req: &hyper::Request<B>) -> &'static Catalogue {
    let accept = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    app.with_venue(|venue| match accept {
        Some(accept) => i18n::choose(&venue.offered(), None, Some(accept), &venue.language),
        None => i18n::find(&venue.language).unwrap_or_else(i18n::english),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::PortalConfig;
    use http_body_util::BodyExt;

    async fn body_of(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_redirect_sends_the_portals_location_and_page_for_odd_hosts_and_paths() {
        let portal = PortalConfig::default();
        let originals = [
            "http://example.com/",
            "http://EXAMPLE.com.:8080/a b?q=\"<x>\"&y='1'#frag",
            "http://[fe80::1]:80/%zz/../\u{202e}ünï",
            "http://10.0.0.9/generate_204",
        ];
        for original in originals {
            let location = portal.redirect_location(original);
            for language in i18n::catalogues() {
                let response = redirected(&location, language);
                assert_eq!(response.status(), StatusCode::FOUND);
                assert_eq!(response.headers()[LOCATION], location.as_str());
                assert_eq!(body_of(response).await, redirect_body(&location, language));
            }
        }
        // A location that needs escaping in HTML still gets the page's own.
        let odd = "/?a=1&b=\"2\"";
        let response = redirected(odd, i18n::english());
        assert_eq!(response.headers()[LOCATION], odd);
        assert_eq!(body_of(response).await, redirect_body(odd, i18n::english()));
        assert_eq!(redirect_pages().len(), i18n::catalogues().len());
    }

    #[test]
    fn a_bare_host_is_what_host_name_makes() {
        for host in [
            "example.com",
            "Example.COM",
            "example.com.",
            "example.com:8080",
            "[FE80::1]:80",
            "10.0.0.1",
            " spaced.example ",
            "a-b.c",
        ] {
            assert_eq!(bare_host(host), host_name(host), "{host}");
        }
        assert!(matches!(bare_host("example.com"), Cow::Borrowed(_)));
    }
}
