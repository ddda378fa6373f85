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

/// A fresh `client_ref` for a cart page's order form: the time prefix, a
/// random nonce and their MAC, so placement can tell the reference was made
/// by us. The prefix makes new references grow with time, so their unique
/// index takes each at its end (64 characters, the longest a reference may be).
pub fn new_form_ref(app: &App) -> Result<String> {
    let nonce = crypto::hex(&crypto::random_bytes::<16>()?);
    let head = crypto::time_prefix(crate::support::time::now_ms()) + &nonce;
    Ok(form_ref_for(|data| app.sign(data), &head))
}

const FORM_REF_MAC_CHARS: usize = 24;
/// A form reference's nonce in hex, after its time prefix if it has one
/// (pages shown before references had one sent 32 characters only).
const FORM_REF_NONCE_CHARS: usize = 32;

fn form_ref_for(sign: impl Fn(&str) -> String, head: &str) -> String {
    let mac = sign(&format!("form-ref:{head}"));
    format!("{head}-{}", &mac[..FORM_REF_MAC_CHARS])
}

/// The token reserved for an order placed from our cart page with
/// `client_ref`, if we made that reference: a double tap in a sheet without
/// cookies gets the same token, and nobody else can know it.
pub fn reserved_token(app: &App, client_ref: &str) -> Option<String> {
    reserved_token_for(|data| app.sign(data), client_ref)
}

fn reserved_token_for(sign: impl Fn(&str) -> String, client_ref: &str) -> Option<String> {
    let prefix = genuine_form_ref_prefix(&sign, client_ref)?;
    Some(prefix.to_string() + &sign(&format!("order-token:{client_ref}")))
}

/// A token derived from `data` for an order with `client_ref`: the MAC of
/// `data`, after the reference's time prefix when our page made it (so the
/// order's token key grows with time too; the same reference always gives
/// the same token).
pub fn derived_token(app: &App, data: &str, client_ref: &str) -> String {
    let prefix = genuine_form_ref_prefix(|data| app.sign(data), client_ref).unwrap_or("");
    prefix.to_string() + &app.sign(data)
}

/// The time prefix of a reference our cart page made ("" for one made
/// before references had one); `None` for any other reference. The MAC
/// covers the prefix, so nobody can relabel a reference's time.
fn genuine_form_ref_prefix(sign: impl Fn(&str) -> String, client_ref: &str) -> Option<&str> {
    let (head, mac) = client_ref.rsplit_once('-')?;
    let prefix = head.get(..head.len().checked_sub(FORM_REF_NONCE_CHARS)?)?;
    let shaped = prefix.is_empty() || crypto::is_time_prefix(prefix);
    let expected = sign(&format!("form-ref:{head}"));
    let genuine = shaped
        && mac.len() == FORM_REF_MAC_CHARS
        && crypto::constant_time_eq(mac.as_bytes(), &expected.as_bytes()[..FORM_REF_MAC_CHARS]);
    genuine.then_some(prefix)
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

/// The logged-in staff member, or 401. Boxed: handlers move it through
/// their awaits and returns.
pub async fn require_staff(app: &App, req: &Request) -> Result<Box<Staff>> {
    match staff(app, req).await? {
        Some(staff) => Ok(Box::new(staff)),
        None => Err(Error::unauthorized(Code::AuthRequired)),
    }
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
    fn form_refs_grow_with_time_and_reserve_ordered_tokens() {
        crypto::init().unwrap();
        let (t1, t2) = (1_800_000_000_000, 1_800_000_060_000);
        let early = form_ref_for(sign, &(crypto::time_prefix(t1) + &"f".repeat(32)));
        let late = form_ref_for(sign, &(crypto::time_prefix(t2) + &"0".repeat(32)));
        assert!(early < late, "{early} >= {late}");
        assert_eq!(late.len(), 64);
        assert!(late
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let token = reserved_token_for(sign, &late).unwrap();
        assert_eq!(reserved_token_for(sign, &late), Some(token.clone()));
        assert!(token.starts_with(&crypto::time_prefix(t2)));
        assert!(is_token_shaped(&token));
        // Its key keeps the order: the reserved token sorts as its page's time.
        let early_key = crypto::token_hash(&reserved_token_for(sign, &early).unwrap());
        assert!(early_key < crypto::token_hash(&token));
        assert!(crypto::token_hash(&token).starts_with(&crypto::time_prefix(t2)));
    }

    #[test]
    fn form_refs_made_before_the_prefix_still_reserve_their_token() {
        let nonce = "0123456789abcdef0123456789abcdef";
        let mac = &sign(&format!("form-ref:{nonce}"))[..FORM_REF_MAC_CHARS];
        let old = format!("{nonce}-{mac}");
        assert_eq!(
            reserved_token_for(sign, &old),
            Some(sign(&format!("order-token:{old}")))
        );
    }

    #[test]
    fn a_relabelled_or_forged_form_ref_reserves_nothing() {
        let head = crypto::time_prefix(1_800_000_000_000) + &"a".repeat(32);
        let genuine = form_ref_for(sign, &head);
        // Another time on the same nonce and MAC.
        let relabelled =
            crypto::time_prefix(1_900_000_000_000) + &genuine[crypto::TIME_PREFIX_LEN..];
        assert_eq!(reserved_token_for(sign, &relabelled), None);
        let other_secret =
            |data: &str| crypto::hex(&crypto::hmac_sha256(b"other", data.as_bytes()));
        assert_eq!(
            reserved_token_for(sign, &form_ref_for(other_secret, &head)),
            None
        );
        for junk in ["", "-", "abc-def", &genuine[..63], &format!("x{genuine}")] {
            assert_eq!(reserved_token_for(sign, junk), None, "{junk}");
        }
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
