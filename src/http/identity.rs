//! Who is asking: the customer's order token, the staff session, and the
//! cross-site request forgery checks that go with cookies.

use super::request::{Form, Request};
use super::response::{add_cookie, Response};
use crate::accounts::{self, Staff};
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::support::crypto;

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
pub(crate) fn is_token_shaped(token: &str) -> bool {
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
pub fn new_form_ref(app: &App) -> Result<String> {
    let nonce = crypto::hex(&crypto::random_bytes::<16>()?);
    let mac = app.sign(&format!("form-ref:{nonce}"));
    Ok(format!("{nonce}-{}", &mac[..FORM_REF_MAC_CHARS]))
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
    let now = crate::support::time::now_ms();
    app.data
        .db
        .read(move |c| accounts::staff_for_token(c, &token, now))
        .await
}

/// The logged-in staff member, or 401.
pub async fn require_staff(app: &App, req: &Request) -> Result<Staff> {
    staff(app, req)
        .await?
        .ok_or_else(|| Error::unauthorized(Code::AuthRequired))
}

/// CSRF tokens are "W.MAC": W the hour they were issued, MAC the server's
/// signature over who they were issued to and W.
const CSRF_WINDOW_MS: i64 = 60 * 60 * 1000;
/// A form stays valid for 11 to 12 hours after its page was shown.
const CSRF_VALID_WINDOWS: i64 = 12;

/// Who a form's token is issued to: the staff session when there is one,
/// else the client's address (hotspot clients keep theirs, and the captive
/// portal sheet keeps no cookies to bind to).
fn csrf_binding(req: &Request) -> String {
    match staff_token(req) {
        Some(token) => format!("session:{}", crypto::token_hash(token)),
        None => format!("address:{}", req.peer.ip().to_canonical()),
    }
}

fn csrf_token_for(sign: impl Fn(&str) -> String, binding: &str, window: i64) -> String {
    format!("{window}.{}", sign(&format!("csrf:{binding}:{window}")))
}

/// Whether `sent` was issued to `binding` within the last
/// `CSRF_VALID_WINDOWS` hours before `now_ms`.
fn csrf_token_valid(sign: impl Fn(&str) -> String, binding: &str, sent: &str, now_ms: i64) -> bool {
    let Some(window) = sent
        .split_once('.')
        .and_then(|(window, _)| window.parse::<i64>().ok())
    else {
        return false;
    };
    let current = now_ms.div_euclid(CSRF_WINDOW_MS);
    if window > current || window <= current - CSRF_VALID_WINDOWS {
        return false;
    }
    let expected = csrf_token_for(sign, binding, window);
    crypto::constant_time_eq(expected.as_bytes(), sent.as_bytes())
}

/// A form's CSRF token: for this client only, and expiring.
pub fn csrf_token(app: &App, req: &Request) -> String {
    let window = crate::support::time::now_ms().div_euclid(CSRF_WINDOW_MS);
    csrf_token_for(|data| app.sign(data), &csrf_binding(req), window)
}

/// Refuses a form post that did not come from one of our pages shown to
/// this client in the last hours.
pub fn check_csrf(app: &App, req: &Request, form: &Form) -> Result<()> {
    let sent = form.get("csrf").unwrap_or("");
    let now = crate::support::time::now_ms();
    if !csrf_token_valid(|data| app.sign(data), &csrf_binding(req), sent, now) {
        return Err(Error::forbidden(Code::FormExpired));
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
    Err(Error::forbidden(Code::RequestCrossSite))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(data: &str) -> String {
        crypto::hex(&crypto::hmac_sha256(b"test secret", data.as_bytes()))
    }

    #[test]
    fn csrf_tokens_are_per_client_and_expire() {
        let hour = CSRF_WINDOW_MS;
        let issued_at = 1_000 * hour + 59 * 60 * 1000;
        let window = issued_at / hour;
        let token = csrf_token_for(sign, "address:10.0.0.2", window);
        assert!(csrf_token_valid(
            sign,
            "address:10.0.0.2",
            &token,
            issued_at
        ));
        assert!(csrf_token_valid(
            sign,
            "address:10.0.0.2",
            &token,
            issued_at + 11 * hour
        ));
        // Expired, from the future, for another client, or forged: refused.
        assert!(!csrf_token_valid(
            sign,
            "address:10.0.0.2",
            &token,
            issued_at + 12 * hour
        ));
        assert!(!csrf_token_valid(
            sign,
            "address:10.0.0.2",
            &token,
            issued_at - hour
        ));
        assert!(!csrf_token_valid(
            sign,
            "address:10.0.0.3",
            &token,
            issued_at
        ));
        let other_window = csrf_token_for(sign, "address:10.0.0.2", window - 1);
        let (_, mac) = other_window.split_once('.').unwrap();
        let relabelled = format!("{window}.{mac}");
        assert!(!csrf_token_valid(
            sign,
            "address:10.0.0.2",
            &relabelled,
            issued_at
        ));
        for junk in ["", ".", "x.y", "99999999999999999999999.ab"] {
            assert!(!csrf_token_valid(sign, "address:10.0.0.2", junk, issued_at));
        }
    }
}
