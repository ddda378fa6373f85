//! Customer routes: shop list, menus, cart, placing orders and following
//! their status, as pages and as JSON.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{self, customer_token, device_token};
use crate::http::render::{page, render_text};
use crate::http::request::{Form, Request};
use crate::http::response::{cached, json, redirect, with_body, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::live::PageKind;
use crate::ordering::orders::{
    self, Actor, Holder, LineRequest, OrderRequest, Placed, Placement, Status,
};
use crate::ordering::{catalog, menu};
use crate::support::crypto;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::{json_fields, json_object, With};
use crate::support::ratelimit::Action;
use crate::support::text::percent_encode;
use hyper::body::Bytes;
use hyper::StatusCode;
use std::time::Duration;

pub async fn api_shops(app: &App) -> Result<Response> {
    let shops = app.data.db.read(catalog::listed).await?;
    Ok(json(StatusCode::OK, &shops))
}

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

/// `{version, shop, items}`; with `since` and `wait`, a long-poll like the
/// order's: menu edits and sold-out switches answer it. Without a wait (or
/// once behind) it is answered from the kept JSON of the menu's version.
pub async fn api_menu(app: &App, req: &Request, shop_id: i64) -> Result<Response> {
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let pages = app.data.live.pages();
    if let Some(page) = pages.get(shop_id, PageKind::Json) {
        if page.version > since || wait.is_zero() {
            return Ok(cached(&page, JSON, req.header("if-none-match")));
        }
    } else if wait.is_zero() || since < 0 {
        let generation = pages.generation();
        let minute = minute_now(app);
        let built = app
            .data
            .read(move |c| catalog::menu_answer(c, shop_id, minute))
            .await?;
        let page = pages.keep(
            shop_id,
            PageKind::Json,
            generation,
            built.version,
            built.body.to_vec(),
        );
        return Ok(cached(&page, JSON, req.header("if-none-match")));
    }
    let menu = catalog::wait_for_menu(&app.data, shop_id, since, wait, || minute_now(app)).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(menu),
    ))
}

/// Items across the venue's shops by text, shop, category, dietary tag
/// and allergen (`?q=&shop=&category=&tag=&without=`).
pub async fn api_search(app: &App, req: &Request) -> Result<Response> {
    app.limits.take(Action::Search, req.peer.ip())?;
    let search: catalog::Search = Form(req.query.clone()).parse()?;
    let minute = minute_now(app);
    let found = app
        .data
        .db
        .read(move |c| catalog::search(c, &search, minute))
        .await?;
    Ok(json(StatusCode::OK, &found))
}

/// The token as `?t=…` for links, or nothing.
fn token_query(token: Option<&str>) -> String {
    token.map(|t| format!("?t={t}")).unwrap_or_default()
}

pub async fn home_page(app: &App, req: &Request) -> Result<Response> {
    home(app, req, None).await
}

/// The shops as `/t/{code}` shows them: at a table, whose code and secret
/// the links carry on (as `table` and `s`) like the order token.
pub async fn home_at_table(
    app: &App,
    req: &Request,
    table: &crate::store::tables::TableRow,
) -> Result<Response> {
    home(app, req, Some(table)).await
}

async fn home(
    app: &App,
    req: &Request,
    table: Option<&crate::store::tables::TableRow>,
) -> Result<Response> {
    let token = customer_token(req, None);
    let mut cart = carried(req);
    if let Some(table) = table {
        cart.retain(|(key, _)| !matches!(key.as_str(), "table" | "s"));
        cart.splice(
            0..0,
            [
                ("table".to_string(), table.code.clone()),
                ("s".to_string(), table.secret.clone()),
            ],
        );
    }
    let query = carry_query(token.as_deref(), &cart);
    let tq = if query.is_empty() {
        query
    } else {
        format!("?{query}")
    };
    let table = table.map(crate::venue::tables::Table::from);
    let hash = token.as_deref().map(crypto::token_hash);
    let (shops, my_orders) = app
        .data
        .db
        .read(move |c| {
            let mine = match hash {
                Some(hash) => orders::customer_orders(c, &hash)?,
                None => Vec::new(),
            };
            Ok((catalog::listed(c)?, mine))
        })
        .await?;
    page(
        app,
        req,
        "customer/home.html",
        context! {
            shops => value(&shops),
            my_orders => value(&my_orders),
            search => blank_search(None),
            tags => value(&menu::TAGS),
            allergens => value(&menu::ALLERGENS),
            cart_link => cart_link(&cart),
            history => history_link(token.as_deref()),
            tq => tq,
            t => token,
            table => table.as_ref().map(|t| value(t)),
        },
    )
    .await
}

