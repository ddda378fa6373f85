//! The HTTP server: connection handling, limits, and the route table.
//! Handlers live in one file per area and stay thin: they parse, call the
//! domain modules, and render.

mod connection;
pub mod identity;
pub mod request;
pub mod response;
mod routes;
pub mod templates;

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::support::{i18n, text};
use crate::venue::settings::Venue;
pub use connection::ConnectionLimits;
use connection::{Admission, RefusalLog, WriteTimeout};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Method;
use hyper_util::rt::{TokioIo, TokioTimer};
use request::{id, Request};
use response::{Response, Speech};
use routes::{account, admin, assets, customer, portal, shop};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Largest request body we read; bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Slow clients must send their headers (and body) within this time. The
/// header timer also runs while a kept-alive connection waits for its next
/// request, so idle connections end after it too.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

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
        let app = app.clone();
        let local = stream.local_addr().ok();
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        let mut stopping = stopping.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(app.clone(), peer, local, req));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(io, service);
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

async fn handle(
    app: App,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    req: hyper::Request<Incoming>,
) -> std::result::Result<Response, Infallible> {
    // Captive portal: requests for other sites never reach the routes.
    if let Some(response) = portal::intercept(&app, peer, local, &req) {
        return Ok(response);
    }
    let api = req.uri().path().starts_with("/api/");
    let response = match read_request(peer, req).await {
        Ok(req) => {
            let mut response = match route(&app, &req).await {
                Ok(response) => response,
                Err(e) => response::error(&e, req.is_api(), &speech(&app, &req)),
            };
            if let Some(lang) = chosen_language(&req) {
                response::carry_language(&mut response, lang);
            }
            response
        }
        Err(e) => {
            let venue = app.venue();
            let language = i18n::find(&venue.language).unwrap_or_else(i18n::english);
            response::error(&e, api, &Speech::new(language, venue.money()))
        }
    };
    Ok(response)
}

/// The language a visitor picked with `?lang=`, if we have it.
fn chosen_language(req: &Request) -> Option<&'static str> {
    req.param("lang").and_then(i18n::find).map(|c| c.lang)
}

/// How to speak to this request: its language and the venue's money format.
pub fn speech(app: &App, req: &Request) -> Speech {
    speech_for(&app.venue(), req)
}

fn speech_for(venue: &Venue, req: &Request) -> Speech {
    let language = i18n::choose(
        i18n::catalogues(),
        req.param("lang"),
        req.header("accept-language"),
        &venue.language,
    );
    Speech {
        picked: chosen_language(req).is_some(),
        ..Speech::new(language, venue.money())
    }
}

/// The language switcher's links: this page in each language.
fn language_links(req: &Request, current: &str) -> Vec<minijinja::Value> {
    i18n::catalogues()
        .iter()
        .map(|catalogue| {
            let mut href: String = req
                .segments
                .iter()
                .map(|segment| format!("/{}", text::percent_encode(segment)))
                .collect();
            if href.is_empty() {
                href.push('/');
            }
            let query = req
                .query
                .iter()
                .filter(|(key, _)| key != "lang")
                .map(|(key, value)| {
                    format!(
                        "{}={}",
                        text::percent_encode(key),
                        text::percent_encode(value)
                    )
                })
                .chain([format!("lang={}", catalogue.lang)]);
            for (i, pair) in query.enumerate() {
                href.push(if i == 0 { '?' } else { '&' });
                href.push_str(&pair);
            }
            minijinja::context! {
                code => catalogue.lang,
                name => catalogue.name(),
                href => href,
                current => catalogue.lang == current,
            }
        })
        .collect()
}

async fn read_request(peer: SocketAddr, req: hyper::Request<Incoming>) -> Result<Request> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(Error::TooLarge);
    }
    let body = tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect())
        .await
        .map_err(|_| Error::bad(Code::RequestBodySlow))?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Error::TooLarge
            } else {
                Error::bad(Code::RequestBodyUnreadable)
            }
        })?
        .to_bytes();
    Ok(Request {
        method: parts.method,
        segments: request::path_segments(parts.uri.path()),
        query: request::parse_urlencoded(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
        peer,
    })
}

