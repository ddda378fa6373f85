//! The venue owner's routes: approving shops and the venue's settings.

use crate::accounts::Staff;
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{check_csrf, require_staff};
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{json, redirect, Response};
use crate::http::templates::value;
use crate::ordering::catalog::{self, ShopStatus, ShopView};
use crate::support::time;
use crate::venue::settings::Venue;
use hyper::StatusCode;
use minijinja::context;
use serde::Deserialize;

async fn owner(app: &App, req: &Request) -> Result<Staff> {
    let staff = require_staff(app, req).await?;
    staff.require_owner()?;
    Ok(staff)
}

/// "approve" or "suspend" as the shop status it sets.
fn status_for(action: &str) -> Result<ShopStatus> {
    match action {
        "approve" => Ok(ShopStatus::Approved),
        "suspend" => Ok(ShopStatus::Suspended),
        _ => Err(Error::not_found(Code::PageNotFound)),
    }
}

pub async fn page(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let shops = app.data.db.read(catalog::all).await?;
    let storage = app.data.db.storage();
    render(
        app,
        req,
        "admin/venue.html",
        Some(&staff),
        context! {
            shops => value(&shops),
            limits => context! {
                per_device => crate::venue::settings::MAX_OPEN_ORDERS_PER_DEVICE,
                per_shop => crate::venue::settings::MAX_OPEN_ORDERS_PER_SHOP,
                photo_quota => crate::venue::settings::MAX_PHOTO_QUOTA_BYTES,
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
    set_shop_status(app, shop_id, action).await?;
    Ok(redirect("/admin"))
}

pub async fn api_shop(app: &App, req: &Request, shop_id: i64, action: &str) -> Result<Response> {
    owner(app, req).await?;
    let shop = set_shop_status(app, shop_id, action).await?;
    Ok(json(StatusCode::OK, &shop))
}

async fn set_shop_status(app: &App, shop_id: i64, action: &str) -> Result<ShopView> {
    catalog::change_status(&app.data, shop_id, status_for(action)?).await
}

/// Venue settings as the owner's form or the API sends them; the fields
/// left out keep their values.
#[derive(Debug, Default, Deserialize)]
struct VenuePatch {
    name: Option<String>,
    terms: Option<String>,
    currency: Option<String>,
    decimals: Option<u32>,
    decimal_separator: Option<String>,
    thousands_separator: Option<String>,
    symbol_after: Option<bool>,
    language: Option<String>,
    time_zone: Option<String>,
    time_zone_rule: Option<String>,
    /// What older clients send: it becomes a fixed-offset zone.
    utc_offset_minutes: Option<i64>,
    max_open_orders_per_device: Option<i64>,
    max_open_orders_per_shop: Option<i64>,
    photo_quota_bytes: Option<i64>,
    board_ready_seconds: Option<i64>,
}

impl VenuePatch {
    fn apply(self, current: Venue) -> Venue {
        let (time_zone, time_zone_rule) =
            match (self.time_zone, self.time_zone_rule, self.utc_offset_minutes) {
                (None, None, Some(minutes)) => time::fixed_offset_zone(minutes),
                (name, rule, _) => {
                    let name = name.unwrap_or_else(|| current.time_zone.clone());
                    let rule = rule.unwrap_or_else(|| current.time_zone_rule.clone());
                    // A new zone name with the old zone's rule: the rule is
                    // looked up by the new name.
                    if name.trim() != current.time_zone && rule.trim() == current.time_zone_rule {
                        (name, String::new())
                    } else {
                        (name, rule)
                    }
                }
            };
        Venue {
            name: self.name.unwrap_or(current.name),
            terms: self.terms.unwrap_or(current.terms),
            currency: self.currency.unwrap_or(current.currency),
            decimals: self.decimals.unwrap_or(current.decimals),
            decimal_separator: self.decimal_separator.unwrap_or(current.decimal_separator),
            thousands_separator: self
                .thousands_separator
                .unwrap_or(current.thousands_separator),
            symbol_after: self.symbol_after.unwrap_or(current.symbol_after),
            language: self.language.unwrap_or(current.language),
            time_zone,
            time_zone_rule,
            max_open_orders_per_device: self
                .max_open_orders_per_device
                .unwrap_or(current.max_open_orders_per_device),
            max_open_orders_per_shop: self
                .max_open_orders_per_shop
                .unwrap_or(current.max_open_orders_per_shop),
            photo_quota_bytes: self.photo_quota_bytes.unwrap_or(current.photo_quota_bytes),
            board_ready_seconds: self
                .board_ready_seconds
                .unwrap_or(current.board_ready_seconds),
        }
    }
}

async fn update_venue(app: &App, patch: VenuePatch) -> Result<Venue> {
    app.set_venue(patch.apply(app.venue())).await
}

pub async fn venue_form(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    update_venue(app, form.parse()?).await?;
    Ok(redirect("/admin"))
}

pub async fn api_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    Ok(json(StatusCode::OK, &app.venue()))
}

pub async fn api_update_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let venue = update_venue(app, req.json()?).await?;
    Ok(json(StatusCode::OK, &venue))
}

pub async fn api_shops(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let shops = app.data.db.read(catalog::all).await?;
    Ok(json(StatusCode::OK, &shops))
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
