//! Login, logout and shop registration, as pages and as JSON.

use super::identity::{self, check_csrf, set_staff_cookie, staff_token};
use super::page;
use super::request::Request;
use super::response::{json, redirect, Response};
use crate::app::App;
use crate::auth::{self, Credentials, Registration, Role};
use crate::error::{Code, Error, Result};
use crate::ratelimit::Action;
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
    page(app, req, "login.html", context! { error => None::<String> }).await
}

pub async fn login_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form();
    check_csrf(app, req, &form)?;
    let credentials = Credentials {
        email: form.text("email"),
        password: form.text("password"),
    };
    match auth::login(app, req.peer.ip(), credentials).await {
        Ok((token, role)) => {
            let mut response = redirect(home_of(role));
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e @ Error::Unauthorized(_)) => {
            let message = super::speech(app, req).message(&e);
            let email = form.text("email");
            page(
                app,
                req,
                "login.html",
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
        auth::logout(app, token.to_string()).await?;
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
        "register.html",
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
    match auth::register(app, registration).await {
        Ok(token) => {
            let mut response = redirect("/shop");
            set_staff_cookie(&mut response, &token);
            Ok(response)
        }
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => {
            let message = super::speech(app, req).message(&e);
            let fields: BTreeMap<String, String> = form.0.into_iter().collect();
            page(
                app,
                req,
                "register.html",
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
    let token = auth::register(app, registration).await?;
    let mut response = json(
        StatusCode::CREATED,
        &serde_json::json!({ "token": token, "role": Role::Shopkeeper, "shop_status": "pending" }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

pub async fn api_login(app: &App, req: &Request) -> Result<Response> {
    let (token, role) = auth::login(app, req.peer.ip(), req.json()?).await?;
    let mut response = json(
        StatusCode::OK,
        &serde_json::json!({ "token": token, "role": role }),
    );
    set_staff_cookie(&mut response, &token);
    Ok(response)
}

pub async fn api_logout(app: &App, req: &Request) -> Result<Response> {
    let token = staff_token(req).ok_or_else(|| Error::unauthorized(Code::AuthRequired))?;
    auth::logout(app, token.to_string()).await?;
    let mut response = json(StatusCode::OK, &serde_json::json!({ "ok": true }));
    identity::clear_staff_cookie(&mut response);
    Ok(response)
}