/// The venue's local time now, in minutes after midnight.
pub(super) fn minute_now(app: &App) -> i64 {
    app.venue().minute_of_day(crate::support::time::now_ms())
}

/// What the search form shows before anything is asked.
fn blank_search(shop: Option<i64>) -> minijinja::Value {
    let none: [&str; 0] = [];
    context! { q => "", shop => shop, tag => none, without => none }
}

/// A menu page shows at most this many items; a bigger shop shows one
/// category at a time, in pages of this many.
const MENU_PAGE_ITEMS: usize = 60;
/// Pages of a shop with at most this many items follow its menu live; the
/// long-poll answers the whole menu, too much to send on each change for
/// a bigger one.
const LIVE_MENU_ITEMS: usize = 300;
/// Most fields a page carries on (a full cart in the link and its notes,
/// the table and its secret, the cart's id and token, the name at a table).
const MAX_CARRIED: usize = 2 * (orders::MAX_LINES + 1) + 5;

/// What a page carries on in its links and forms, so the customer keeps
/// their cart without cookies: the cart in memory (`cart`, its token `ct`),
/// or an older link's `l` lines and their `n` notes, as they came; the
/// table (`table`, `s`) it was opened at and the name shown there (`by`).
pub(super) fn carried(req: &Request) -> Vec<(String, String)> {
    carried_of(&req.query)
}

pub(super) fn carried_of(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(key, _)| {
            matches!(
                key.as_str(),
                "l" | "n" | "table" | "s" | "cart" | "ct" | "by"
            )
        })
        .map(|(key, value)| match key.as_str() {
            "by" => (key.clone(), guest_name(value)),
            _ => (key.clone(), value.clone()),
        })
        .filter(|(_, value)| !value.is_empty())
        .take(MAX_CARRIED)
        .collect()
}

/// The name a table's guest shows on the lines they add, as a line keeps
/// it: the API's rule for a line of text (no control or bidi characters),
/// trimmed, cut to what a line keeps.
pub(super) fn guest_name(text: &str) -> String {
    crate::support::text::clean_line(text)
        .trim()
        .chars()
        .take(crate::ordering::carts::MAX_ADDED_BY_CHARS)
        .collect()
}

/// Where "all shops" leads: the table's page at a table, else the list,
/// carrying the token and the cart.
pub(super) fn home_link(token: Option<&str>, cart: &[(String, String)]) -> String {
    let table = cart.iter().find(|(k, _)| k == "table").map(|(_, v)| v);
    let rest: Vec<(String, String)> = cart
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "table" | "l" | "n"))
        .cloned()
        .collect();
    let query = carry_query(token, &rest);
    let path = match table {
        Some(code) => format!("/t/{}", percent_encode(code)),
        None => "/".to_string(),
    };
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// `key=value&…`, percent-encoded, for a link.
pub(super) fn query_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(key, value)| format!("{key}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The query a link carries: the order token and the cart.
pub(super) fn carry_query(token: Option<&str>, cart: &[(String, String)]) -> String {
    let token = token.map(|t| ("t", t));
    query_text(
        token
            .into_iter()
            .chain(cart.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )
}

/// A run of a menu's items under one category heading.
#[derive(Clone)]
struct Section<'a> {
    /// 0 for items without a category.
    id: i64,
    name: Option<&'a str>,
    items: Vec<&'a catalog::MenuItemView>,
}
json_object!(Section<'a>: id, name, items);

/// The menu's items under their categories, in display order.
fn sections(menu: &catalog::Menu) -> Vec<Section<'_>> {
    let mut sections: Vec<Section> = Vec::new();
    for item in &menu.items {
        let id = item.category_id.unwrap_or(0);
        match sections.last_mut() {
            Some(section) if section.id == id => section.items.push(item),
            _ => sections.push(Section {
                id,
                name: menu
                    .categories
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.name.as_str()),
                items: vec![item],
            }),
        }
    }
    sections
}

