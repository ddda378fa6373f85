//! Text from catalogues: every page renders with every text found, the
//! language follows `?lang=` (carried on links and redirects) and then
//! `Accept-Language`, JSON errors carry stable codes with their message,
//! and amounts follow the venue's money format.

mod common;

use common::{unique_ref, Server, OWNER, PASSWORD, SHOP1};
use serde_json::{json, Value};

/// What a missing catalogue entry looks like on a page, and in the log.
const MISSING_TEXT: &str = "⟦";
const MISSING_IN_LOG: [&str; 2] = ["no text for", "names a value not given"];

fn get_html(server: &Server, path: &str, token: Option<&str>, status: u16) -> String {
    let response = server.get(path, token);
    assert_eq!(response.status, status, "GET {path}: {}", response.text());
    response.text()
}

/// Places an order at shop 1 and moves it to `status`.
fn order_in(server: &Server, shop: &str, item: i64, status: &str) -> (i64, String) {
    let (id, token, _) = server.place_ok(1, &[(item, 2)]);
    let steps: &[&str] = match status {
        "placed" => &[],
        "ready" => &["accepted", "preparing", "ready"],
        "completed" => &["accepted", "preparing", "ready", "completed"],
        "cancelled" => &["cancelled"],
        other => panic!("no way to {other}"),
    };
    for step in steps {
        server
            .move_order(shop, id, step, "out of noodles")
            .expect(200);
    }
    (id, token)
}

fn first_item(server: &Server, shop_id: i64) -> (i64, i64) {
    let item = &server.menu(shop_id)[0];
    (
        item["id"].as_i64().expect("item id"),
        item["price_cents"].as_i64().expect("price"),
    )
}

/// The translated languages, each page of which is checked for English.
const TRANSLATED: [&str; 2] = ["es", "hi"];

/// English texts that rightly stay as they are in a translated page:
/// names, codes and examples that are not words of a language.
const NOT_ENGLISH: &[&str] = &["CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"];

/// Every run of two or more words of the English catalogue's texts (split
/// at their `{name}`s and markup), which a translated page must not show.
fn english_phrases() -> Vec<String> {
    let source = include_str!("../catalogue/en.txt");
    let mut phrases = Vec::new();
    for line in source.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, text)) = line.split_once('=') else {
            continue;
        };
        if key.trim().starts_with("format.") || key.trim() == "language.name" {
            continue;
        }
        // Markup is not words: each tag becomes a break between phrases.
        let mut words_only = String::new();
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    words_only.push('{');
                }
                c if !in_tag => words_only.push(c),
                _ => {}
            }
        }
        for piece in words_only.split(['{', '}']) {
            let words = piece
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .count();
            let phrase = piece.trim();
            if words >= 2 && !NOT_ENGLISH.contains(&phrase) {
                phrases.push(phrase.to_string());
            }
        }
    }
    phrases
}

/// The page's text as a reader gets it (entities of our escaping undone).
fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn with_lang(path: &str, lang: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}lang={lang}")
}

