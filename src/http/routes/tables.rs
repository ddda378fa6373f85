//! The venue's tables: the owner's list, QR codes and posters, and the
//! customer's way in from a table's QR code (`/t/{code}?s=SECRET`).

use crate::accounts::Staff;
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{check_csrf, require_staff};
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{json, no_content, redirect, with_body, Response};
use crate::http::routes::customer;
use crate::http::templates::context;
use crate::http::templates::value;
use crate::store::tables::TableRow;
use crate::support::json::{json_fields, Sorted, With};
use crate::support::qr;
use crate::support::ratelimit::Action;
use crate::venue::audit::{self, Actor, Entry};
use crate::venue::tables::{self, Table, TablePatch};
use hyper::StatusCode;
use rusqlite::Connection;

async fn owner(app: &App, req: &Request) -> Result<Box<Staff>> {
    let staff = require_staff(app, req).await?;
    staff.require_owner()?;
    Ok(staff)
}

/// The table's row, if the link's code and secret (`?s=`) name one;
/// rate-limited per address so codes and secrets cannot be tried in bulk.
async fn resolve(app: &App, req: &Request, code: &str) -> Result<TableRow> {
    app.limits.take(Action::TableLookup, req.peer.ip())?;
    let code = code.to_string();
    let secret = req.param("s").unwrap_or_default().to_string();
    app.data
        .db
        .read(move |c| tables::resolve_table(c, &code, &secret))
        .await
}

/// `GET /api/tables/{code}?s=SECRET`: the table a QR code names, with
/// the id and token of its shared cart (everyone with the link gets the
/// same one; a new one after a checkout or six idle hours).
pub async fn api_table(app: &App, req: &Request, code: &str) -> Result<Response> {
    let row = resolve(app, req, code).await?;
    let (cart_id, cart_token) =
        app.carts
            .for_table(row.id, &row.secret, crate::support::time::now_ms())?;
    let table = Table::from(&row);
    let body = With(
        &table,
        json_fields! { "cart_id" => cart_id, "cart_token" => cart_token },
    );
    // Keys in byte order, as when this went through a `serde_json::Value`.
    Ok(json(StatusCode::OK, &Sorted(&body)))
}

/// The table of a checkout, if it names one: its id and name, when the
/// code and secret are the link's (refused exactly as a guessed link is).
pub async fn checkout_table(
    app: &App,
    req: &Request,
    code: Option<&str>,
    secret: Option<&str>,
) -> Result<Option<(i64, String)>> {
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    app.limits.take(Action::TableLookup, req.peer.ip())?;
    let (code, secret) = (code.to_string(), secret.unwrap_or_default().to_string());
    let row = app
        .data
        .db
        .read(move |c| tables::resolve_table(c, &code, &secret))
        .await?;
    Ok(Some((row.id, row.name)))
}

/// `GET /t/{code}?s=SECRET`: the venue's shops with the table preset; its
/// links carry `table` and `s` on to the menus, items and cart.
pub async fn table_page(app: &App, req: &Request, code: &str) -> Result<Response> {
    let row = resolve(app, req, code).await?;
    customer::home_at_table(app, req, &row).await
}

/// Every table as the owner sees it, with its link.
async fn owner_tables(app: &App) -> Result<Vec<tables::OwnerTable>> {
    let host = app.portal.host.clone();
    app.data
        .db
        .read(move |c| {
            Ok(crate::store::tables::all(c)?
                .iter()
                .map(|row| tables::for_owner(&host, row))
                .collect())
        })
        .await
}

pub async fn api_list(app: &App, req: &Request) -> Result<Response> {
    owner(app, req).await?;
    let list = owner_tables(app).await?;
    Ok(json(StatusCode::OK, &list))
}

/// A change to the tables boxed; it answers the table changed, if any.
type TableChange = Box<dyn FnOnce(&Connection) -> Result<Option<TableRow>> + Send>;

/// One change to the tables in a write transaction, recorded in the
/// audit log as `action` with the table's name. Boxed, so that this is
/// compiled once, not once per change.
async fn change(
    app: &App,
    req: &Request,
    staff: &Staff,
    action: &'static str,
    f: TableChange,
) -> Result<Option<TableRow>> {
    let actor = Actor {
        user_id: Some(staff.user_id),
        name: staff.name.clone(),
        address: req.peer.ip().to_canonical().to_string(),
    };
    app.data
        .write(move |tx, _| {
            let row = f(tx)?;
            let detail = row.as_ref().map(|r| r.name.clone()).unwrap_or_default();
            audit::record(
                tx,
                &Entry {
                    actor: &actor,
                    action,
                    shop_id: None,
                    detail: &detail,
                },
            )?;
            Ok(row)
        })
        .await
}

// The changes the API and the forms make, each built once for both.

fn create_table(patch: TablePatch, now: i64) -> TableChange {
    Box::new(move |c| tables::create(c, &patch, now).map(Some))
}

fn rename_table(id: i64, patch: TablePatch) -> TableChange {
    Box::new(move |c| tables::rename(c, id, &patch).map(Some))
}

fn rotate_table(id: i64) -> TableChange {
    Box::new(move |c| tables::rotate(c, id).map(Some))
}

fn delete_table(id: i64) -> TableChange {
    Box::new(move |c| {
        let row = tables::owner_table(c, id)?;
        tables::delete(c, id)?;
        Ok(Some(row))
    })
}