async fn route(app: &App, req: &Request) -> Result<Response> {
    if !matches!(req.method, Method::GET | Method::HEAD) {
        identity::check_origin(req)?;
    }
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, segments.as_slice()) {
        // Captive portal: a redirected browser lands on the welcome page
        (&Method::GET, [])
            if req.param("url").is_some() && !app.clients.is_accepted(req.peer.ip()) =>
        {
            portal::landing_page(app, req).await
        }
        (&Method::GET, ["welcome"]) => portal::landing_page(app, req).await,
        (&Method::POST, ["welcome", "accept"]) => portal::accept_form(app, req).await,
        (&Method::GET, ["captive-portal", "api"]) => Ok(portal::captive_api(app, req)),
        // Customers: pages
        (&Method::GET, []) => customer::home_page(app, req).await,
        (&Method::GET, ["shops", shop]) => customer::menu_page(app, req, id(shop)?).await,
        (&Method::GET, ["cart"]) => customer::cart_page(app, req).await,
        (&Method::POST, ["orders"]) => customer::place_form(app, req).await,
        (&Method::GET, ["o", order]) => customer::order_page(app, req, id(order)?).await,
        (&Method::POST, ["o", order, "cancel"]) => {
            customer::cancel_form(app, req, id(order)?).await
        }
        // Customers: API
        (&Method::GET, ["api", "shops"]) => customer::api_shops(app).await,
        (&Method::GET, ["api", "shops", shop, "menu"]) => {
            customer::api_menu(app, req, id(shop)?).await
        }
        (&Method::POST, ["api", "orders"]) => customer::api_place(app, req).await,
        (&Method::GET, ["api", "orders", order]) => customer::api_order(app, req, id(order)?).await,
        (&Method::POST, ["api", "orders", order, "cancel"]) => {
            customer::api_cancel(app, req, id(order)?).await
        }
        // Accounts
        (&Method::GET, ["login"]) => account::login_page(app, req).await,
        (&Method::POST, ["login"]) => account::login_form(app, req).await,
        (&Method::POST, ["logout"]) => account::logout_form(app, req).await,
        (&Method::GET, ["register"]) => account::register_page(app, req).await,
        (&Method::POST, ["register"]) => account::register_form(app, req).await,
        (&Method::POST, ["api", "auth", "register"]) => account::api_register(app, req).await,
        (&Method::POST, ["api", "auth", "login"]) => account::api_login(app, req).await,
        (&Method::POST, ["api", "auth", "logout"]) => account::api_logout(app, req).await,
        // Shopkeepers
        (&Method::GET, ["shop"]) => shop::board_page(app, req).await,
        (&Method::POST, ["shop", "orders", order, "status"]) => {
            shop::status_form(app, req, id(order)?).await
        }
        (&Method::POST, ["shop", "profile"]) => shop::profile_form(app, req).await,
        (&Method::GET, ["shop", "menu"]) => shop::menu_page(app, req).await,
        (&Method::POST, ["shop", "items"]) => shop::create_item_form(app, req).await,
        (&Method::POST, ["shop", "items", item]) => {
            shop::update_item_form(app, req, id(item)?).await
        }
        (&Method::POST, ["shop", "items", item, "delete"]) => {
            shop::delete_item_form(app, req, id(item)?).await
        }
        (&Method::GET, ["api", "shop", "orders"]) => shop::api_orders(app, req).await,
        (&Method::POST, ["api", "shop", "orders", order, "status"]) => {
            shop::api_status(app, req, id(order)?).await
        }
        (&Method::GET, ["api", "shop", "items"]) => shop::api_items(app, req).await,
        (&Method::POST, ["api", "shop", "items"]) => shop::api_create_item(app, req).await,
        (&Method::PATCH, ["api", "shop", "items", item]) => {
            shop::api_update_item(app, req, id(item)?).await
        }
        (&Method::DELETE, ["api", "shop", "items", item]) => {
            shop::api_delete_item(app, req, id(item)?).await
        }
        // Venue owner
        (&Method::GET, ["admin"]) => admin::page(app, req).await,
        (&Method::POST, ["admin", "shops", shop, action]) => {
            admin::shop_form(app, req, id(shop)?, action).await
        }
        (&Method::POST, ["admin", "venue"]) => admin::venue_form(app, req).await,
        (&Method::GET, ["api", "admin", "shops"]) => admin::api_shops(app, req).await,
        (&Method::GET, ["api", "admin", "venue"]) => admin::api_venue(app, req).await,
        (&Method::PATCH, ["api", "admin", "venue"]) => admin::api_update_venue(app, req).await,
        (&Method::POST, ["api", "admin", "shops", shop, action]) => {
            admin::api_shop(app, req, id(shop)?, action).await
        }
        (&Method::GET, ["static", file]) => assets::file(file),
        _ => Err(Error::not_found(Code::PageNotFound)),
    }
}

