//! Hostile text in every field a customer, a shopkeeper or the owner can
//! fill (script tags, quotes, SQL, template syntax, control and bidi
//! characters, invalid UTF-8, oversized strings), then every page and JSON
//! answer that shows it: nothing executes, escaping holds, text is stored
//! as given less control characters, or refused with a clear error; never
//! a 500.

mod common;

use common::{int_of, str_of, unique_ref, Response, Server, OWNER, PASSWORD, SHOP1};
use serde_json::{json, Value};

/// Each fits the shortest field (40 characters).
const HOSTILE: [&str; 5] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'; DROP TABLE orders; --",
    "a\u{202E}b\u{7}c\u{200F}\td\u{1b}[31m",
    "{{ 7*7 }}{% raw %}</textarea></title>",
];

/// What one line of text becomes when stored: bidi controls and control
/// characters gone, tabs and line breaks as spaces, trimmed.
fn stored_line(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    text.chars()
        .filter(|&c| !bidi(c))
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A write that must be taken; a 5xx or a refusal fails with the answer.
#[track_caller]
fn taken(response: Response) -> Value {
    assert!(
        (200..300).contains(&response.status),
        "refused hostile text: {response:?}"
    );
    if response.body.is_empty() {
        Value::Null
    } else {
        response.json()
    }
}

/// A refusal must be a 4xx with a stable code and a message.
#[track_caller]
fn refused(response: &Response, status: u16, code: &str) {
    assert_eq!(response.status, status, "{response:?}");
    let body = response.json();
    assert_eq!(body["code"], code, "{response:?}");
    assert!(!str_of(&body, "error").is_empty());
}

/// Every page shows the text as text: no tag of ours made of theirs.
#[track_caller]
fn assert_inert_page(path: &str, response: &Response) {
    assert!(response.status < 500, "{path}: {response:?}");
    let body = response.text();
    for tag in ["<script>alert", "<img src=x", "</textarea></title>"] {
        assert!(!body.contains(tag), "{path} shows {tag:?} unescaped");
    }
    assert!(
        !body.contains('\u{202E}') && !body.contains('\u{1b}'),
        "{path}"
    );
}

/// Every JSON answer is JSON, and says so (a browser never sniffs it as HTML).
#[track_caller]
fn assert_inert_json(path: &str, response: &Response) {
    assert!(response.status < 500, "{path}: {response:?}");
    let kind = response.header("content-type").unwrap_or("");
    assert!(kind.starts_with("application/json"), "{path}: {kind}");
    let body = response.json();
    assert!(!body.to_string().contains('\u{202E}'), "{path}");
}

#[test]
fn hostile_text_is_stored_cleaned_and_shown_escaped_everywhere() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let owner = server.login(OWNER, PASSWORD);
    let shop = server.login(SHOP1, PASSWORD);
    let mut orders = Vec::new();
    let mut items = Vec::new();

    for (n, text) in HOSTILE.iter().enumerate() {
        let clean = stored_line(text);
        // The owner: the venue's name and terms.
        let venue = taken(server.patch(
            "/api/admin/venue",
            Some(&owner),
            &json!({ "name": text, "terms": text }),
        ));
        assert_eq!(venue["name"], clean);

        // A shopkeeper registering, approved by the owner.
        let registered = taken(server.post(
            "/api/auth/register",
            None,
            &json!({
                "email": format!("hostile{n}@example.com"), "password": "hostile-password",
                "name": text, "shop_name": format!("{text}{n}"), "description": text,
            }),
        ));
        let shops = server.get("/api/admin/shops", Some(&owner)).expect(200);
        let new_shop = shops
            .as_array()
            .or(shops["shops"].as_array())
            .expect("shops")
            .iter()
            .find(|s| s["name"] == format!("{clean}{n}"))
            .unwrap_or_else(|| panic!("shop {clean:?}{n} not in {shops}"))
            .clone();
        assert!(registered["token"].is_string());
        taken(server.post(
            &format!("/api/admin/shops/{}/approve", int_of(&new_shop, "id")),
            Some(&owner),
            &json!({}),
        ));

        // The shop's menu: category, item, option group and options,
        // ingredient, waste, staff.
        let category = taken(server.post(
            "/api/shop/categories",
            Some(&shop),
            &json!({ "name": format!("{n}{text}") }),
        ));
        assert_eq!(category["name"], format!("{n}{clean}"));
        let item = taken(server.post(
            "/api/shop/items",
            Some(&shop),
            &json!({
                "name": text, "description": text, "price_cents": 100,
                "category_id": category["id"],
            }),
        ));
        // Tags and allergens are words from a fixed list.
        for list in ["tags", "allergens"] {
            let body = json!({ "name": "x", "price_cents": 1, list: [text] });
            let response = server.post("/api/shop/items", Some(&shop), &body);
            assert_eq!(response.status, 400, "{response:?}");
            assert!(!str_of(&response.json(), "error").is_empty());
        }
        assert_eq!(item["name"], clean);
        let item_id = int_of(&item, "id");
        items.push(item_id);
        taken(server.post(
            "/api/shop/option-groups",
            Some(&shop),
            &json!({
                "name": format!("{n}{text}"), "min": 0, "max": 1,
                "options": [{ "name": text, "price_delta_cents": 0 }],
            }),
        ));
        let ingredient = taken(server.post(
            "/api/shop/ingredients",
            Some(&shop),
            &json!({ "name": format!("{n}{text}"), "stock": 10 }),
        ));
        taken(server.post(
            &format!("/api/shop/ingredients/{}/waste", int_of(&ingredient, "id")),
            Some(&shop),
            &json!({ "qty": 1, "reason": text }),
        ));
        let staff = taken(server.post(
            "/api/shop/staff",
            Some(&shop),
            &json!({ "username": format!("hostile{n}"), "name": text, "password": "hostile-password" }),
        ));
        assert_eq!(staff["name"], clean);

        // A customer: name, note, line note; a cancel reason from each side.
        for cancel_as_customer in [false, true] {
            let placed = server.post(
                "/api/orders",
                None,
                &json!({
                    "shop_id": 1, "customer_name": text, "note": text, "client_ref": unique_ref(),
                    "items": [{ "item_id": item_id, "qty": 1, "note": text }],
                }),
            );
            let order = taken(placed);
            assert_eq!(order["customer_name"], clean);
            let (id, token) = (int_of(&order, "id"), str_of(&order, "token").to_string());
            let cancelled = if cancel_as_customer {
                server.post(
                    &format!("/api/orders/{id}/cancel"),
                    Some(&token),
                    &json!({ "reason": text }),
                )
            } else {
                server.move_order(&shop, id, "cancelled", text)
            };
            taken(cancelled);
            orders.push((id, token));
        }
        let kept = taken(server.post(
            "/api/orders",
            None,
            &json!({
                "shop_id": 1, "customer_name": text, "note": text, "client_ref": unique_ref(),
                "items": [{ "item_id": item_id, "qty": 1, "note": text }],
            }),
        ));
        orders.push((int_of(&kept, "id"), str_of(&kept, "token").to_string()));
    }

    // Every page and answer that shows any of it.
    let session = |token: &str| format!("os_s={token}");
    let mut pages: Vec<(String, Option<String>)> = vec![
        ("/".into(), None),
        ("/shops/1".into(), None),
        ("/search?q=%3Cscript%3E".into(), None),
        ("/board".into(), None),
        ("/welcome".into(), None),
        ("/shop".into(), Some(session(&shop))),
        ("/shop/menu".into(), Some(session(&shop))),
        ("/shop/staff".into(), Some(session(&shop))),
        ("/admin".into(), Some(session(&owner))),
        ("/admin/audit".into(), Some(session(&owner))),
        ("/reports".into(), Some(session(&owner))),
    ];
    for item in &items {
        pages.push((format!("/shops/1/items/{item}"), None));
        pages.push((format!("/shop/items/{item}"), Some(session(&shop))));
        pages.push((format!("/cart?l={item}:1"), None));
    }
    for (id, token) in &orders {
        pages.push((format!("/o/{id}?t={token}"), None));
    }
    for (path, cookie) in &pages {
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        assert_inert_page(path, &server.request("GET", path, &headers, b""));
    }
    let answers = [
        ("/api/shops", None),
        ("/api/shops/1/menu", None),
        ("/api/search?q=script", None),
        ("/api/board", None),
        ("/api/shop/orders", Some(&shop)),
        ("/api/shop/items", Some(&shop)),
        ("/api/shop/categories", Some(&shop)),
        ("/api/shop/option-groups", Some(&shop)),
        ("/api/shop/ingredients", Some(&shop)),
        ("/api/shop/waste", Some(&shop)),
        ("/api/shop/staff", Some(&shop)),
        ("/api/admin/shops", Some(&owner)),
        ("/api/admin/venue", Some(&owner)),
        ("/api/admin/audit", Some(&owner)),
        ("/api/reports", Some(&owner)),
    ];
    for (path, token) in answers {
        assert_inert_json(path, &server.get(path, token.map(String::as_str)));
    }
    for (id, token) in &orders {
        let path = format!("/api/orders/{id}");
        let order = server.get(&path, Some(token));
        assert_inert_json(&path, &order);
        let order = order.json();
        assert!(HOSTILE
            .iter()
            .any(|t| order["customer_name"] == stored_line(t)));
        assert!(HOSTILE
            .iter()
            .any(|t| order["items"][0]["name"] == stored_line(t)));
    }
}

