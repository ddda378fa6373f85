//! The HTTP server: connection handling, limits, and the route table.
//! Handlers live in one file per area and stay thin: they parse, call the
//! domain modules, and render.

mod account;
mod admin;
mod assets;
mod connection;
mod customer;
pub mod identity;
mod portal;
pub mod request;
pub mod response;
mod shop;

use crate::app::App;
use crate::error::{Error, Result};
use connection::{Admission, RefusalLog, WriteTimeout};
pub use connection::{
    ConnectionLimits, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_WRITE_TIMEOUT_SECS,
};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Method;
use hyper_util::rt::{TokioIo, TokioTimer};
use request::{id, Request};
use response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// Largest request body we read; bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Slow clients must send their headers (and body) within this time. The
/// header timer also runs while a kept-alive connection waits for its next
/// request, so idle connections end after it too.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` completes, within `limits`.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let admission = Admission::new(&limits);
    let mut refusals = RefusalLog::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return,
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
                connection::refuse(&stream, refusal);
                refusals.note(peer.ip(), refusal);
                continue;
            }
        };
        let app = app.clone();
        let local = stream.local_addr().ok();
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(app.clone(), peer, local, req));
            let result = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(io, service)
                .await;
            if let Err(e) = result {
                log::debug!("connection from {peer}: {e}");
            }
            // Only now is the socket closed and its descriptor free.
            drop(slot);
        });
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
        Ok(req) => match route(&app, &req).await {
            Ok(response) => response,
            Err(e) => response::error(&e, req.is_api()),
        },
        Err(e) => response::error(&e, api),
    };
    Ok(response)
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
        .map_err(|_| Error::bad("the request body came too slowly"))?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Error::TooLarge
            } else {
                Error::bad("could not read the request body")
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
        (&Method::GET, ["api", "shops", shop, "menu"]) => customer::api_menu(app, id(shop)?).await,
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
        _ => Err(Error::not_found("page")),
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
    staff: Option<&crate::auth::Staff>,
    context: minijinja::Value,
) -> Result<Response> {
    let common = minijinja::context! {
        venue => crate::templates::value(app.venue()),
        staff => staff.map(|s| minijinja::context! {
            name => s.name.clone(),
            role => s.role.as_str(),
            shop => s.shop().map(crate::templates::value),
        }),
        csrf => identity::csrf_token(app, req),
        now => crate::time::now_ms(),
    };
    let body = crate::templates::render(template, minijinja::context! { ..common, ..context })?;
    Ok(response::html(hyper::StatusCode::OK, body))
}
