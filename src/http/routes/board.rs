//! The now-serving board: a public page for a TV and its long-poll JSON.
//! It shows pickup codes and shop names only, never customers' names.

use crate::app::App;
use crate::error::Result;
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{with_body, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::ordering::board;
use hyper::body::Bytes;
use hyper::StatusCode;
use std::time::Duration;

/// `?shop=ID` for one shop's codes; absent or empty for every shop's.
fn shop_filter(req: &Request) -> Result<Option<i64>> {
    match req.param("shop") {
        None | Some("") => Ok(None),
        Some(_) => req.int_param("shop", 0).map(Some),
    }
}

pub async fn page(app: &App, req: &Request) -> Result<Response> {
    let shop = shop_filter(req)?;
    let ready_seconds = app.venue().board_ready_seconds;
    let now = crate::support::time::now_ms();
    let board = app
        .data
        .read(move |c| board::now_serving(c, shop, ready_seconds, now))
        .await?;
    let poll = match shop {
        Some(id) => format!("/api/board?shop={id}"),
        None => "/api/board".into(),
    };
    render(
        app,
        req,
        "board/tv.html",
        None,
        context! {
            board => value(&board),
            single_shop => shop.is_some(),
            poll => poll,
        },
    )
}

pub async fn api(app: &App, req: &Request) -> Result<Response> {
    let shop = shop_filter(req)?;
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let ready_seconds = app.venue().board_ready_seconds;
    let body = board::wait_for_board(&app.data, shop, since, wait, ready_seconds).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(body),
    ))
}
