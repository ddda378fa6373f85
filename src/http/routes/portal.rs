//! Captive-portal routes: requests for other sites (redirect or probe
//! answer), the landing page with its one Continue button, and the
//! RFC 8908 API. The rules are in `crate::portal`.

use crate::app::App;
use crate::error::Result;
use crate::http::identity;
use crate::http::request::Request;
use crate::http::response::{redirect, with_body, Response};
use crate::portal::{host_name, redirect_body, Intercept, PortalConfig};
use crate::support::i18n::{self, Catalogue};
use crate::support::task;
use crate::support::text::percent_encode;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE, HOST, LOCATION};
use hyper::StatusCode;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
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
    let accept_language = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    match interception(app, peer, local, host, req.uri().path(), accept_language) {
        Interception::Portal => None,
        Interception::Online(response) => Some(response),
        Interception::Redirect(language) => {
            let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
            Some(redirected(&app.portal, host, path_and_query, language))
        }
    }
}

/// What the portal does with a request, before any route sees it.
pub enum Interception {
    /// It is for the portal: the route table answers it.
    Portal,
    /// Another site's connectivity probe, answered "online".
    Online(Response),
    /// Another site: the browser is sent to the portal (`redirected`),
    /// with a page in this language.
    Redirect(&'static Catalogue),
}

/// `intercept` on a request's parts, so the lean reader needs no
/// `hyper::Request` for it: `host` as the request named it (its Host
/// header, else its URI's), `path` its URI's, and its `Accept-Language`.
pub fn interception(
    app: &App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    host: &str,
    path: &str,
    accept_language: Option<&str>,
) -> Interception {
    let local = local.map(|l| l.ip().to_canonical());
    let peer_ip = peer.ip().to_canonical();
    // The router itself (health checks, the owner on SSH) is no Wi-Fi client.
    if !peer_ip.is_loopback() && Some(peer_ip) != local {
        record_seen(app, peer_ip);
    }
    let name = bare_host(host);
    if app.portal.is_portal_host(&name, local) {
        return Interception::Portal;
    }
    match app
        .portal
        .intercept(&name, path, || app.clients.visit(peer_ip))
    {
        Intercept::Online(probe) => {
            let (status, content_type, body) = probe.online_answer();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Interception::Online(with_body(status, content_type, body))
        }
        Intercept::Redirect => Interception::Redirect(language(app, accept_language)),
    }
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

/// The redirect page of `language` split around its link, for a portal
/// whose redirects need no escaping (`PortalConfig::redirect_is_plain`):
/// the link goes in as `write_redirect_location` writes it.
pub fn redirect_page(
    portal: &PortalConfig,
    language: &'static Catalogue,
) -> Option<(&'static str, &'static str)> {
    let (_, head, tail) = redirect_pages()
        .iter()
        .find(|(l, _, _)| std::ptr::eq(*l, language))?;
    portal
        .redirect_is_plain()
        .then_some((head.as_str(), tail.as_str()))
}

/// The 302 to the portal for `http://{host}{path_and_query}`: its
/// `Location` written once, into its page, and sent from there.
pub fn redirected(
    portal: &PortalConfig,
    host: &str,
    path_and_query: &str,
    language: &'static Catalogue,
) -> Response {
    let (body, link) = match redirect_page(portal, language) {
        Some((head, tail)) => {
            let most = portal.redirect_location_max_len(host, path_and_query);
            let mut body = String::with_capacity(head.len() + most + tail.len());
            body.push_str(head);
            portal.write_redirect_location(&mut body, host, path_and_query);
            let end = body.len();
            body.push_str(tail);
            let body = Bytes::from(body);
            let link = body.slice(head.len()..end);
            (body, link)
        }
        // A portal name that HTML must escape (or no header can carry)
        // takes the long way.
        None => {
            let mut location = String::new();
            portal.write_redirect_location(&mut location, host, path_and_query);
            (
                Bytes::from(redirect_body(&location, language)),
                Bytes::from(location),
            )
        }
    };
    let mut response = Box::new(hyper::Response::new(Full::new(body)));
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    *headers = redirect_headers().clone();
    match HeaderValue::from_maybe_shared(link) {
        Ok(value) => headers.insert(LOCATION, value),
        Err(_) => headers.remove(LOCATION),
    };
    response
}

/// A redirect's headers, made once: `with_body`'s for an HTML page and a
/// `Location` to replace. Copying them is cheaper than building a header
/// map per request, and with the `Location` already in, replacing it
/// grows nothing. The lean reader writes them as they are, `Location` last.
pub fn redirect_headers() -> &'static HeaderMap {
    static HEADERS: OnceLock<HeaderMap> = OnceLock::new();
    HEADERS.get_or_init(|| {
        let mut headers = with_body(StatusCode::FOUND, "text/html; charset=utf-8", "")
            .headers()
            .clone();
        headers.insert(LOCATION, HeaderValue::from_static("/"));
        headers
    })
}

/// The language of a redirected request: its browser's, else the venue's.
fn language(app: &App, accept: Option<&str>) -> &'static Catalogue {
    app.with_venue(|venue| match accept {
        Some(accept) => i18n::choose(&venue.offered(), None, Some(accept), &venue.language),
        None => i18n::find(&venue.language).unwrap_or_else(i18n::english),
    })
}