/// Renders every page in every language: no missing text anywhere, the
/// page in the language asked for, and no English left in a translation.
#[test]
fn every_page_renders_with_every_text_found_in_every_language() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let shop = server.login(SHOP1, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let (item, _) = first_item(&server, 1);
    let mut pages: Vec<(String, Option<&str>, u16)> = [
        "/",
        "/shops/1",
        &format!("/shops/1/items/{item}"),
        "/search?q=noodle",
        "/search?q=zzzz",
        "/cart?shop=1",
        &format!("/cart?shop=1&q{item}=2"),
        "/cart?shop=1&q999999=1",
        "/login",
        "/register",
        "/welcome",
        "/board",
        "/offers",
        &format!("/p/{item}"),
        "/no/such/page",
    ]
    .iter()
    .map(|path| {
        let status = if path.starts_with("/no/") { 404 } else { 200 };
        (path.to_string(), None, status)
    })
    .collect();
    for status in ["placed", "ready", "completed", "cancelled"] {
        let (id, token) = order_in(&server, &shop, item, status);
        pages.push((format!("/o/{id}?t={token}"), None, 200));
        pages.push((format!("/o/{id}?t={token}&fragment=1"), None, 200));
        pages.push((format!("/?t={token}"), None, 200));
    }
    for path in [
        "/shop",
        "/shop?fragment=1",
        "/shop/menu",
        "/shop/staff",
        "/reports",
        &format!("/shop/items/{item}"),
        "/shop/promos",
        "/shop/labels",
    ] {
        pages.push((path.to_string(), Some(&shop), 200));
    }
    for path in [
        "/admin",
        "/reports",
        "/admin/audit",
        "/admin/tables",
        "/admin/posters",
        "/admin/posters?size=a6",
    ] {
        pages.push((path.to_string(), Some(&owner), 200));
    }
    let english = english_phrases();
    let mut leftovers = Vec::new();
    let mut check = |pages: &[(String, Option<&str>, u16)]| {
        for (path, token, status) in pages {
            let html = get_html(&server, path, *token, *status);
            assert!(
                !html.contains(MISSING_TEXT),
                "{path} shows a missing text: {html}"
            );
            assert!(html.contains("<"), "{path} is a page");
            for lang in TRANSLATED {
                let path = with_lang(path, lang);
                let html = get_html(&server, &path, *token, *status);
                assert!(!html.contains(MISSING_TEXT), "{path}: {html}");
                assert!(
                    path.contains("fragment=") || html.contains(&format!("<html lang=\"{lang}\">")),
                    "{path}: {html}"
                );
                let text = unescaped(&html);
                for phrase in english.iter().filter(|p| text.contains(p.as_str())) {
                    leftovers.push(format!("{path}: {phrase:?}"));
                }
            }
        }
    };
    check(&pages);
    // A shop waiting for approval, and a sold-out item.
    let pending = server
        .post(
            "/api/auth/register",
            None,
            &json!({ "email": "new@shop.example", "password": PASSWORD,
                     "name": "Nel", "shop_name": "New Stall" }),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let mut pages = vec![
        ("/shop".to_string(), Some(pending.as_str()), 200),
        ("/shop/labels".to_string(), Some(pending.as_str()), 200),
    ];
    // Tables, posters, promotions, stations and the report's money, waste
    // and station figures, each with something to show.
    pages.extend(with_content(&server, &shop, &owner, item));
    let grocer = server.login("shop4@demo.local", PASSWORD);
    // The grocery's 200 products need more than one page of labels.
    pages.push((
        "/shop/labels?page=2".to_string(),
        Some(grocer.as_str()),
        200,
    ));
    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop),
            &json!({ "available": false }),
        )
        .expect(200);
    pages.push(("/shops/1".to_string(), None, 200));
    pages.push((format!("/cart?shop=1&q{item}=1"), None, 200));

    check(&pages);
    leftovers.sort();
    leftovers.dedup();
    assert!(
        leftovers.is_empty(),
        "English left in translated pages (translate these keys in catalogue/es.txt and hi.txt):\n{}",
        leftovers.join("\n")
    );
    let log = server.log();
    for missing in MISSING_IN_LOG {
        assert!(!log.contains(missing), "{log}");
    }
}

