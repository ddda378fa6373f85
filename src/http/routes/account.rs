//! Login, logout and shop registration, as pages and as JSON, and the
//! venue's first-run set-up.

use crate::accounts::{self, Registration, Role};
use crate::app::App;
use crate::error::{Code, Error, Failure, Result};
use crate::http::identity::{self, check_csrf, set_staff_cookie, staff_token};
use crate::http::render::page;
use crate::http::request::{Form, Request};
use crate::http::response::{json, redirect, Response};
use crate::http::routes::admin::language_choices;
use crate::http::templates::{context, value};
use crate::ordering::catalog::ShopStatus;
use crate::support::json::{json_fields, Pairs, Sorted};
use crate::support::ratelimit::Action;
use crate::support::text;
use crate::venue::setup;
use hyper::StatusCode;

fn home_of(role: Role) -> &'static str {
    match role {
        Role::Owner => "/admin",
        Role::Shopkeeper => "/shop",
    }
}

pub async fn login_page(app: &App, req: &Request) -> Result<Response> {
    page(
        app,
        req,
        "account/login.html",
        context! { error => None::<String> },
    )
    .await
}

pub async fn login_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    match accounts::login(&app.data, &app.limits, req.peer.ip(), form.parse()?).await {
        Ok((token, role)) => {
            let mut response = redirect(home_of(role));
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e) if matches!(*e, Failure::Unauthorized(_)) => {
            let message = crate::http::render::speech(app, req).message(&e);
            let email = text::clean_line(&form.text("email"));
            page(
                app,
                req,
                "account/login.html",
                context! { error => message, email => email },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub async fn logout_form(app: &App, req: &Request) -> Result<Response> {
    check_csrf(app, req, &req.form()?)?;
    if let Some(token) = staff_token(req) {
        accounts::logout(&app.data, token.to_string()).await?;
    }
    let mut response = redirect("/login");
    identity::clear_staff_cookie(&mut response);
    Ok(response)
}

pub async fn api_logout(app: &App, req: &Request) -> Result<Response> {
    let token = staff_token(req).ok_or_else(|| Error::unauthorized(Code::AuthRequired))?;
    accounts::logout(&app.data, token.to_string()).await?;
    let mut response = json(StatusCode::OK, &Sorted(&json_fields! { "ok" => true }));
    identity::clear_staff_cookie(&mut response);
    Ok(response)
}

pub async fn register_page(app: &App, req: &Request) -> Result<Response> {
    page(
        app,
        req,
        "account/register.html",
        context! { error => None::<String>, fields => context! {} },
    )
    .await
}

pub async fn register_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    match register(app, req, form.parse()?).await {
        Ok(token) => {
            let mut response = redirect("/shop");
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e) if matches!(*e, Failure::BadRequest(_) | Failure::Conflict(_)) => {
            let message = crate::http::render::speech(app, req).message(&e);
            let fields = typed_again(form);
            page(
                app,
                req,
                "account/register.html",
                context! { error => message, fields => fields, all_languages => language_choices(&app.venue()) },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub async fn api_register(app: &App, req: &Request) -> Result<Response> {
    let token = register(app, req, req.json()?).await?;
    let mut response = json(
        StatusCode::CREATED,
        &Sorted(&json_fields! {
            "token" => token,
            "role" => Role::Shopkeeper,
            "shop_status" => ShopStatus::Pending,
        }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

/// A shop's registration, from the page's form or the API.
async fn register(app: &App, req: &Request, registration: Registration) -> Result<String> {
    app.limits.take(Action::Register, req.peer.ip())?;
    accounts::register(&app.data, &app.limits, registration).await
}

pub async fn api_login(app: &App, req: &Request) -> Result<Response> {
    let (token, role) = accounts::login(&app.data, &app.limits, req.peer.ip(), req.json()?).await?;
    let mut response = json(
        StatusCode::OK,
        &Sorted(&json_fields! { "token" => token, "role" => role }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

/// Set once the venue has an owner: from then on nobody is sent to set-up
/// and no request asks the database whether it is needed.
static SET_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this request may see the first-run set-up: no owner yet and it
/// comes from the router's own network.
async fn setup_open(app: &App, req: &Request) -> Result<bool> {
    use std::sync::atomic::Ordering;
    if SET_UP.load(Ordering::SeqCst) {
        return Ok(false);
    }
    if !app.data.db.read(setup::needed).await? {
        SET_UP.store(true, Ordering::SeqCst);
        return Ok(false);
    }
    let peer = req.peer.ip();
    Ok(setup::from_lan(
        peer,
        req.local.map(|l| l.ip()),
        app.portal.ip,
        app.clients.is_accepted(peer),
    ))
}

/// The home page, or the set-up page on the venue's first visit.
pub async fn home_or_setup(app: &App, req: &Request) -> Result<Response> {
    if setup_open(app, req).await? {
        return Ok(redirect("/setup"));
    }
    crate::http::routes::customer::home_page(app, req).await
}

pub async fn setup_page(app: &App, req: &Request) -> Result<Response> {
    if !setup_open(app, req).await? {
        return Err(Error::not_found(Code::PageNotFound));
    }
    let venue = app.venue();
    page(
        app,
        req,
        "admin/setup.html",
        context! { error => None::<String>, all_languages => language_choices(&venue), fields => context! {
            venue_name => venue.name, terms => venue.terms, currency => venue.currency,
            time_zone => venue.time_zone, ssid => venue.ssid,
        } },
    )
    .await
}

pub async fn setup_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    if !setup_open(app, req).await? {
        return Err(Error::not_found(Code::PageNotFound));
    }
    app.limits.take(Action::Register, req.peer.ip())?;
    let filled: setup::Setup = form.parse()?;
    let current = app.venue();
    let address = req.peer.ip().to_canonical().to_string();
    let done = app
        .data
        .db
        .write(move |tx| {
            let (user_id, venue) = setup::complete(tx, filled, current, address)?;
            let token = accounts::start_session(tx, user_id, crate::support::time::now_ms())?;
            Ok((venue, token))
        })
        .await;
    match done {
        Ok((venue, token)) => {
            app.set_venue(venue).await?;
            log::info!("the venue was set up in the browser from {}", req.peer.ip());
            let mut response = redirect("/admin");
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e) if matches!(*e, Failure::BadRequest(_)) => {
            let message = crate::http::render::speech(app, req).message(&e);
            let fields = typed_again(form);
            page(
                app,
                req,
                "admin/setup.html",
                context! { error => message, fields => fields, all_languages => language_choices(&app.venue()) },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// A refused form's fields, shown again as typed by the API's rule for
/// text (no control or bidi characters), never the password.
fn typed_again(form: Form) -> minijinja::Value {
    let fields: Vec<(String, String)> = form
        .0
        .into_iter()
        .filter(|(key, _)| key != "password")
        .map(|(key, value)| (key, text::clean_text(&value)))
        .collect();
    value(&Pairs(&fields))
}
