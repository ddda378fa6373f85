//! The venue owner's routes: approving shops, the venue's settings,
//! reports (also a keeper's own shop's), the audit log and backups.

use crate::accounts::Staff;
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{check_csrf, require_staff};
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{json, redirect, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::ordering::catalog::{self, ShopStatus, ShopView};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::sorted_fields;
use crate::support::time;
use crate::venue::audit::{self, Actor, Entry};
use crate::venue::backup;
use crate::venue::reports::{self, Date, Report};
use crate::venue::settings::Venue;
use hyper::StatusCode;

async fn owner(app: &App, req: &Request) -> Result<Box<Staff>> {
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
    let zone = time::parse_rule(&app.venue().time_zone_rule).unwrap_or(time::Zone::UTC);
    let (shops, today) = app
        .data
        .db
        .read(move |conn| {
            Ok((
                catalog::all(conn)?,
                reports::today_by_shop(conn, &zone, time::now_ms())?,
            ))
        })
        .await?;
    // In id order: found by halving, no hash map type of its own.
    let glance: Vec<_> = shops
        .iter()
        .map(|shop| {
            let day = today
                .binary_search_by_key(&shop.id, |(id, _)| *id)
                .map(|i| today[i].1)
                .unwrap_or_default();
            context! { open => day.open, orders => day.orders, revenue => day.revenue_cents }
        })
        .collect();
    let storage = app.data.db.storage();
    render(
        app,
        req,
        "admin/venue.html",
        Some(&staff),
        context! {
            shops => value(&shops),
            glance => glance,
            all_languages => language_choices(&app.venue()),
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

/// Every language we have texts for, and whether the venue offers it: the
/// owner's and the first run's choices.
pub fn language_choices(venue: &Venue) -> Vec<minijinja::Value> {
    crate::support::i18n::catalogues()
        .iter()
        .map(|c| {
            context! {
                code => c.lang,
                name => c.name(),
                offered => venue.languages.iter().any(|l| l == c.lang),
            }
        })
        .collect()
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
    let staff = owner(app, req).await?;
    check_csrf(app, req, &req.form()?)?;
    set_shop_status(app, req, &staff, shop_id, action).await?;
    Ok(redirect("/admin"))
}

pub async fn api_shop(app: &App, req: &Request, shop_id: i64, action: &str) -> Result<Response> {
    let staff = owner(app, req).await?;
    let shop = set_shop_status(app, req, &staff, shop_id, action).await?;
    Ok(json(StatusCode::OK, &shop))
}

async fn set_shop_status(
    app: &App,
    req: &Request,
    staff: &Staff,
    shop_id: i64,
    action: &str,
) -> Result<ShopView> {
    let shop = catalog::change_status(&app.data, shop_id, status_for(action)?).await?;
    let what = format!("shop.{action}");
    record(
        app,
        actor(req, staff),
        what,
        Some(shop_id),
        shop.name.clone(),
    )
    .await?;
    Ok(shop)
}

/// Who is acting, as the audit log names them.
fn actor(req: &Request, staff: &Staff) -> Actor {
    Actor {
        user_id: Some(staff.user_id),
        name: staff.name.clone(),
        address: req.peer.ip().to_canonical().to_string(),
    }
}

async fn record(
    app: &App,
    actor: Actor,
    action: String,
    shop_id: Option<i64>,
    detail: String,
) -> Result<()> {
    app.data
        .db
        .write(move |tx| {
            audit::record(
                tx,
                &Entry {
                    actor: &actor,
                    action: &action,
                    shop_id,
                    detail: &detail,
                },
            )
        })
        .await
}

/// Venue settings as the owner's form or the API sends them; the fields
/// left out keep their values.
#[derive(Debug, Default)]
pub(crate) struct VenuePatch {
    name: Option<String>,
    terms: Option<String>,
    currency: Option<String>,
    decimals: Option<u32>,
    decimal_separator: Option<String>,
    thousands_separator: Option<String>,
    symbol_after: Option<bool>,
    language: Option<String>,
    languages: Option<Vec<String>>,
    time_zone: Option<String>,
    time_zone_rule: Option<String>,
    /// What older clients send: it becomes a fixed-offset zone.
    utc_offset_minutes: Option<i64>,
    max_open_orders_per_device: Option<i64>,
    max_open_orders_per_shop: Option<i64>,
    photo_quota_bytes: Option<i64>,
    board_ready_seconds: Option<i64>,
    ssid: Option<String>,
    client_retention_days: Option<i64>,
    order_retention_days: Option<i64>,
}

impl FromFields for VenuePatch {
    fn from_fields(f: &Fields) -> Result<VenuePatch> {
        let decimals = f.int("decimals").and_then(|n| {
            f.keep(u32::try_from(n).map_err(|_| f.bad("decimals", "expected a whole number")))
        });
        f.done(VenuePatch {
            name: f.text("name"),
            terms: f.text("terms"),
            currency: f.text("currency"),
            decimals,
            decimal_separator: f.text("decimal_separator"),
            thousands_separator: f.text("thousands_separator"),
            symbol_after: f.bool("symbol_after"),
            language: f.text("language"),
            languages: f.texts("languages"),
            time_zone: f.text("time_zone"),
            time_zone_rule: f.text("time_zone_rule"),
            utc_offset_minutes: f.int("utc_offset_minutes"),
            max_open_orders_per_device: f.int("max_open_orders_per_device"),
            max_open_orders_per_shop: f.int("max_open_orders_per_shop"),
            photo_quota_bytes: f.int("photo_quota_bytes"),
            board_ready_seconds: f.int("board_ready_seconds"),
            ssid: f.text("ssid"),
            client_retention_days: f.int("client_retention_days"),
            order_retention_days: f.int("order_retention_days"),
        })
    }
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
            languages: self.languages.unwrap_or(current.languages),
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
            ssid: self.ssid.unwrap_or(current.ssid),
            client_retention_days: self
                .client_retention_days
                .unwrap_or(current.client_retention_days),
            order_retention_days: self
                .order_retention_days
                .unwrap_or(current.order_retention_days),
        }
    }
}

async fn update_venue(app: &App, req: &Request, staff: &Staff, patch: VenuePatch) -> Result<Venue> {
    let before = app.venue();
    let venue = app.set_venue(patch.apply(before.clone())).await?;
    let changed = changed_fields(&before, &venue);
    if !changed.is_empty() {
        record(
            app,
            actor(req, staff),
            "venue.settings".into(),
            None,
            changed,
        )
        .await?;
    }
    Ok(venue)
}

/// The names of the settings that differ, in key order, e.g. "name, terms".
fn changed_fields(before: &Venue, after: &Venue) -> String {
    let (old, new) = (sorted_fields(before), sorted_fields(after));
    let names: Vec<&str> = new
        .iter()
        .zip(&old)
        .filter(|(new, old)| new != old)
        .map(|(new, _)| new.0.as_str())
        .collect();
    names.join(", ")
}

pub async fn venue_form(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    update_venue(app, req, &staff, form.parse()?).await?;
    Ok(redirect("/admin"))
}

pub async fn api_venue(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    Ok(json(StatusCode::OK, &app.venue()))
}

pub async fn api_update_venue(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let venue = update_venue(app, req, &staff, req.json()?).await?;
    Ok(json(StatusCode::OK, &venue))
}

pub async fn api_shops(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let shops = app.data.db.read(catalog::all).await?;
    Ok(json(StatusCode::OK, &shops))
}

/// The shop a report is about (`None`: the whole venue) and its name:
/// the owner picks any shop with `?shop=`, a shop's keeper sees only
/// their own, staff none.
async fn report_scope(app: &App, req: &Request, staff: &Staff) -> Result<(Option<i64>, String)> {
    if staff.require_owner().is_ok() {
        let shop = req
            .param("shop")
            .filter(|s| !s.is_empty())
            .map(crate::http::request::id)
            .transpose()?;
        let Some(shop_id) = shop else {
            return Ok((None, app.venue().name));
        };
        let shops = app.data.db.read(catalog::all).await?;
        let shop = shops
            .into_iter()
            .find(|s| s.id == shop_id)
            .ok_or_else(|| Error::not_found(Code::ShopNotFound))?;
        return Ok((Some(shop.id), shop.name));
    }
    let shop = staff.own_shop()?;
    if staff.membership.as_ref().map(|m| m.role) != Some(crate::accounts::ShopRole::Keeper) {
        return Err(Error::forbidden(Code::AuthKeeperOnly));
    }
    Ok((Some(shop.id), shop.name.clone()))
}

/// The report a request asks for: `?from=&to=` (days in the venue's time
/// zone; today when left out) and `?shop=`.
async fn report(app: &App, req: &Request) -> Result<(Box<Staff>, String, Report)> {
    let staff = require_staff(app, req).await?;
    let (shop, name) = report_scope(app, req, &staff).await?;
    let venue = app.venue();
    let zone = time::parse_rule(&venue.time_zone_rule).unwrap_or(time::Zone::UTC);
    let day = |field, default: Date| match req.param(field).filter(|d| !d.is_empty()) {
        Some(text) => Date::parse(field, text),
        None => Ok(default),
    };
    let first = day("from", Date::of(&zone, time::now_ms()))?;
    let last = day("to", first)?;
    let report = app
        .data
        .db
        .read(move |conn| reports::build(conn, &zone, shop, first, last))
        .await?;
    Ok((staff, name, report))
}

pub async fn report_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, name, report) = report(app, req).await?;
    let speech = crate::http::render::speech(app, req);
    let chart = reports::hour_chart_svg(&report.per_hour, &speech.language.text("report.per_hour"));
    let methods: Vec<(String, i64)> = report
        .by_method
        .iter()
        .map(|m| {
            let key = format!("pay.method.{}", m.method);
            (speech.language.text(&key), m.amount_cents + m.tip_cents)
        })
        .collect();
    let method_chart =
        reports::method_chart_svg(&methods, &speech.language.text("report.by_method"));
    let shops = match staff.require_owner() {
        Ok(()) => app.data.db.read(catalog::all).await?,
        Err(_) => Vec::new(),
    };
    let query: String = ["from", "to", "shop"]
        .iter()
        .filter_map(|k| {
            req.param(k)
                .map(|v| format!("{k}={}", crate::support::text::percent_encode(v)))
        })
        .collect::<Vec<_>>()
        .join("&");
    render(
        app,
        req,
        "admin/report.html",
        Some(&staff),
        context! {
            name => name,
            report => value(&report),
            chart => minijinja::Value::from_safe_string(chart),
            method_chart => minijinja::Value::from_safe_string(method_chart),
            shops => value(&shops),
            query => query,
        },
    )
}