/// Gives shop 1 and the venue a table, the Wi-Fi name, a promotion, promo
/// codes, a kitchen station with an order waiting and one done, a payment,
/// a refund and waste; returns the pages that show them, with their reader.
fn with_content<'a>(
    server: &Server,
    shop: &'a str,
    owner: &'a str,
    item: i64,
) -> Vec<(String, Option<&'a str>, u16)> {
    server.set_venue(&json!({ "ssid": "OrderSpot" }));
    let table = server
        .post(
            "/api/admin/tables",
            Some(owner),
            &json!({ "name": "7", "area": "Patio" }),
        )
        .expect(201);
    let table_link = format!(
        "/t/{}?s={}",
        table["code"].as_str().expect("code"),
        table["secret"].as_str().expect("secret")
    );
    let promotion = json!({ "text": "2×1", "items": [item],
                            "from": "2024-01-01", "until": "2099-12-31" });
    let limited = json!({ "code": "LUNCH10", "kind": "percent", "value": 10,
                          "min_subtotal_cents": 1000, "use_limit": 5,
                          "from": "2024-01-01", "until": "2099-12-31" });
    server
        .post("/api/shop/promotions", Some(shop), &promotion)
        .expect(201);
    for code in [
        limited,
        json!({ "code": "EURO1", "kind": "fixed", "value": 100 }),
    ] {
        server
            .post("/api/shop/promo-codes", Some(shop), &code)
            .expect(201);
    }
    let station = server
        .post("/api/shop/stations", Some(shop), &json!({ "name": "Wok" }))
        .expect(201)["id"]
        .as_i64()
        .expect("station id");
    server
        .call(
            "PUT",
            "/api/shop/stations/routes",
            Some(shop),
            Some(&json!({ "item_id": item, "station_id": station })),
        )
        .expect(200);
    let (waiting, _, _) = server.place_ok(1, &[(item, 1)]);
    let (done, _, _) = server.place_ok(1, &[(item, 1)]);
    server
        .post(
            &format!("/api/shop/orders/{done}/stations/{station}/done"),
            Some(shop),
            &json!({}),
        )
        .expect(200);
    server
        .post(
            &format!("/api/shop/orders/{waiting}/payment"),
            Some(shop),
            &json!({ "method": "cash", "tip_cents": 50 }),
        )
        .expect(200);
    server
        .post(
            &format!("/api/shop/orders/{waiting}/refunds"),
            Some(shop),
            &json!({ "amount_cents": 30, "reason": "cold" }),
        )
        .expect(200);
    let ingredient = server
        .post(
            "/api/shop/ingredients",
            Some(shop),
            &json!({ "name": "Rice", "stock": 50 }),
        )
        .expect(201)["id"]
        .as_i64()
        .expect("ingredient id");
    server
        .post(
            &format!("/api/shop/ingredients/{ingredient}/waste"),
            Some(shop),
            &json!({ "qty": 2, "reason": "spilt" }),
        )
        .expect(200);
    let station_page = format!("/shop/stations/{station}");
    let mut pages: Vec<(String, Option<&str>, u16)> = Vec::new();
    for path in [
        "/admin/tables",
        "/admin/posters",
        "/admin/posters?size=a6",
        "/reports",
    ] {
        pages.push((path.to_string(), Some(owner), 200));
    }
    for path in [table_link.as_str(), "/offers"] {
        pages.push((path.to_string(), None, 200));
    }
    for path in [
        "/shop",
        "/shop/promos",
        "/reports",
        &station_page,
        &format!("{station_page}?fragment=1"),
        // The editor's stations, the item's station and its badge
        "/shop/menu",
        &format!("/shop/items/{item}"),
    ] {
        pages.push((path.to_string(), Some(shop), 200));
    }
    pages
}

/// The first-run page, on a venue without an owner, in every language.
#[test]
fn the_first_run_page_renders_in_every_language() {
    let server = Server::start_empty_with(&["--portal-ip", "127.0.5.1"]);
    let lan: std::net::IpAddr = "127.0.0.2".parse().expect("an address");
    let english = english_phrases();
    for lang in ["en", "es", "hi"] {
        let path = format!("/setup?lang={lang}");
        let page = common::request_from(lan, server.addr, "GET", &path, &[], b"");
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(!html.contains(MISSING_TEXT), "{html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{html}");
        // Every language can be offered and made the default.
        for code in ["en", "es", "hi"] {
            assert!(
                html.contains(&format!("name=\"languages\" value=\"{code}\" checked")),
                "{html}"
            );
        }
        if lang != "en" {
            let text = unescaped(&html);
            let left: Vec<_> = english
                .iter()
                .filter(|p| text.contains(p.as_str()))
                .collect();
            assert!(left.is_empty(), "{lang}: {left:?}");
        }
    }
}

