//! Login, logout and shop registration, as pages and as JSON.

use crate::accounts::{self, Credentials, Registration, Role};
use crate::app::App;
use crate::error::{Error, Result};
use crate::http::identity::{self, check_csrf, set_staff_cookie, staff_token};
use crate::http::page;
use crate::http::request::Request;
use crate::http::response::{json, redirect, Response};
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
    let credentials = Credentials {
        email: form.text("email"),
        password: form.text("password"),
    };
    match accounts::login(app, req.peer.ip(), credentials).await {
        Ok((token, role)) => {
            let mut response = redirect(home_of(role));
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(Error::Unauthorized(message)) => {
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
        accounts::logout(app, token.to_string()).await?;
    }
    let mut response = redirect("/login");
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
    app.limits.take(Action::Register, req.peer.ip())?;
    let registration = Registration {
        email: form.text("email"),
        password: form.text("password"),
        name: form.text("name"),
        shop_name: form.text("shop_name"),
        description: form.text("description"),
    };
    match accounts::register(app, registration).await {
        Ok(token) => {
            let mut response = redirect("/shop");
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(Error::BadRequest(message) | Error::Conflict(message)) => {
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
    let registration: Registration = req.json()?;
    app.limits.take(Action::Register, req.peer.ip())?;
    let token = accounts::register(app, registration).await?;
    let mut response = json(
        StatusCode::CREATED,
        &serde_json::json!({ "token": token, "role": Role::Shopkeeper, "shop_status": "pending" }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

pub async fn api_login(app: &App, req: &Request) -> Result<Response> {
    let (token, role) = accounts::login(app, req.peer.ip(), req.json()?).await?;
    let mut response = json(
        StatusCode::OK,
        &serde_json::json!({ "token": token, "role": role }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

pub async fn api_logout(app: &App, req: &Request) -> Result<Response> {
    let token = staff_token(req).ok_or_else(|| Error::Unauthorized("not logged in".into()))?;
    accounts::logout(app, token.to_string()).await?;
    let mut response = json(StatusCode::OK, &serde_json::json!({ "ok": true }));
    identity::clear_staff_cookie(&mut response);
    Ok(response)
}
