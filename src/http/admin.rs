//! The venue owner's routes: approving shops and the venue's settings.

use super::identity::{check_csrf, require_staff};
use super::render;
use super::request::Request;
use super::response::{json, redirect, Response};
use crate::app::{App, Venue};
use crate::auth::Staff;
use crate::error::{Error, Result};
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
        _ => Err(Error::not_found("page")),
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
    let number = |field: &str, default: i64, problem: &str| {
        form.get(field)
            .map(|v| v.trim().parse::<i64>())
            .transpose()
            .map_err(|_| Error::bad(problem))
            .map(|v| v.unwrap_or(default))
    };
    let current = app.venue();
    let zone = form.get("time_zone").unwrap_or(&current.time_zone);
    let zone_rule = form
        .get("time_zone_rule")
        .unwrap_or(&current.time_zone_rule);
    app.set_venue(Venue {
        name: form.text("name"),
        terms: form.text("terms"),
        currency: form.text("currency"),
        time_zone_rule: rule_for_new_zone(&current, zone, zone_rule),
        time_zone: zone.to_string(),
        max_open_orders_per_device: number(
            "max_open_orders_per_device",
            current.max_open_orders_per_device,
            "open orders per device is a whole number",
        )?,
        max_open_orders_per_shop: number(
            "max_open_orders_per_shop",
            current.max_open_orders_per_shop,
            "open orders per shop is a whole number",
        )?,
    })
    .await?;
    Ok(redirect("/admin"))
}

/// The rule sent with a zone name, or none (to be looked up by the name)
/// when the name changed but the rule is still the old zone's.
fn rule_for_new_zone(current: &Venue, name: &str, rule: &str) -> String {
    if name.trim() != current.time_zone && rule.trim() == current.time_zone_rule {
        String::new()
    } else {
        rule.to_string()
    }
}

pub async fn api_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    Ok(json(StatusCode::OK, &app.venue()))
}

/// Changes the fields the body names; the others keep their values.
pub async fn api_update_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let current = app.venue();
    let mut venue = serde_json::to_value(&current).map_err(|e| Error::Internal(e.to_string()))?;
    let serde_json::Value::Object(mut changes) = req.json()? else {
        return Err(Error::bad(
            "the body must be a JSON object of venue settings",
        ));
    };
    crate::app::upgrade_fixed_offset(&mut changes);
    if !changes.contains_key("time_zone_rule") {
        if let Some(serde_json::Value::String(name)) = changes.get("time_zone") {
            let rule = rule_for_new_zone(&current, name, &current.time_zone_rule);
            changes.insert("time_zone_rule".into(), rule.into());
        }
    }
    for (key, value) in changes {
        venue[key] = value;
    }
    let venue: Venue = serde_json::from_value(venue)
        .map_err(|e| Error::bad(format!("invalid venue settings: {e}")))?;
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
