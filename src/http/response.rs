//! Building responses, and the one place where service errors become HTTP.

use crate::error::Error;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::StatusCode;
use serde::Serialize;

pub type Response = hyper::Response<Full<Bytes>>;

pub fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    let mut response = hyper::Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // Order tokens travel in URLs: never hand them to another site. Not
    // "no-referrer": with it browsers send `Origin: null` on our own form
    // posts, which `check_origin` refuses as cross-site.
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => with_body(status, "application/json", body),
        Err(e) => error(&Error::Internal(e.to_string()), true),
    }
}

pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = with_body(status, "text/html; charset=utf-8", body);
    response
        .headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// "See other": where a form post lands afterwards.
pub fn redirect(location: &str) -> Response {
    let mut response = with_body(StatusCode::SEE_OTHER, "text/plain", "");
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

pub fn no_content() -> Response {
    with_body(StatusCode::NO_CONTENT, "text/plain", "")
}

pub fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::ShopTooBusy(_) => StatusCode::CONFLICT,
        Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TooManyRequests | Error::TooManyOpenOrders(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response for a failed request: JSON `{error}` for the API, a page
/// for people (a login form when they need to log in).
pub fn error(error: &Error, api: bool) -> Response {
    if let Error::Internal(detail) = error {
        log::error!("{detail}");
    }
    let status = status_of(error);
    if api {
        return json(
            status,
            &serde_json::json!({ "error": error.message(), "code": error.code() }),
        );
    }
    if matches!(error, Error::Unauthorized(_)) {
        return redirect("/login");
    }
    match crate::http::templates::render(
        "error.html",
        minijinja::context! { message => error.message(), status => status.as_u16() },
    ) {
        Ok(page) => html(status, page),
        Err(_) => with_body(
            status,
            "text/plain; charset=utf-8",
            error.message().to_string(),
        ),
    }
}
