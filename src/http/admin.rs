//! The venue owner's routes: approving shops and the venue's settings.

use super::identity::{check_csrf, require_staff};
use super::render;
use super::request::Request;
use super::response::{json, redirect, Response};
use crate::app::{App, Venue};
use crate::auth::Staff;
use crate::error::{Code, Error, Result};
use crate::shops;
use crate::store::shops as shop_rows;
use crate::templates::value;
use hyper::StatusCode;
use minijinja::context;

async fn owner(app: &App, req: &Request) -> Result<Staff> {
    let staff = require_staff(app, req).await?;
    staff.require_owner()?;
    Ok(staff)
}

/// "approve" or "suspend" as the shop status it sets.
fn status_for(action: &str) -> Result<&'static str> {
    match action {
        "approve" => Ok("approved"),
        "suspend" => Ok("suspended"),
        _ => Err(Error::not_found(Code::PageNotFound)),
    }
}

pub async fn page(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let shops = app.db.read(|c| Ok(shop_rows::all(c)?)).await?;
    let storage = app.db.storage();
    render(
        app,
        req,
        "admin.html",
        Some(&staff),
        context! {
            shops => value(&shops),
            limits => context! {
                per_device => crate::app::MAX_OPEN_ORDERS_PER_DEVICE,
                per_shop => crate::app::MAX_OPEN_ORDERS_PER_SHOP,
            },
            storage => context! {
                full => storage.full,
                free => storage.space.map(|s| size_text(s.free_bytes)),
                total => storage.space.map(|s| size_text(s.total_bytes)),
            },
        },
    )
}

/// A size as the owner reads it: "0 KB", "1.4 MB".
fn size_text(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes < MB {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{:.1} MB", bytes as f64 / MB as f64)
    }
}

pub async fn shop_form(app: &App, req: &Request, shop_id: i64, action: &str) -> Result<Response> {
    owner(app, req).await?;
    check_csrf(app, req, &req.form())?;
    let status = status_for(action)?;
    app.db
        .write(move |tx| shops::set_status(tx, shop_id, status))
        .await?;
    Ok(redirect("/admin"))
}

pub async fn venue_form(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let number = |field: &'static str, default: i64| {
        form.get(field)
            .map(|v| v.trim().parse::<i64>())
            .transpose()
            .map_err(|_| {
                Error::bad(Code::VenueNotWholeNumber).with_key("field", format!("field.{field}"))
            })
            .map(|v| v.unwrap_or(default))
    };
    let current = app.venue();
    let text_or_current =
        |field: &str, current: &str| form.get(field).unwrap_or(current).to_string();
    app.set_venue(Venue {
        name: form.text("name"),
        terms: form.text("terms"),
        currency: form.text("currency"),
        decimals: number("decimals", current.decimals.into())?.clamp(0, 3) as u32,
        decimal_separator: text_or_current("decimal_separator", &current.decimal_separator),
        thousands_separator: text_or_current("thousands_separator", &current.thousands_separator),
        symbol_after: form
            .get("symbol_after")
            .map_or(current.symbol_after, |v| v == "1"),
        language: text_or_current("language", &current.language),
        utc_offset_minutes: number("utc_offset_minutes", 0)?,
        max_open_orders_per_device: number(
            "max_open_orders_per_device",
            current.max_open_orders_per_device,
        )?,
        max_open_orders_per_shop: number(
            "max_open_orders_per_shop",
            current.max_open_orders_per_shop,
        )?,
    })
    .await?;
    Ok(redirect("/admin"))
}

pub async fn api_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    Ok(json(StatusCode::OK, &app.venue()))
}

/// Changes the fields the body names; the others keep their values.
pub async fn api_update_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let mut venue =
        serde_json::to_value(app.venue()).map_err(|e| Error::Internal(e.to_string()))?;
    let serde_json::Value::Object(changes) = req.json()? else {
        return Err(Error::bad(Code::VenueNotObject));
    };
    for (key, value) in changes {
        venue[key] = value;
    }
    let venue: Venue = serde_json::from_value(venue)
        .map_err(|e| Error::bad(Code::VenueInvalid).with("detail", e))?;
    let venue = app.set_venue(venue).await?;
    Ok(json(StatusCode::OK, &venue))
}

pub async fn api_shops(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let shops = app.db.read(|c| Ok(shop_rows::all(c)?)).await?;
    Ok(json(StatusCode::OK, &shops))
}

pub async fn api_shop(app: &App, req: &Request, shop_id: i64, action: &str) -> Result<Response> {
    owner(app, req).await?;
    let status = status_for(action)?;
    let shop = app
        .db
        .write(move |tx| shops::set_status(tx, shop_id, status))
        .await?;
    Ok(json(StatusCode::OK, &shop))
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_read_as_kilobytes_below_a_megabyte() {
        assert_eq!(size_text(0), "0 KB");
        assert_eq!(size_text(64 * 1024 + 10), "64 KB");
        assert_eq!(size_text(2 * 1024 * 1024), "2.0 MB");
        assert_eq!(size_text(1536 * 1024), "1.5 MB");
    }
}
