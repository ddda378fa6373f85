//! Login, logout and shop registration, as pages and as JSON.

use crate::accounts::{self, Registration, Role};
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{self, check_csrf, set_staff_cookie, staff_token};
use crate::http::render::page;
use crate::http::request::Request;
use crate::http::response::{json, redirect, Response};
use crate::ordering::catalog::ShopStatus;
use crate::support::ratelimit::Action;
use hyper::StatusCode;
use minijinja::context;
use std::collections::BTreeMap;

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
    let form = req.form();
    check_csrf(app, req, &form)?;
    match accounts::login(&app.data, &app.limits, req.peer.ip(), form.parse()?).await {
        Ok((token, role)) => {
            let mut response = redirect(home_of(role));
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e @ Error::Unauthorized(_)) => {
            let message = crate::http::render::speech(app, req).message(&e);
            let email = form.text("email");
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
    check_csrf(app, req, &req.form())?;
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
    let mut response = json(StatusCode::OK, &serde_json::json!({ "ok": true }));
    identity::clear_staff_cookie(&mut response);
    Ok(response)
}

pub async fn register_page(app: &App, req: &Request) -> Result<Response> {
    let fields = BTreeMap::<String, String>::new();
    page(
        app,
        req,
        "account/register.html",
        context! { error => None::<String>, fields => fields },
    )
    .await
}

pub async fn register_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form();
    check_csrf(app, req, &form)?;
    match register(app, req, form.parse()?).await {
        Ok(token) => {
            let mut response = redirect("/shop");
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => {
            let message = crate::http::render::speech(app, req).message(&e);
            let fields: BTreeMap<String, String> = form.0.into_iter().collect();
            page(
                app,
                req,
                "account/register.html",
                context! { error => message, fields => fields },
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
        &serde_json::json!({
            "token": token,
            "role": Role::Shopkeeper,
            "shop_status": ShopStatus::Pending,
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
        &serde_json::json!({ "token": token, "role": role }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}