#[test]
fn the_language_follows_the_parameter_then_the_browser() {
    let server = Server::start_demo();
    // A browser asking for languages we lack gets the venue's.
    let page = server.request(
        "GET",
        "/",
        &[("Accept-Language", "fr-CH, fr;q=0.9, de;q=0.8")],
        b"",
    );
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("<html lang=\"en\">"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Order from"), "{}", page.text());
    // Nothing picked: links stay as they were.
    assert!(page.text().contains("href=\"/shops/1\""), "{}", page.text());

    // A picked language is carried on every link of the page...
    let picked = get_html(&server, "/?lang=en", None, 200);
    assert!(picked.contains("href=\"/shops/1?lang=en\""), "{picked}");
    assert!(picked.contains("href=\"/login?lang=en\""), "{picked}");
    let menu = get_html(&server, "/shops/1?lang=en", None, 200);
    assert!(
        menu.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"),
        "{menu}"
    );
    // ...and on the redirect after a form: a customer's order lands on its
    // status page in the same language.
    let (item, _) = first_item(&server, 1);
    let cart = get_html(
        &server,
        &format!("/cart?shop=1&q{item}=1&lang=en"),
        None,
        200,
    );
    assert!(cart.contains("action=\"/orders?lang=en\""), "{cart}");
    let field = |name: &str| {
        cart.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no {name} in {cart}"))
            .to_string()
    };
    let body = format!(
        "csrf={}&shop_id=1&client_ref={}&item={item}%3A1&customer_name=Ann&note=",
        field("csrf"),
        field("client_ref")
    );
    let placed = server.request(
        "POST",
        "/orders?lang=en",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(placed.status, 303, "{}", placed.text());
    let location = placed.header("location").expect("a redirect");
    assert!(
        location.starts_with("/o/") && location.ends_with("&lang=en"),
        "{location}"
    );

    // A language we do not have is ignored, and never carried.
    let unknown = get_html(&server, "/?lang=xx", None, 200);
    assert!(unknown.contains("<html lang=\"en\">"), "{unknown}");
    assert!(!unknown.contains("lang=xx"), "{unknown}");
}

#[test]
fn json_errors_carry_a_code_and_a_message() {
    let server = Server::start_demo();
    let shop = server.login(SHOP1, PASSWORD);
    let (item, _) = first_item(&server, 1);
    let error = |response: common::Response, status: u16| -> Value {
        assert_eq!(response.status, status, "{}", response.text());
        let body = response.json();
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(!body["error"].as_str().unwrap_or("").contains(MISSING_TEXT));
        body
    };

    let missing = error(server.get("/api/orders/999999", Some("nobody")), 404);
    assert_eq!(missing["code"], "order.not_found");

    let unknown = error(server.place(1, &[(999_999, 1)], &unique_ref()), 400);
    assert_eq!(unknown["code"], "order.unknown_item");
    assert_eq!(unknown["error"], "unknown item 999999 for this shop");

    let too_many = error(server.place(1, &[(item, 51)], &unique_ref()), 400);
    assert_eq!(too_many["code"], "order.bad_quantity");
    assert_eq!(too_many["error"], "quantity must be between 1 and 50");

    let (id, _) = order_in(&server, &shop, item, "placed");
    let moved = error(server.move_order(&shop, id, "ready", ""), 409);
    assert_eq!(moved["code"], "order.invalid_move");
    assert_eq!(
        moved["error"],
        "cannot move order to ready: order is placed"
    );

    let long_name = "x".repeat(81);
    let field = error(
        server.patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop),
            &json!({ "name": long_name }),
        ),
        400,
    );
    assert_eq!(field["code"], "field.too_long");
    assert_eq!(field["error"], "name is too long (at most 80 characters)");

    let price = error(
        server.patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop),
            &json!({ "price_cents": -1 }),
        ),
        400,
    );
    assert_eq!(price["code"], "price.out_of_range");
    assert_eq!(price["error"], "price must be between €0.00 and €100000.00");

    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop),
            &json!({ "available": false }),
        )
        .expect(200);
    let name = server.menu(1)[0]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let sold_out = error(server.place(1, &[(item, 1)], &unique_ref()), 409);
    assert_eq!(sold_out["code"], "item.sold_out");
    assert_eq!(sold_out["error"], format!("{name} is sold out"));

    let bad_json = error(
        server.request(
            "POST",
            "/api/orders",
            &[("Content-Type", "application/json")],
            b"{",
        ),
        400,
    );
    assert_eq!(bad_json["code"], "request.bad_json");

    let anonymous = error(server.get("/api/shop/orders", None), 401);
    assert_eq!(anonymous["code"], "auth.required");

    let not_owner = error(server.get("/api/admin/venue", Some(&shop)), 403);
    assert_eq!(not_owner["code"], "auth.owner_only");

    let no_language = error(
        server.patch(
            "/api/admin/venue",
            Some(&server.login(OWNER, PASSWORD)),
            &json!({ "language": "xx" }),
        ),
        400,
    );
    assert_eq!(no_language["code"], "venue.unknown_language");
}

