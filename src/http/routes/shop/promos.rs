//! A shop's promo codes and promotions (the keeper's), the venue's offers
//! page and `GET /api/promotions` (everyone's), and the shelf labels.

use super::menu::api_read;
use super::{acting_shopkeeper, shopkeeper};
use crate::accounts::{ShopAction, Staff};
use crate::app::App;
use crate::error::Result;
use crate::http::identity::check_csrf;
use crate::http::render::{page, render};
use crate::http::request::Request;
use crate::http::response::{json, redirect, Response};
use crate::http::routes::{answer, no_answer, Answer};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::ordering::catalog::menu_changed;
use crate::ordering::promos::{self, CodePatch, PromotionPatch};
use crate::support::time::{self, Zone};
use crate::venue::audit::{self, Actor, Entry};
use hyper::StatusCode;
use rusqlite::Connection;

fn zone(app: &App) -> Zone {
    time::parse_rule(&app.venue().time_zone_rule).unwrap_or(Zone::UTC)
}

/// What a keeper's change touches: promo codes are money (each change is
/// recorded in the audit log with the code); promotions show on the menu.
#[derive(Clone, Copy)]
enum Touches {
    Codes(&'static str),
    Menu,
}

/// A keeper's change boxed: its connection, shop and zone; it answers
/// what to send back and the audit log's detail.
type KeeperChange = Box<dyn FnOnce(&Connection, i64, &Zone) -> Result<(Answer, String)> + Send>;

/// A change by the shop's keeper in one write transaction; `f` is boxed
/// so that this is compiled once, not once per change.
async fn keeper_change(
    app: &App,
    req: &Request,
    touches: Touches,
    f: KeeperChange,
) -> Result<Answer> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let actor = actor(req, &staff);
    let zone = zone(app);
    app.data
        .write(move |tx, changes| {
            let (value, detail) = f(tx, shop_id, &zone)?;
            match touches {
                Touches::Codes(action) => audit::record(
                    tx,
                    &Entry {
                        actor: &actor,
                        action,
                        shop_id: Some(shop_id),
                        detail: &detail,
                    },
                )?,
                Touches::Menu => menu_changed(tx, changes, shop_id)?,
            }
            Ok(value)
        })
        .await
}

fn actor(req: &Request, staff: &Staff) -> Actor {
    Actor {
        user_id: Some(staff.user_id),
        name: staff.name.clone(),
        address: req.peer.ip().to_canonical().to_string(),
    }
}

fn now() -> i64 {
    time::now_ms()
}

pub async fn api_promo_codes(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    staff.shop_for(ShopAction::EditMenu)?;
    let codes = app.data.db.read(move |c| promos::codes(c, shop_id)).await?;
    Ok(json(StatusCode::OK, &codes))
}

pub async fn api_create_promo_code(app: &App, req: &Request) -> Result<Response> {
    let patch: CodePatch = req.json()?;
    let now = now();
    let code = keeper_change(
        app,
        req,
        Touches::Codes("promo.create"),
        Box::new(move |c, shop, zone| {
            let code = promos::create_code(c, zone, shop, &patch, now)?;
            let detail = code.code.clone();
            Ok((answer(code), detail))
        }),
    )
    .await?;
    Ok(code(StatusCode::CREATED))
}

pub async fn api_update_promo_code(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: CodePatch = req.json()?;
    let code = keeper_change(
        app,
        req,
        Touches::Codes("promo.update"),
        Box::new(move |c, shop, zone| {
            let code = promos::update_code(c, zone, shop, id, &patch)?;
            let detail = code.code.clone();
            Ok((answer(code), detail))
        }),
    )
    .await?;
    Ok(code(StatusCode::OK))
}

pub async fn api_delete_promo_code(app: &App, req: &Request, id: i64) -> Result<Response> {
    Ok(delete_code(app, req, id).await?(StatusCode::NO_CONTENT))
}

async fn delete_code(app: &App, req: &Request, id: i64) -> Result<Answer> {
    keeper_change(
        app,
        req,
        Touches::Codes("promo.delete"),
        Box::new(move |c, shop, _| {
            let code = promos::delete_code(c, shop, id)?;
            Ok((no_answer(), code.code))
        }),
    )
    .await
}

pub async fn api_shop_promotions(app: &App, req: &Request) -> Result<Response> {
    api_read(app, req, promos::shop_promotions).await
}

pub async fn api_create_promotion(app: &App, req: &Request) -> Result<Response> {
    let patch: PromotionPatch = req.json()?;
    let now = now();
    let made = keeper_change(
        app,
        req,
        Touches::Menu,
        Box::new(move |c, shop, zone| {
            let made = promos::create_promotion(c, zone, shop, &patch, now)?;
            Ok((answer(made), String::new()))
        }),
    )
    .await?;
    Ok(made(StatusCode::CREATED))
}