/// What one menu page shows.
struct MenuPage<'a> {
    /// One category at a time, its bar linking to the others' pages.
    split: bool,
    sections: Vec<Section<'a>>,
    page: usize,
    pages: usize,
}

/// A small menu is one page whose category bar jumps to anchors; a big
/// one (or one asked for a category) shows one category, the chosen one
/// or else the first, in pages of MENU_PAGE_ITEMS.
fn paged<'a>(all: &[Section<'a>], chosen: i64, page: usize) -> MenuPage<'a> {
    let count: usize = all.iter().map(|s| s.items.len()).sum();
    if chosen < 0 && count <= MENU_PAGE_ITEMS {
        return MenuPage {
            split: false,
            sections: all.to_vec(),
            page: 1,
            pages: 1,
        };
    }
    let Some(section) = all.iter().find(|s| s.id == chosen).or(all.first()) else {
        return MenuPage {
            split: true,
            sections: Vec::new(),
            page: 1,
            pages: 1,
        };
    };
    let pages = section.items.len().div_ceil(MENU_PAGE_ITEMS).max(1);
    let page = page.clamp(1, pages);
    let items = section
        .items
        .iter()
        .skip((page - 1) * MENU_PAGE_ITEMS)
        .take(MENU_PAGE_ITEMS)
        .copied()
        .collect();
    MenuPage {
        split: true,
        sections: vec![Section { items, ..*section }],
        page,
        pages,
    }
}

/// The variant of the menu page this request gets when it carries nothing
/// of its own (no query but `lang`, no order token, no staff session): the
/// same bytes for everyone asking in that language, kept until the menu
/// changes. Other requests are rendered for themselves.
fn shared_menu_page(app: &App, req: &Request) -> Option<PageKind> {
    let plain = req.query.iter().all(|(key, _)| key == "lang") && req.query.len() <= 1;
    if !plain || customer_token(req, None).is_some() || identity::staff_token(req).is_some() {
        return None;
    }
    let (language, picked) = crate::http::render::page_language(app, req);
    Some(PageKind::Html {
        lang: language.lang,
        picked,
    })
}