#[test]
fn amounts_follow_the_venue_money_format() {
    let server = Server::start_demo();
    let (item, price) = first_item(&server, 1);
    let plain = get_html(&server, "/shops/1", None, 200);
    assert!(
        plain.contains(&format!("€{}.{:02}", price / 100, price % 100)),
        "{plain}"
    );
    let venue = server.set_venue(&json!({
        "currency": "EUR",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "symbol_after": true,
    }));
    assert_eq!(venue["decimals"], 2);
    let amount = |cents: i64| {
        let whole = cents / 100;
        let grouped = if whole >= 1000 {
            format!("{}.{:03}", whole / 1000, whole % 1000)
        } else {
            whole.to_string()
        };
        format!("{grouped},{:02} EUR", cents % 100)
    };
    let menu = get_html(&server, "/shops/1", None, 200);
    assert!(menu.contains(&amount(price)), "{menu}");
    // The script formats the running total from the same settings.
    assert!(
        menu.contains("data-symbol=\"EUR\" data-decimals=\"2\" data-decimal-separator=\",\" data-thousands-separator=\".\" data-symbol-after"),
        "{menu}"
    );
    let cart = get_html(&server, &format!("/cart?shop=1&q{item}=50"), None, 200);
    assert!(cart.contains(&amount(price * 50)), "{cart}");
    // The menu editor shows prices as they are typed, and reads them back.
    let shop = server.login(SHOP1, PASSWORD);
    let editor = get_html(&server, &format!("/shop/items/{item}"), Some(&shop), 200);
    assert!(
        editor.contains(&format!("value=\"{},{:02}\"", price / 100, price % 100)),
        "{editor}"
    );
}

#[test]
fn the_switcher_offers_only_the_venues_languages_and_amounts_follow_the_reader() {
    let server = Server::start_demo();
    let (_, price) = first_item(&server, 1);
    let ask = |path: &str, accept: &str| {
        let page = server.request("GET", path, &[("Accept-Language", accept)], b"");
        assert_eq!(page.status, 200, "{}", page.text());
        page.text()
    };
    // Every language is offered at first, and the browser's is spoken.
    let hindi = ask("/shops/1", "hi-IN, en;q=0.5");
    assert!(hindi.contains("<html lang=\"hi\">"), "{hindi}");
    assert!(hindi.contains("1?lang=es\" hreflang=\"es\""), "{hindi}");
    // Hindi keeps the venue's € and decimals, with its own separators.
    let hindi_price = format!("€{}.{:02}", price / 100, price % 100);
    assert!(hindi.contains(&hindi_price), "{hindi}");
    let spanish = ask("/shops/1", "es-ES");
    let spanish_price = format!("{},{:02} €", price / 100, price % 100);
    assert!(spanish.contains(&spanish_price), "{spanish}");
    assert!(
        spanish.contains(
            "data-decimal-separator=\",\" data-thousands-separator=\".\" data-symbol-after"
        ),
        "{spanish}"
    );

    let venue = server.set_venue(&json!({ "language": "es", "languages": ["en"] }));
    assert_eq!(venue["languages"], json!(["en", "es"]));
    let page = ask("/", "hi-IN, en;q=0.5");
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(page.contains("?lang=es\" hreflang=\"es\""), "{page}");
    assert!(!page.contains("hreflang=\"hi\""), "{page}");
    // A language not offered is not spoken, nor carried on links.
    let page = ask("/?lang=hi", "fr");
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(!page.contains("lang=hi"), "{page}");
    // The venue's own language shows the venue's own format.
    assert!(page.contains("data-decimal-separator=\".\""), "{page}");
}