#[test]
fn oversized_and_invalid_text_is_refused_with_a_clear_error() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    let shop = server.login(SHOP1, PASSWORD);
    let long = "<".repeat(10_000);
    let megabyte = "x".repeat(1 << 20);

    let writes = [
        ("PATCH", "/api/admin/venue", &owner, json!({ "name": long })),
        (
            "PATCH",
            "/api/admin/venue",
            &owner,
            json!({ "terms": long }),
        ),
        (
            "POST",
            "/api/shop/items",
            &shop,
            json!({ "name": long, "price_cents": 1 }),
        ),
        (
            "POST",
            "/api/shop/items",
            &shop,
            json!({ "name": "x", "description": long, "price_cents": 1 }),
        ),
        (
            "POST",
            "/api/shop/categories",
            &shop,
            json!({ "name": long }),
        ),
        (
            "POST",
            "/api/shop/ingredients",
            &shop,
            json!({ "name": long, "stock": 1 }),
        ),
        (
            "POST",
            "/api/shop/option-groups",
            &shop,
            json!({ "name": long, "min": 0, "max": 1, "options": [] }),
        ),
        (
            "POST",
            "/api/shop/staff",
            &shop,
            json!({ "username": "longname", "name": long, "password": "hostile-password" }),
        ),
    ];
    for (method, path, token, body) in &writes {
        let response = server.call(method, path, Some(token), Some(body));
        refused(&response, 400, "field.too_long");
        let response = server.request(
            method,
            path,
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
            ],
            body.to_string().replace(&long, &megabyte).as_bytes(),
        );
        refused(&response, 413, "request.too_large");
    }
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    for (field, value) in [("customer_name", &long), ("note", &long)] {
        let mut order = json!({
            "shop_id": 1, "customer_name": "x", "note": "", "client_ref": unique_ref(),
            "items": [{ "item_id": item, "qty": 1 }],
        });
        order[field] = json!(value);
        refused(
            &server.post("/api/orders", None, &order),
            400,
            "field.too_long",
        );
    }
    // Invalid UTF-8 inside a JSON string.
    let mut body = br#"{"shop_id": 1, "customer_name": "x"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(
        br#"", "note": "", "client_ref": "abcdefgh12", "items": [{"item_id": 1, "qty": 1}]}"#,
    );
    let response = server.request(
        "POST",
        "/api/orders",
        &[("Content-Type", "application/json")],
        &body,
    );
    refused(&response, 400, "request.bad_json");
    let response = server.request(
        "PATCH",
        "/api/admin/venue",
        &[
            ("Authorization", &format!("Bearer {owner}")),
            ("Content-Type", "application/json"),
        ],
        b"{\"name\": \"\xff\xfe\"}",
    );
    refused(&response, 400, "request.bad_json");
}