pub async fn menu_page(app: &App, req: &Request, shop_id: i64) -> Result<Response> {
    let shared = shared_menu_page(app, req);
    let pages = app.data.live.pages();
    if let Some(page) = shared.and_then(|kind| pages.get(shop_id, kind)) {
        return Ok(cached(&page, HTML, req.header("if-none-match")));
    }
    let generation = pages.generation();
    let minute = minute_now(app);
    let now = crate::support::time::now_ms();
    let (version, shop, menu, promotions) = app
        .data
        .read(move |c| {
            // The version first: a change between the reads leaves the
            // page older than its version says, never newer.
            let version = catalog::public_menu_version(c, shop_id)?;
            let (shop, menu) = catalog::public_menu(c, shop_id, minute)?;
            let promotions = crate::ordering::promos::running(c, shop_id, now)?;
            Ok((version, shop, menu, promotions))
        })
        .await?;
    let chosen = req.int_param("category", -1)?;
    let page_number = req.int_param("page", 1)?.clamp(1, i64::from(u32::MAX)) as usize;
    let all = sections(&menu);
    let shown = paged(&all, chosen, page_number);
    let bar: Vec<_> = all
        .iter()
        .map(|s| context! { id => s.id, name => s.name, count => s.items.len() })
        .collect();
    let token = customer_token(req, None);
    let cart = carried(req);
    let context = context! {
            shop => value(&shop),
            bar => bar,
            sections => value(&shown.sections),
            split => shown.split,
            live => menu.items.len() <= LIVE_MENU_ITEMS,
            current => shown.sections.first().map(|s| s.id),
            page_number => shown.page,
            pages => shown.pages,
            categories => value(&menu.categories),
            promotions => value(&promotions),
            search => blank_search(Some(shop_id)),
            tags => value(&menu::TAGS),
            allergens => value(&menu::ALLERGENS),
            promo_query => match carry_query(token.as_deref(), &cart) {
                query if query.is_empty() => query,
                query => format!("?{query}"),
            },
            carry => carry_query(token.as_deref(), &cart),
            home => home_link(token.as_deref(), &cart),
            cart_link => cart_link(&cart),
            at_table => cart.iter().any(|(k, _)| k == "table"),
            by => cart.iter().any(|(k, _)| k == "by"),
            carried => cart,
            tq => token_query(token.as_deref()),
            t => token,
    };
    let Some(kind) = shared else {
        return page(app, req, "customer/menu.html", context).await;
    };
    let body = render_text(app, req, "customer/menu.html", None, context)?;
    let page = pages.keep(shop_id, kind, generation, version, body.into_bytes());
    Ok(cached(&page, HTML, req.header("if-none-match")))
}

/// The cart page's address when a page carries a cart in memory.
pub(super) fn cart_link(cart: &[(String, String)]) -> Option<String> {
    cart.iter().any(|(k, _)| k == "cart").then(|| {
        let kept: Vec<(String, String)> = cart
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "l" | "n"))
            .cloned()
            .collect();
        format!("/cart?{}", carry_query(None, &kept))
    })
}

/// The device's order history, with the token it holds.
fn history_link(token: Option<&str>) -> String {
    format!("/orders{}", token_query(token))
}