pub async fn api_update_promotion(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: PromotionPatch = req.json()?;
    let now = now();
    let changed = keeper_change(
        app,
        req,
        Touches::Menu,
        Box::new(move |c, shop, zone| {
            let changed = promos::update_promotion(c, zone, shop, id, &patch, now)?;
            Ok((answer(changed), String::new()))
        }),
    )
    .await?;
    Ok(changed(StatusCode::OK))
}

pub async fn api_delete_promotion(app: &App, req: &Request, id: i64) -> Result<Response> {
    Ok(delete_promotion(app, req, id).await?(
        StatusCode::NO_CONTENT,
    ))
}

async fn delete_promotion(app: &App, req: &Request, id: i64) -> Result<Answer> {
    keeper_change(
        app,
        req,
        Touches::Menu,
        Box::new(move |c, shop, _| {
            promos::delete_promotion(c, shop, id)?;
            Ok((no_answer(), String::new()))
        }),
    )
    .await
}

/// The keeper's page of promo codes and promotions.
pub async fn promos_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    staff.shop_for(ShopAction::EditMenu)?;
    let (codes, list) = app
        .data
        .db
        .read(move |c| {
            Ok((
                promos::codes(c, shop_id)?,
                promos::shop_promotions(c, shop_id)?,
            ))
        })
        .await?;
    render(
        app,
        req,
        "shop/promos.html",
        Some(&staff),
        context! {
            codes => value(&codes),
            promotions => value(&list),
            max_promotions => promos::MAX_PROMOTIONS,
        },
    )
}

/// The page's forms: `POST /shop/promo-codes` and `/shop/promotions`
/// create, `…/{id}/delete` deletes.
pub async fn promos_form(
    app: &App,
    req: &Request,
    what: &str,
    id: Option<i64>,
) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let now = now();
    match (what, id) {
        ("promo-codes", None) => {
            let patch: CodePatch = form.parse()?;
            drop(
                keeper_change(
                    app,
                    req,
                    Touches::Codes("promo.create"),
                    Box::new(move |c, shop, zone| {
                        let code = promos::create_code(c, zone, shop, &patch, now)?;
                        Ok((no_answer(), code.code))
                    }),
                )
                .await?,
            );
        }
        ("promo-codes", Some(id)) => drop(delete_code(app, req, id).await?),
        ("promotions", None) => {
            let patch: PromotionPatch = form.parse()?;
            drop(
                keeper_change(
                    app,
                    req,
                    Touches::Menu,
                    Box::new(move |c, shop, zone| {
                        promos::create_promotion(c, zone, shop, &patch, now)?;
                        Ok((no_answer(), String::new()))
                    }),
                )
                .await?,
            );
        }
        (_, Some(id)) => drop(delete_promotion(app, req, id).await?),
        _ => {}
    }
    Ok(redirect("/shop/promos"))
}

/// `GET /api/promotions?shop=ID`: promotions running now, of every
/// approved shop or of one.
pub async fn api_promotions(app: &App, req: &Request) -> Result<Response> {
    let shop_id = req.int_param("shop", 0)?;
    let now = now();
    let list = app
        .data
        .db
        .read(move |c| promos::running(c, shop_id, now))
        .await?;
    Ok(json(StatusCode::OK, &list))
}

/// The venue's offers page: every approved shop's running promotions.
pub async fn offers_page(app: &App, req: &Request) -> Result<Response> {
    let now = now();
    let list = app
        .data
        .db
        .read(move |c| promos::running(c, 0, now))
        .await?;
    let token = crate::http::identity::customer_token(req, None);
    page(
        app,
        req,
        "customer/offers.html",
        context! {
            promotions => value(&list),
            tq => token.as_deref().map(|t| format!("?t={t}")).unwrap_or_default(),
        },
    )
    .await
}

/// Shelf labels a sheet of A4 holds; a request prints at most two sheets
/// (`?page=` for the next), so a 10,000-product stall's page stays small.
const LABELS_PER_PAGE: usize = 48;

/// The shop's shelf labels to print: name, price and the QR code of each
/// item's product page.
pub async fn labels_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let page_number = req.int_param("page", 1)?.clamp(1, 100_000) as usize;
    let items = app
        .data
        .db
        .read(move |c| Ok(crate::store::items::for_shop(c, shop_id)?))
        .await?;
    let pages = items.len().div_ceil(LABELS_PER_PAGE).max(1);
    let host = &app.portal.host;
    let labels: Vec<_> = items
        .iter()
        .skip((page_number - 1) * LABELS_PER_PAGE)
        .take(LABELS_PER_PAGE)
        .map(|item| {
            let link = crate::http::routes::products::product_link(host, item.id);
            Ok(context! {
                name => item.fields.name.clone(),
                price_cents => item.fields.price_cents,
                qr => minijinja::Value::from_safe_string(crate::support::qr::svg(&link)?),
            })
        })
        .collect::<Result<_>>()?;
    render(
        app,
        req,
        "shop/labels.html",
        Some(&staff),
        context! { labels => labels, page_number => page_number, pages => pages },
    )
}
