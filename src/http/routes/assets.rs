//! The stylesheets and scripts, compiled into the binary: app.* for every
//! page, board.* for the kitchen display and the TV board only, editor.js
//! for the menu editor's item page, cart.js for the customer's pages
//! (cart_live.js for the cart page),
//! print.css for posters and shelf labels.

use crate::error::{Code, Error, Result};
use crate::http::response::{with_body, Response};
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::StatusCode;

pub fn file(name: &str) -> Result<Response> {
    let (content_type, body) = match name {
        "app.css" => (
            "text/css; charset=utf-8",
            include_str!("../../../static/app.css"),
        ),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../../static/app.js"),
        ),
        "board.css" => (
            "text/css; charset=utf-8",
            include_str!("../../../static/board.css"),
        ),
        "board.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../../static/board.js"),
        ),
        "editor.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../../static/editor.js"),
        ),
        "cart.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../../static/cart.js"),
        ),
        "cart_live.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../../static/cart_live.js"),
        ),
        "print.css" => (
            "text/css; charset=utf-8",
            include_str!("../../../static/print.css"),
        ),
        _ => return Err(Error::not_found(Code::PageNotFound)),
    };
    let mut response = with_body(StatusCode::OK, content_type, body);
    // Phones on a slow hotspot should fetch these once per hour at most.
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