pub async fn report_csv(app: &App, req: &Request) -> Result<Response> {
    let (_, name, report) = report(app, req).await?;
    let body = reports::csv(&report, &name, &app.venue().money());
    let mut response =
        crate::http::response::with_body(StatusCode::OK, "text/csv; charset=utf-8", body);
    let file = format!(
        "attachment; filename=\"report-{}-{}.csv\"",
        report.from, report.to
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(&file) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

pub async fn api_report(app: &App, req: &Request) -> Result<Response> {
    let (_, _, report) = report(app, req).await?;
    Ok(json(StatusCode::OK, &report))
}

/// The audit log's newest entries, `?action=` and `?shop=` filtering and
/// `?before=` (an entry id) paging.
async fn audit_entries(app: &App, req: &Request) -> Result<(Box<Staff>, Vec<audit::AuditView>)> {
    let staff = owner(app, req).await?;
    let number = |key| {
        req.param(key)
            .filter(|s| !s.is_empty())
            .map(crate::http::request::id)
            .transpose()
    };
    let (shop, before) = (number("shop")?, number("before")?);
    let action = req
        .param("action")
        .map(|a| a.chars().take(40).collect::<String>());
    let entries = app
        .data
        .db
        .read(move |conn| audit::list(conn, action.as_deref(), shop, before))
        .await?;
    Ok((staff, entries))
}

pub async fn audit_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, entries) = audit_entries(app, req).await?;
    render(
        app,
        req,
        "admin/audit.html",
        Some(&staff),
        context! {
            entries => value(&entries),
            action => req.param("action").unwrap_or(""),
            shop => req.param("shop").unwrap_or(""),
        },
    )
}