/// One item with its option groups, to choose options, a quantity and a
/// note; its form asks the cart page to add the line to the carried cart.
pub async fn item_page(app: &App, req: &Request, shop_id: i64, item_id: i64) -> Result<Response> {
    let minute = minute_now(app);
    let (shop, item, live) = app
        .data
        .db
        .read(move |c| {
            let shop = catalog::approved_shop(c, shop_id)?;
            let item = catalog::one_item(c, shop_id, item_id, minute)?;
            let live = catalog::item_count(c, shop_id)? <= LIVE_MENU_ITEMS as i64;
            Ok((catalog::PublicShop::from(shop), item, live))
        })
        .await?;
    let token = customer_token(req, None);
    let cart = carried(req);
    page(
        app,
        req,
        "customer/item.html",
        context! {
            shop => value(&shop),
            item => value(&item),
            live => live,
            carry => carry_query(token.as_deref(), &cart),
            home => home_link(token.as_deref(), &cart),
            cart_link => cart_link(&cart),
            at_table => cart.iter().any(|(k, _)| k == "table"),
            by => cart.iter().any(|(k, _)| k == "by"),
            carried => cart,
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

/// Items across the venue (or one shop) by text, dietary tag, allergen
/// left out and category, each linking to its item page.
pub async fn search_page(app: &App, req: &Request) -> Result<Response> {
    app.limits.take(Action::Search, req.peer.ip())?;
    let form = Form(req.query.clone());
    let search: catalog::Search = form.parse()?;
    let minute = minute_now(app);
    let asked = context! {
        q => search.q.clone(),
        shop => search.shop.flatten(),
        category => search.category.flatten(),
        tag => search.tag.clone().unwrap_or_default(),
        without => search.without.clone().unwrap_or_default(),
    };
    let found = app
        .data
        .db
        .read(move |c| Ok(catalog::search(c, &search, minute)))
        .await?;
    let (found, problem) = match found {
        Ok(found) => (found, None),
        Err(e) => (
            Vec::new(),
            Some(crate::http::render::speech(app, req).message(&e)),
        ),
    };
    let token = customer_token(req, None);
    page(
        app,
        req,
        "customer/search.html",
        context! {
            found => value(&found),
            problem => problem,
            search => asked,
            tags => value(&menu::TAGS),
            allergens => value(&menu::ALLERGENS),
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

/// The lines a cart URL (or the form adding to a cart) carries, in order: lines with options
/// (`l=ITEM:QTY:OPT.OPT`, each perhaps followed by its note `n=…`), the
/// menu form's quantities (`q<item id>=<qty>`, most of them 0), and the
/// item page's new line (`add=ITEM&qty=N&o<group>=OPT…&note=…`).
pub(super) fn cart_lines(pairs: &[(String, String)]) -> Result<Vec<LineRequest>> {
    let mut lines: Vec<LineRequest> = Vec::new();
    let mut added: Option<LineRequest> = None;
    for (key, value) in pairs {
        let value = value.trim();
        let line = if key == "l" {
            LineRequest::parse(value)?
        } else if key == "n" {
            if let Some(line) = lines.last_mut() {
                line.note = value.to_string();
            }
            continue;
        } else if key == "add" {
            let new = added.get_or_insert_with(LineRequest::default);
            new.item_id = value.parse().map_err(|_| Error::bad(Code::OrderBadLine))?;
            continue;
        } else if let Some(group) = key.strip_prefix('o') {
            if value.is_empty() || group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let new = added.get_or_insert_with(LineRequest::default);
            // merge_lines refuses more; stop collecting here.
            if new.options.len() <= menu::MAX_OPTIONS_PER_LINE {
                new.options
                    .push(value.parse().map_err(|_| Error::bad(Code::OrderBadLine))?);
            }
            continue;
        } else if let Some(item_id) = key.strip_prefix('q').and_then(|id| id.parse().ok()) {
            if value.is_empty() || value == "0" {
                continue;
            }
            LineRequest {
                item_id,
                qty: value.parse().unwrap_or(-1),
                ..LineRequest::default()
            }
        } else {
            continue;
        };
        // merge_lines refuses more; stop reading here.
        if lines.len() > orders::MAX_LINES {
            break;
        }
        lines.push(line);
    }
    if let Some(mut new) = added.filter(|l| l.item_id > 0) {
        let field = |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
        new.qty = match field("qty") {
            Some(qty) => qty
                .parse()
                .map_err(|_| Error::bad(Code::RequestNotWholeNumber).with("name", "qty"))?,
            None => 1,
        };
        new.note = field("note").unwrap_or_default().to_string();
        lines.push(new);
    }
    Ok(lines)
}

/// A merged line as the cart's links carry it: `l` and, if any, `n`.
fn line_pairs(line: &orders::WantedLine) -> Vec<(String, String)> {
    let text = LineRequest {
        item_id: line.item_id,
        qty: line.qty,
        options: line.options.clone(),
        ..LineRequest::default()
    }
    .to_text();
    let mut pairs = vec![("l".to_string(), text)];
    if !line.note.is_empty() {
        pairs.push(("n".to_string(), line.note.clone()));
    }
    pairs
}

/// The cart is the lines its URL carries, priced by the server and shown
/// for review with the name and note fields. When a line cannot be
/// ordered, each line is priced alone so the page names the bad ones and
/// offers to remove them.
pub async fn cart_page(app: &App, req: &Request) -> Result<Response> {
    if req.param("cart").is_some() {
        return super::cart_pages::cart_page(app, req).await;
    }
    let shop_id: i64 = req.int_param("shop", 0)?;
    let wanted = cart_lines(&req.query).and_then(|lines| orders::merge_lines(&lines));
    let merged = wanted.as_ref().cloned().unwrap_or_default();
    let minute = minute_now(app);
    let each = merged.clone();
    let (shop, cart, alone) = app
        .data
        .db
        .read(move |c| {
            let (shop, cart) = orders::quote(c, shop_id, wanted, minute)?;
            let mut alone = Vec::new();
            if cart.is_err() {
                for line in each {
                    alone.push(orders::quote(c, shop_id, Ok(vec![line]), minute)?.1);
                }
            }
            Ok((shop, cart, alone))
        })
        .await?;
    let token = customer_token(req, None);
    let speech = crate::http::render::speech(app, req);
    let pairs: Vec<Vec<(String, String)>> = merged.iter().map(line_pairs).collect();
    let link = |skip: Option<usize>| {
        let cart: Vec<(String, String)> = pairs
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .flat_map(|(_, p)| p.iter().cloned())
            .collect();
        carry_query(token.as_deref(), &cart)
    };
    let removes: Vec<String> = (0..merged.len()).map(|i| link(Some(i))).collect();
    let (cart, problem) = match cart {
        Ok(cart) if cart.lines.is_empty() => (cart, Some(speech.language.text("cart.empty"))),
        Ok(cart) => (cart, None),
        Err(e) => (orders::CartView::default(), Some(speech.message(&e))),
    };
    let rows: Vec<_> = alone
        .into_iter()
        .map(|priced| match priced {
            Ok(one) => context! { line => one.lines.first().map(|l| value(l)) },
            Err(e) => context! { problem => speech.message(&e) },
        })
        .collect();
    page(
        app,
        req,
        "customer/cart.html",
        context! {
            shop => value(&shop),
            total_cents => cart.total_cents,
            line_forms => cart.lines.iter().map(orders::LineView::form_text).collect::<Vec<_>>(),
            lines => value(&cart.lines),
            rows => rows,
            removes => removes,
            carry => link(None),
            problem => problem,
            // Fixed when the cart is shown: a double tap on "Place order"
            // sends the same reference and so makes one order.
            client_ref => identity::new_form_ref(app)?,
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

pub async fn place_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    identity::check_csrf(app, req, &form)?;
    let mut order: OrderRequest = form.parse()?;
    // Each line's note travels in an `item_note` field beside its `item`.
    let notes = form.0.iter().filter(|(key, _)| key == "item_note");
    for (line, (_, note)) in order.items.iter_mut().zip(notes) {
        line.note.clone_from(note);
    }
    let placed = place(app, req, order).await?;
    let mut response = redirect(&format!(
        "/o/{}?t={}",
        placed.view.order.id,
        percent_encode(&placed.token)
    ));
    identity::set_customer_cookie(&mut response, &placed.token);
    Ok(response)
}

pub async fn api_place(app: &App, req: &Request) -> Result<Response> {
    let placed = place(app, req, req.json()?).await?;
    let status = if placed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    // The order's view with its token after its fields.
    let body = With(&placed.view, json_fields! { "token" => placed.token });
    let mut response = json(status, &body);
    identity::set_customer_cookie(&mut response, &placed.token);
    Ok(response)
}

/// Placement, whether the cart page's form or the API asked for it. The
/// order goes under the token the device holds, else the one reserved for
/// a reference our cart page made (a double tap in a sheet without
/// cookies), else a new one.
async fn place(app: &App, req: &Request, order: OrderRequest) -> Result<Placed> {
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let holder = holder(app, req, &order.client_ref);
    let placed = orders::place_order(&app.data, order, placement(app, req, holder)).await?;
    app.clients
        .ordered(req.peer.ip(), placed.view.order.id, &placed.token);
    Ok(placed)
}

/// Whose token a new order (or checkout) goes under: the device's, else
/// the one reserved for a reference our cart page made.
pub(super) fn holder(app: &App, req: &Request, client_ref: &str) -> Holder {
    match device_token(req) {
        Some(token) => Holder::Device(token),
        None => {
            identity::reserved_token(app, client_ref).map_or(Holder::Anonymous, Holder::Reserved)
        }
    }
}

/// Who places an order from this request, under the venue's limits.
pub(super) fn placement(app: &App, req: &Request, holder: Holder) -> Placement {
    Placement {
        holder,
        placed_from: req.peer.ip().to_string(),
        limits: app.venue().open_order_limits(),
        minute_of_day: minute_now(app),
        zone_rule: app.venue().time_zone_rule.clone(),
    }
}

fn customer(req: &Request, form: Option<&crate::http::request::Form>) -> Result<Actor> {
    let token = customer_token(req, form).ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Actor::Customer {
        token_hash: crypto::token_hash(&token),
    })
}

/// The stages a customer sees on the status page.
const STEPS: [Status; 4] = [
    Status::Placed,
    Status::Accepted,
    Status::Preparing,
    Status::Ready,
];

pub async fn order_page(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let view = app
        .data
        .db
        .read(move |c| orders::load_view(c, orders::visible_order(c, order_id, &actor)?))
        .await?;
    let template = if req.param("fragment").is_some() {
        "customer/order_status.html"
    } else {
        "customer/order.html"
    };
    page(
        app,
        req,
        template,
        context! {
            status => view.order.status.as_str(),
            steps => STEPS.map(Status::as_str),
            step_index => STEPS.iter().position(|s| *s == view.order.status),
            order => value(&view),
            t => customer_token(req, None),
        },
    )
    .await
}

/// What a customer may say when cancelling, in the form or in JSON.
#[derive(Default)]
pub(crate) struct CancelRequest {
    reason: String,
}

impl FromFields for CancelRequest {
    fn from_fields(f: &Fields) -> Result<CancelRequest> {
        f.done(CancelRequest {
            reason: f.text_or_empty("reason"),
        })
    }
}

pub async fn cancel_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let form = req.form()?;
    identity::check_csrf(app, req, &form)?;
    let actor = customer(req, Some(&form))?;
    let cancel: CancelRequest = form.parse()?;
    orders::move_order(&app.data, order_id, Status::Cancelled, actor, cancel.reason).await?;
    let token = customer_token(req, Some(&form)).unwrap_or_default();
    Ok(redirect(&format!(
        "/o/{order_id}?t={}",
        percent_encode(&token)
    )))
}

pub async fn api_cancel(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let cancel: CancelRequest = if req.body.is_empty() {
        CancelRequest::default()
    } else {
        req.json()?
    };
    let view =
        orders::move_order(&app.data, order_id, Status::Cancelled, actor, cancel.reason).await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn api_order(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let body = orders::wait_for_order(&app.data, order_id, actor, since, wait).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::i18n;
    use hyper::Method;

    fn get(query: &[(&str, &str)]) -> Request {
        Request {
            method: Method::GET,
            segments: vec!["cart".into()],
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Default::default(),
            body: Default::default(),
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 9)),
            local: None,
        }
    }

    fn summary(lines: &[LineRequest]) -> Vec<(i64, i64, Vec<i64>, &str)> {
        lines
            .iter()
            .map(|l| (l.item_id, l.qty, l.options.clone(), l.note.as_str()))
            .collect()
    }

    #[test]
    fn a_cart_url_carries_lines_notes_quantities_and_the_item_pages_new_line() {
        let req = get(&[
            ("shop", "1"),
            ("l", "4:2:7.8"),
            ("n", "extra hot"),
            ("l", "5:1:"),
            ("q6", "0"),
            ("q9", "3"),
            ("qty", "2"),
            ("add", "4"),
            ("o12", "8"),
            ("o11", "7"),
            ("o13", ""),
            ("note", "no onions"),
        ]);
        let lines = cart_lines(&req.query).unwrap();
        assert_eq!(
            summary(&lines),
            [
                (4, 2, vec![7, 8], "extra hot"),
                (5, 1, vec![], ""),
                (9, 3, vec![], ""),
                (4, 2, vec![8, 7], "no onions"),
            ]
        );
        // Options without an item to add are no line; a bad option is refused.
        assert!(cart_lines(&get(&[("o1", "5")]).query).unwrap().is_empty());
        assert!(cart_lines(&get(&[("add", "4"), ("o1", "x")]).query).is_err());
        // A hostile URL cannot make the server collect more than a line holds.
        let many: Vec<(&str, &str)> = std::iter::once(("add", "4"))
            .chain(std::iter::repeat_n(("o1", "5"), 1000))
            .collect();
        let lines = cart_lines(&get(&many).query).unwrap();
        assert_eq!(lines[0].options.len(), menu::MAX_OPTIONS_PER_LINE + 1);
        assert!(orders::merge_lines(&lines).is_err());
    }

    #[test]
    fn links_carry_the_token_and_the_cart_encoded() {
        let req = get(&[("l", "4:2:7.8"), ("n", "a&b"), ("q1", "2"), ("t", "x")]);
        let cart = carried(&req);
        assert_eq!(
            carry_query(Some("tok"), &cart),
            "t=tok&l=4%3A2%3A7.8&n=a%26b"
        );
        assert_eq!(carry_query(None, &[]), "");
        let long: Vec<(&str, &str)> = std::iter::repeat_n(("l", "1:1:"), 500).collect();
        assert_eq!(carried(&get(&long)).len(), MAX_CARRIED);
    }

    fn item(id: i64, category_id: Option<i64>) -> catalog::MenuItemView {
        catalog::MenuItemView {
            id,
            shop_id: 1,
            category_id,
            name: format!("item {id}"),
            description: String::new(),
            price_cents: 100,
            available: true,
            sold_out: false,
            stock: None,
            low_stock: 0,
            running_low: false,
            prep_minutes: 0,
            photo_url: None,
            tags: Vec::new(),
            allergens: Vec::new(),
            window: None,
            available_from: None,
            option_groups: Vec::new(),
            position: 0,
        }
    }

    #[test]
    fn a_big_menu_shows_one_category_at_a_time_in_pages() {
        let ids = |page: &MenuPage| -> Vec<(i64, usize)> {
            page.sections
                .iter()
                .map(|s| (s.id, s.items.len()))
                .collect()
        };
        let category = |id, name: &str| catalog::CategoryView {
            id,
            name: name.into(),
            position: id,
        };
        let small = catalog::Menu {
            categories: vec![category(3, "Noodles")],
            items: vec![item(1, Some(3)), item(2, Some(3)), item(3, None)],
        };
        let all = sections(&small);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].name, all[1].name), (Some("Noodles"), None));
        let one_page = paged(&all, -1, 1);
        assert!(!one_page.split);
        assert_eq!(ids(&one_page), [(3, 2), (0, 1)]);
        assert_eq!(ids(&paged(&all, 0, 1)), [(0, 1)]);

        let mut items: Vec<_> = (0..250).map(|i| item(i, Some(7))).collect();
        items.extend((250..260).map(|i| item(i, Some(8))));
        let big = catalog::Menu {
            categories: vec![category(7, "Fruit"), category(8, "Bread")],
            items,
        };
        let all = sections(&big);
        let first = paged(&all, -1, 1);
        assert!(first.split);
        assert_eq!(
            (ids(&first), first.page, first.pages),
            (vec![(7, 60)], 1, 5)
        );
        let last = paged(&all, 7, 99);
        assert_eq!((ids(&last), last.page), (vec![(7, 10)], 5));
        assert_eq!(last.sections[0].items[0].id, 240);
        assert_eq!(ids(&paged(&all, 8, 1)), [(8, 10)]);
        // An unknown category shows the first.
        assert_eq!(ids(&paged(&all, 99, 1)), [(7, 60)]);
    }

    #[test]
    fn every_dietary_tag_and_allergen_has_words() {
        for (prefix, words) in [("tag", menu::TAGS), ("allergen", menu::ALLERGENS)] {
            for word in words {
                let key = format!("{prefix}.{}", word.replace('-', "_"));
                assert!(i18n::english().get(&key).is_some(), "{key}");
            }
        }
    }
}