/// Renders a page with what every page needs: the venue, the logged-in
/// staff member (if any) and a CSRF token for its forms.
pub async fn page(
    app: &App,
    req: &Request,
    template: &str,
    context: minijinja::Value,
) -> Result<Response> {
    let staff = identity::staff(app, req).await?;
    render(app, req, template, staff.as_ref(), context)
}

/// Like `page` when the handler already knows the staff member.
pub fn render(
    app: &App,
    req: &Request,
    template: &str,
    staff: Option<&crate::accounts::Staff>,
    context: minijinja::Value,
) -> Result<Response> {
    let venue = app.venue();
    let speech = speech_for(&venue, req);
    let common = minijinja::context! {
        lang => speech.language.lang,
        lang_param => chosen_language(req),
        languages => language_links(req, speech.language.lang),
        venue => crate::http::templates::value(venue),
        staff => staff.map(|s| minijinja::context! {
            name => s.name.clone(),
            role => s.role.as_str(),
            shop => s.shop().cloned().map(|shop| crate::http::templates::value(crate::ordering::catalog::ShopView::from(shop))),
        }),
        csrf => identity::csrf_token(app, req),
        now => crate::support::time::now_ms(),
    };
    let body =
        crate::http::templates::render(template, minijinja::context! { ..common, ..context })?;
    Ok(response::html(hyper::StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str, query: &[(&str, &str)]) -> Request {
        Request {
            method: Method::GET,
            segments: request::path_segments(target),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Default::default(),
            body: Default::default(),
            peer: SocketAddr::from(([127, 0, 0, 1], 9)),
        }
    }

    #[test]
    fn the_switcher_links_this_page_in_each_language() {
        let req = get("/o/5", &[("t", "a b&c"), ("lang", "xx"), ("fragment", "1")]);
        let links = language_links(&req, "en");
        assert_eq!(links.len(), i18n::catalogues().len());
        let english = &links[0];
        assert_eq!(
            english.get_attr("href").unwrap().to_string(),
            "/o/5?t=a%20b%26c&fragment=1&lang=en"
        );
        assert!(english.get_attr("current").unwrap().is_true());
        assert_eq!(chosen_language(&req), None);
        assert_eq!(chosen_language(&get("/", &[("lang", "en")])), Some("en"));
    }

    #[test]
    fn redirects_keep_a_picked_language() {
        let mut to_order = response::redirect("/o/5?t=abc");
        response::carry_language(&mut to_order, "en");
        assert_eq!(to_order.headers()["location"], "/o/5?t=abc&lang=en");
        let mut to_item = response::redirect("/shop/menu#item-3");
        response::carry_language(&mut to_item, "en");
        assert_eq!(to_item.headers()["location"], "/shop/menu?lang=en#item-3");
        // Never onto another site.
        let mut away = response::redirect("//elsewhere.example/");
        response::carry_language(&mut away, "en");
        assert_eq!(away.headers()["location"], "//elsewhere.example/");
    }
}
