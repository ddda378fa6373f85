//! Building responses, and the one place where service errors become HTTP
//! and their codes become words.

use crate::error::{Error, Failure};
use crate::live::Page;
use crate::support::i18n::Catalogue;
use crate::support::json::{json_fields, JsonOut, Sorted, ToJson};
use crate::support::money::MoneyFormat;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, LOCATION, SET_COOKIE};
use hyper::StatusCode;

/// What hyper sends.
pub type HttpResponse = hyper::Response<Full<Bytes>>;
/// What handlers answer, boxed: a `Result<Response>` is moved through every
/// await and return of the route table, and a pointer moves cheaply.
pub type Response = Box<HttpResponse>;

pub fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    with_bytes(status, content_type, body.into())
}

/// Not generic: only the conversion above is made once per body type.
fn with_bytes(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    let mut response = Box::new(hyper::Response::new(Full::new(body)));
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

pub fn json(status: StatusCode, value: &dyn ToJson) -> Response {
    with_body(status, "application/json", JsonOut::write(value))
}

pub fn html(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut response = with_body(status, "text/html; charset=utf-8", body);
    response
        .headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// A kept page, or `304 Not Modified` when the client holds these bytes
/// (`if_none_match`). Browsers may store it but ask again each time.
pub fn cached(page: &Page, content_type: &'static str, if_none_match: Option<&str>) -> Response {
    let held = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == page.etag)
    });
    let mut response = if held {
        with_body(StatusCode::NOT_MODIFIED, content_type, Bytes::new())
    } else if content_type.starts_with("text/html") {
        html(StatusCode::OK, Bytes::from_owner(page.body.clone()))
    } else {
        with_body(
            StatusCode::OK,
            content_type,
            Bytes::from_owner(page.body.clone()),
        )
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&page.etag) {
        headers.insert(ETAG, tag);
    }
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

/// Who a response speaks to: their language and the venue's money format.
pub struct Speech {
    pub language: &'static Catalogue,
    pub money: MoneyFormat,
    /// The visitor picked the language (`?lang=`): links must carry it.
    pub picked: bool,
}

impl Speech {
    pub fn new(language: &'static Catalogue, money: MoneyFormat) -> Speech {
        Speech {
            language,
            money,
            picked: false,
        }
    }

    /// An error's message in this language.
    pub fn message(&self, error: &Error) -> String {
        self.language.message(error, &self.money)
    }
}

/// A redirect to a page of this site keeps the language the visitor picked.
pub fn carry_language(response: &mut Response, lang: &str) {
    if !response.status().is_redirection() {
        return;
    }
    let Some(location) = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let same_site = location.starts_with('/') && !location.starts_with("//");
    if !same_site || location.contains("lang=") {
        return;
    }
    let carried = crate::http::templates::add_lang(location, lang);
    if let Ok(value) = HeaderValue::from_str(&carried) {
        response.headers_mut().insert(LOCATION, value);
    }
}

pub fn status_of(error: &Error) -> StatusCode {
    match **error {
        Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
        Failure::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Failure::Forbidden(_) => StatusCode::FORBIDDEN,
        Failure::NotFound(_) => StatusCode::NOT_FOUND,
        Failure::Conflict(_) | Failure::ShopTooBusy(_) => StatusCode::CONFLICT,
        Failure::TooLarge | Failure::TooLargeFor(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Failure::TooManyRequests | Failure::TooManyOpenOrders(_) => StatusCode::TOO_MANY_REQUESTS,
        Failure::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response for a failed request: JSON `{error, code}` for the API, a
/// page for people (a login form when they need to log in), in their language.
pub fn error(error: &Error, api: bool, speech: &Speech) -> Response {
    if let Failure::Internal(detail) = &**error {
        log::error!("{detail}");
    }
    let status = status_of(error);
    let message = speech.message(error);
    if api {
        return json(
            status,
            &Sorted(&json_fields! { "error" => message, "code" => error.code() }),
        );
    }
    if matches!(**error, Failure::Unauthorized(_)) {
        return redirect("/login");
    }
    match crate::http::templates::render(
        "error.html",
        crate::http::templates::context! {
            message => &message,
            status => status.as_u16(),
            lang => speech.language.lang,
            lang_param => speech.picked.then_some(speech.language.lang),
        },
    ) {
        Ok(page) => html(status, page),
        Err(_) => with_body(status, "text/plain; charset=utf-8", message),
    }
}
