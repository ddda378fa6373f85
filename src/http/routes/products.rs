//! Product pages by their short address (`/p/{id}`, what shelf labels'
//! QR codes hold) and those QR codes.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::routes::{customer, tables};
use crate::support::qr;

/// The address a product's QR code holds.
pub fn product_link(host: &str, item_id: i64) -> String {
    format!("http://{host}/p/{item_id}")
}

/// `GET /p/{id}`: the item's page (photo, price, description, stock,
/// options, add to cart), as `/shops/{shop}/items/{id}` shows it.
pub async fn product_page(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let shop_id = app
        .data
        .db
        .read(move |c| {
            crate::store::items::by_id(c, item_id)?
                .map(|item| item.shop_id)
                .ok_or_else(|| Error::not_found(Code::ItemNotFound))
        })
        .await?;
    customer::item_page(app, req, shop_id, item_id).await
}

/// `GET /qr/item/{id}.svg`: the QR code of a live item's product page.
/// Public: it holds nothing but the page's address.
pub async fn qr_svg(app: &App, file: &str) -> Result<Response> {
    let item_id = tables::svg_id(file)?;
    app.data
        .db
        .read(move |c| {
            crate::store::items::by_id(c, item_id)?
                .map(|_| ())
                .ok_or_else(|| Error::not_found(Code::ItemNotFound))
        })
        .await?;
    Ok(tables::svg_response(
        qr::svg(&product_link(&app.portal.host, item_id))?,
        true,
    ))
}
