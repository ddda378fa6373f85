//! Product pages by their short address (`/p/{id}`, what shelf labels'
//! QR codes hold) and those QR codes.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::request::Request;
use crate::http::response::{json, Response};
use crate::http::routes::{customer, tables};
use crate::ordering::catalog;
use crate::support::json::{json_fields, Sorted};
use crate::support::qr;
use hyper::StatusCode;
use rusqlite::Connection;

/// The address a product's QR code holds.
pub fn product_link(host: &str, item_id: i64) -> String {
    format!("http://{host}/p/{item_id}")
}

/// The shop of a live item.
fn shop_of(conn: &Connection, item_id: i64) -> Result<i64> {
    crate::store::items::by_id(conn, item_id)?
        .map(|item| item.shop_id)
        .ok_or_else(|| Error::not_found(Code::ItemNotFound))
}

/// `GET /p/{id}`: the item's page (photo, price, description, stock,
/// options, add to cart), as `/shops/{shop}/items/{id}` shows it.
pub async fn product_page(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let shop_id = app.data.db.read(move |c| shop_of(c, item_id)).await?;
    customer::item_page(app, req, shop_id, item_id).await
}

/// `GET /api/items/{id}`: `{shop, item}`, the item as its product page
/// shows it (price, stock, options, whether it can be ordered now).
pub async fn api_item(app: &App, item_id: i64) -> Result<Response> {
    let minute = customer::minute_now(app);
    let (shop, item) = app
        .data
        .db
        .read(move |c| {
            let shop_id = shop_of(c, item_id)?;
            let shop = catalog::PublicShop::from(catalog::approved_shop(c, shop_id)?);
            Ok((shop, catalog::one_item(c, shop_id, item_id, minute)?))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Sorted(&json_fields! { "shop" => shop, "item" => item }),
    ))
}

/// `GET /qr/item/{id}.svg`: the QR code of a live item's product page.
/// Public: it holds nothing but the page's address.
pub async fn qr_svg(app: &App, file: &str) -> Result<Response> {
    let item_id = tables::svg_id(file)?;
    app.data.db.read(move |c| shop_of(c, item_id)).await?;
    Ok(tables::svg_response(
        qr::svg(&product_link(&app.portal.host, item_id))?,
        true,
    ))
}