pub async fn api_audit(app: &App, req: &Request) -> Result<Response> {
    let (_, entries) = audit_entries(app, req).await?;
    Ok(json(StatusCode::OK, &entries))
}

/// A consistent copy of the live database, as a download. Held in memory
/// while it is sent: the database of a venue is a few megabytes.
pub async fn backup_download(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    check_csrf(app, req, &req.form()?)?;
    let snapshot = backup::claim(app.data.db.data_dir())?;
    let path = snapshot.path.clone();
    let bytes = app
        .data
        .db
        .read(move |conn| {
            backup::take(conn, &snapshot)?;
            std::fs::read(&snapshot.path)
                .map_err(|e| Error::internal(format!("cannot read {}: {e}", path.display())))
        })
        .await?;
    let size = bytes.len();
    record(
        app,
        actor(req, &staff),
        "backup.download".into(),
        None,
        format!("{size} bytes"),
    )
    .await?;
    let mut response =
        crate::http::response::with_body(StatusCode::OK, "application/vnd.sqlite3", bytes);
    let zone = time::parse_rule(&app.venue().time_zone_rule).unwrap_or(time::Zone::UTC);
    let file = format!(
        "attachment; filename=\"orderspot-{}.db\"",
        Date::of(&zone, time::now_ms())
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(&file) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
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
