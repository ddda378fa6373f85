//! Who is asking: the customer's order token, the staff session, and the
//! cross-site request forgery checks that go with cookies.

use super::request::{Form, Request};
use super::response::{add_cookie, Response};
use crate::app::App;
use crate::auth::{self, Staff};
use crate::crypto;
use crate::error::{Error, Result};

pub const STAFF_COOKIE: &str = "os_s";
pub const CUSTOMER_COOKIE: &str = "os_t";

/// The customer's token from `?t=`, a form field, the bearer header or the
/// cookie, in that order. The captive-portal sheet on phones keeps no
/// cookies, so pages carry the token in their URLs.
pub fn customer_token(req: &Request, form: Option<&Form>) -> Option<String> {
    req.param("t")
        .or_else(|| form.and_then(|f| f.get("t")))
        .or_else(|| req.bearer())
        .or_else(|| req.cookie(CUSTOMER_COOKIE))
        .filter(|t| is_token_shaped(t))
        .map(str::to_string)
}

/// Tokens are our hex or client-made random strings; anything else is ignored.
fn is_token_shaped(token: &str) -> bool {
    (32..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token the device itself holds, from where a link cannot plant one:
/// the `Authorization` header or our cookie (never `?t=` or a form field).
pub fn device_token(req: &Request) -> Option<String> {
    req.bearer()
        .or_else(|| req.cookie(CUSTOMER_COOKIE))
        .filter(|t| is_token_shaped(t))
        .map(str::to_string)
}

/// A fresh `client_ref` for a cart page's order form: a random nonce and
/// its MAC, so placement can tell the reference was made by us.
pub fn new_form_ref(app: &App) -> String {
    let nonce = crypto::hex(&crypto::random_bytes::<16>());
    let mac = app.sign(&format!("form-ref:{nonce}"));
    format!("{nonce}-{}", &mac[..FORM_REF_MAC_CHARS])
}

const FORM_REF_MAC_CHARS: usize = 24;

/// The token reserved for an order placed from our cart page with
/// `client_ref`, if we made that reference: a double tap in a sheet without
/// cookies gets the same token, and nobody else can know it.
pub fn reserved_token(app: &App, client_ref: &str) -> Option<String> {
    let (nonce, mac) = client_ref.split_once('-')?;
    let expected = app.sign(&format!("form-ref:{nonce}"));
    let genuine = nonce.len() == 32
        && crypto::constant_time_eq(mac.as_bytes(), &expected.as_bytes()[..FORM_REF_MAC_CHARS]);
    genuine.then(|| app.sign(&format!("order-token:{client_ref}")))
}

pub fn set_customer_cookie(response: &mut Response, token: &str) {
    add_cookie(
        response,
        &format!("{CUSTOMER_COOKIE}={token}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax"),
    );
}

pub fn set_staff_cookie(response: &mut Response, token: &str) {
    add_cookie(
        response,
        &format!("{STAFF_COOKIE}={token}; Path=/; Max-Age=1209600; HttpOnly; SameSite=Lax"),
    );
}

pub fn clear_staff_cookie(response: &mut Response) {
    add_cookie(
        response,
        &format!("{STAFF_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
}

pub fn staff_token(req: &Request) -> Option<&str> {
    req.bearer().or_else(|| req.cookie(STAFF_COOKIE))
}

/// The logged-in staff member, if any.
pub async fn staff(app: &App, req: &Request) -> Result<Option<Staff>> {
    let Some(token) = staff_token(req).map(str::to_string) else {
        return Ok(None);
    };
    let now = crate::time::now_ms();
    app.db
        .read(move |c| auth::staff_for_token(c, &token, now))
        .await
}

/// The logged-in staff member, or 401.
pub async fn require_staff(app: &App, req: &Request) -> Result<Staff> {
    staff(app, req)
        .await?
        .ok_or_else(|| Error::Unauthorized("please log in".into()))
}

/// A form's CSRF token, bound to the staff session when there is one.
pub fn csrf_token(app: &App, req: &Request) -> String {
    let binding = staff_token(req).map(crypto::token_hash).unwrap_or_default();
    app.sign(&format!("csrf:{binding}"))
}

/// Refuses a form post that did not come from one of our pages.
pub fn check_csrf(app: &App, req: &Request, form: &Form) -> Result<()> {
    let expected = csrf_token(app, req);
    let sent = form.get("csrf").unwrap_or("");
    if !crypto::constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
        return Err(Error::Forbidden(
            "this form has expired, please go back, reload and try again".into(),
        ));
    }
    Ok(())
}

/// Browsers name the page a request comes from in `Origin`; a state change
/// from another site is refused whatever it carries.
pub fn check_origin(req: &Request) -> Result<()> {
    let Some(origin) = req.header("origin") else {
        return Ok(());
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    if origin_host.is_some() && origin_host == req.header("host") {
        return Ok(());
    }
    Err(Error::Forbidden(
        "cross-site requests are not accepted".into(),
    ))
}