fn owner_json(app: &App, status: StatusCode, row: Option<TableRow>) -> Response {
    match row {
        Some(row) => json(status, &tables::for_owner(&app.portal.host, &row)),
        None => no_content(),
    }
}

pub async fn api_create(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let patch: TablePatch = req.json()?;
    let now = crate::support::time::now_ms();
    let row = change(app, req, &staff, "table.create", create_table(patch, now)).await?;
    Ok(owner_json(app, StatusCode::CREATED, row))
}

pub async fn api_update(app: &App, req: &Request, id: i64) -> Result<Response> {
    let staff = owner(app, req).await?;
    let patch: TablePatch = req.json()?;
    let row = change(app, req, &staff, "table.rename", rename_table(id, patch)).await?;
    Ok(owner_json(app, StatusCode::OK, row))
}

pub async fn api_rotate(app: &App, req: &Request, id: i64) -> Result<Response> {
    let staff = owner(app, req).await?;
    let row = change(app, req, &staff, "table.rotate", rotate_table(id)).await?;
    app.carts.forget_table(id);
    Ok(owner_json(app, StatusCode::OK, row))
}

pub async fn api_delete(app: &App, req: &Request, id: i64) -> Result<Response> {
    let staff = owner(app, req).await?;
    change(app, req, &staff, "table.delete", delete_table(id)).await?;
    app.carts.forget_table(id);
    Ok(no_content())
}

pub async fn page(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let list = owner_tables(app).await?;
    render(
        app,
        req,
        "admin/tables.html",
        Some(&staff),
        context! { tables => value(&list), max => tables::MAX_TABLES },
    )
}

/// The owner's forms: `POST /admin/tables` creates; `…/{id}` renames;
/// `…/{id}/rotate` and `…/{id}/delete`.
pub async fn form(app: &App, req: &Request, id: Option<i64>, action: &str) -> Result<Response> {
    let staff = owner(app, req).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let patch: TablePatch = form.parse()?;
    let now = crate::support::time::now_ms();
    let (audit_action, f) = match (id, action) {
        (None, "") => ("table.create", create_table(patch, now)),
        (Some(id), "") => ("table.rename", rename_table(id, patch)),
        (Some(id), "rotate") => ("table.rotate", rotate_table(id)),
        (Some(id), "delete") => ("table.delete", delete_table(id)),
        _ => return Err(Error::not_found(Code::PageNotFound)),
    };
    change(app, req, &staff, audit_action, f).await?;
    if let Some(id) = id.filter(|_| !action.is_empty()) {
        app.carts.forget_table(id);
    }
    Ok(redirect("/admin/tables"))
}

/// An SVG answer that browsers may keep for a while: a QR code changes
/// only with what it encodes.
pub fn svg_response(svg: String, public: bool) -> Response {
    let mut response = with_body(StatusCode::OK, "image/svg+xml", svg);
    let cache = if public {
        "public, max-age=3600"
    } else {
        "private, no-store"
    };
    if let Ok(value) = hyper::header::HeaderValue::from_str(cache) {
        response
            .headers_mut()
            .insert(hyper::header::CACHE_CONTROL, value);
    }
    response
}

/// `GET /qr/table/{id}.svg` (owner): the QR code of the table's link.
pub async fn qr_svg(app: &App, req: &Request, file: &str) -> Result<Response> {
    owner(app, req).await?;
    let id = svg_id(file)?;
    let row = app
        .data
        .db
        .read(move |c| tables::owner_table(c, id))
        .await?;
    Ok(svg_response(
        qr::svg(&tables::link(&app.portal.host, &row))?,
        false,
    ))
}

/// The id in a `{id}.svg` path segment.
pub fn svg_id(file: &str) -> Result<i64> {
    file.strip_suffix(".svg")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Error::not_found(Code::PageNotFound))
}

/// `GET /admin/posters?size=a6` (owner): the Wi-Fi poster and one poster
/// per table, to print (A4 unless `size=a6`).
pub async fn posters(app: &App, req: &Request) -> Result<Response> {
    let staff = owner(app, req).await?;
    let host = app.portal.host.clone();
    let venue = app.venue();
    let address = format!("http://{host}/");
    let rows = app
        .data
        .db
        .read(|c| Ok(crate::store::tables::all(c)?))
        .await?;
    let table_posters: Vec<_> = rows
        .iter()
        .map(|row| {
            let link = tables::link(&host, row);
            Ok(context! {
                name => row.name.clone(),
                area => row.area.clone(),
                qr => minijinja::Value::from_safe_string(qr::svg(&link)?),
            })
        })
        .collect::<Result<_>>()?;
    let wifi = (!venue.ssid.trim().is_empty())
        .then(|| qr::svg(&qr::wifi_text(venue.ssid.trim(), None)))
        .transpose()?;
    render(
        app,
        req,
        "admin/posters.html",
        Some(&staff),
        context! {
            size => if req.param("size") == Some("a6") { "a6" } else { "a4" },
            ssid => venue.ssid.trim(),
            wifi_qr => wifi.map(minijinja::Value::from_safe_string),
            address => address.clone(),
            address_qr => minijinja::Value::from_safe_string(qr::svg(&address)?),
            tables => table_posters,
        },
    )
}