/// Sessions record when a client was last seen, off the request's path:
/// a task only when the database is due a write (once a minute a client).
fn record_seen(app: &App, ip: IpAddr) {
    let Some(at) = app.clients.sighting_due(ip) else {
        return;
    };
    let clients = app.clients.clone();
    task::spawn(async move {
        if let Err(e) = clients.record_sighting(ip, at).await {
            log::warn!("recording Wi-Fi client {ip}: {e}");
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
    identity::check_csrf(app, req, &req.form()?)?;
    app.clients.accept(req.peer.ip()).await?;
    Ok(redirect("/"))
}

/// RFC 8908: whether this client is still held by the portal.
pub fn captive_api(app: &App, req: &Request) -> Response {
    let remaining = app.clients.remaining_ms(req.peer.ip()).map(|ms| ms / 1000);
    let body = app.portal.captive_json(remaining);
    with_body(StatusCode::OK, "application/captive+json", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_redirect_sends_the_portals_location_and_page_for_odd_hosts_and_paths() {
        let odd_name = PortalConfig {
            host: "order.lan&<\"'>".into(),
            ..PortalConfig::default()
        };
        let wanted = [
            ("example.com", "/"),
            ("EXAMPLE.com.:8080", "/a b?q=\"<x>\"&y='1'#frag"),
            ("[fe80::1]:80", "/%zz/../\u{202e}ünï"),
            ("10.0.0.9", "/generate_204"),
        ];
        // The headers of any page, and the Location.
        let mut expected_headers = with_body(StatusCode::OK, "text/html; charset=utf-8", "")
            .headers()
            .clone();
        for portal in [PortalConfig::default(), odd_name] {
            for (host, path_and_query) in wanted {
                let location = format!(
                    "http://{}/?url={}",
                    portal.host,
                    percent_encode(&format!("http://{host}{path_and_query}"))
                );
                expected_headers.insert(LOCATION, location.parse().unwrap());
                for language in i18n::catalogues() {
                    let response = redirected(&portal, host, path_and_query, language);
                    assert_eq!(response.status(), StatusCode::FOUND);
                    assert_eq!(response.headers(), &expected_headers);
                    assert_eq!(body_of(response).await, redirect_body(&location, language));
                }
            }
        }
        assert_eq!(redirect_pages().len(), i18n::catalogues().len());
        // A Location no header can carry is left out, not replaced by the
        // one the headers were made with.
        let unsendable = PortalConfig {
            host: "order.lan\n".into(),
            ..PortalConfig::default()
        };
        let response = redirected(&unsendable, "example.com", "/", i18n::english());
        assert!(response.headers().get(LOCATION).is_none());
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
