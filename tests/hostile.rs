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

// ---------------------------------------------------------------------------
// The same text through the HTML forms, as a browser posts them

/// A browser on the venue's pages: a staff member signed in by cookie, or
/// a customer (CSRF bound to their address), posting forms with the CSRF
/// token the pages carry.
struct Browser<'a> {
    server: &'a Server,
    cookie: Option<String>,
    csrf: String,
}

impl<'a> Browser<'a> {
    /// Signed in as `staff_token` (or a customer when `None`); the CSRF
    /// token from `page`'s first form.
    fn open(server: &'a Server, staff_token: Option<&str>, page: &str) -> Browser<'a> {
        let mut browser = Browser {
            server,
            cookie: staff_token.map(|t| format!("os_s={t}")),
            csrf: String::new(),
        };
        browser.csrf = hidden(&browser.page(page), "csrf");
        browser
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        self.cookie.iter().map(|c| ("Cookie", c.as_str())).collect()
    }

    /// A page as shown: never a 5xx, nothing of the hostile text live.
    #[track_caller]
    fn page(&self, path: &str) -> String {
        let response = self.server.request("GET", path, &self.headers(), b"");
        assert_inert_page(path, &response);
        assert_eq!(response.status, 200, "{path}: {response:?}");
        response.text()
    }

    /// Posts `fields` (and the CSRF token) as `application/x-www-form-urlencoded`.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut body = format!("csrf={}", form_encode(&self.csrf));
        for (key, value) in fields {
            body += &format!("&{}={}", form_encode(key), form_encode(value));
        }
        self.post_raw(path, body.as_bytes())
    }

    fn post_raw(&self, path: &str, body: &[u8]) -> Response {
        let mut headers = self.headers();
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        self.server.request("POST", path, &headers, body)
    }

    /// A form the handler must take: a redirect to a page on this site,
    /// which shows inert; where it went.
    #[track_caller]
    fn submit(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let response = self.post(path, fields);
        assert_eq!(response.status, 303, "{path} refused: {response:?}");
        let to = response
            .header("location")
            .unwrap_or_else(|| panic!("{path}: a redirect without a Location"))
            .to_string();
        assert!(
            to.starts_with('/') && !to.starts_with("//"),
            "{path} -> {to}"
        );
        self.page(&to);
        to
    }

    fn api(&self, path: &str, token: &str) -> Value {
        let response = self.server.get(path, Some(token));
        assert_inert_json(path, &response);
        response.expect(200)
    }
}

/// A refusal of a form is a 4xx page in the person's language with the
/// message, and shows none of the text live.
#[track_caller]
fn refused_page(path: &str, response: &Response, status: u16) {
    assert_eq!(response.status, status, "{path}: {response:?}");
    assert_inert_page(path, response);
    let body = response.text();
    let message = body
        .split("<p>")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or("");
    assert!(!message.trim().is_empty(), "{path}: no message in {body}");
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Text as a page shows it: what minijinja's HTML escaping makes of it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn unescaped(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The value of the first hidden field called `name`.
fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(unescaped)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
}

/// Every hidden field of the form posting to `action`, as the browser
/// sends them back.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let form = html
        .split(&format!("action=\"{action}\""))
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .unwrap_or_else(|| panic!("no form to {action} in {html}"));
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|field| {
            let (name, rest) = field.split_once("\" value=\"")?;
            Some((name.to_string(), unescaped(rest.split('"').next()?)))
        })
        .collect()
}

/// The element of a JSON list whose `key` is `value`.
#[track_caller]
fn find<'v>(list: &'v Value, key: &str, value: impl Into<Value>) -> &'v Value {
    let value = value.into();
    list.as_array()
        .expect("a list")
        .iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {list}"))
}

#[test]
fn hostile_text_through_every_html_form_is_stored_cleaned_and_shown_escaped() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let owner_token = server.login(OWNER, PASSWORD);
    let shop_token = server.login(SHOP1, PASSWORD);
    let owner = Browser::open(&server, Some(&owner_token), "/admin");
    let shop = Browser::open(&server, Some(&shop_token), "/shop/menu");
    let item = server.plain_item(1);
    let customer = Browser::open(&server, None, &format!("/shops/1/items/{item}"));
    let mut pages = vec![
        "/".to_string(),
        "/shops/1".into(),
        "/board".into(),
        "/welcome".into(),
        "/offers".into(),
        "/orders".into(),
    ];
    let mut shop_pages = vec![
        "/shop".to_string(),
        "/shop/menu".into(),
        "/shop/staff".into(),
        "/shop/promos".into(),
        "/shop/labels".into(),
    ];
    let owner_pages = [
        "/admin",
        "/admin/tables",
        "/admin/posters",
        "/admin/audit",
        "/reports",
    ];

    for (n, text) in HOSTILE.iter().enumerate() {
        let text = *text;
        let clean = stored_line(text);
        let named = |prefix: &str| format!("{prefix}{n}{text}");

        // The owner: the venue's name and terms, a table and its new name.
        owner.submit("/admin/venue", &[("name", text), ("terms", text)]);
        let venue = owner.api("/api/admin/venue", &owner_token);
        assert_eq!(
            (&venue["name"], &venue["terms"]),
            (&json!(clean), &json!(clean))
        );
        owner.submit("/admin/tables", &[("name", &named("t")), ("area", text)]);
        let tables = owner.api("/api/admin/tables", &owner_token);
        let table = find(&tables, "name", stored_line(&named("t")));
        assert_eq!(table["area"], clean);
        let table_id = int_of(table, "id");
        owner.submit(
            &format!("/admin/tables/{table_id}"),
            &[("name", &named("u")), ("area", text)],
        );
        let tables = owner.api("/api/admin/tables", &owner_token);
        let table = find(&tables, "name", stored_line(&named("u")));
        pages.push(format!(
            "/t/{}?s={}",
            str_of(table, "code"),
            str_of(table, "secret")
        ));

        // A shopkeeper registering through the page; the owner approves.
        let registered = customer.post(
            "/register",
            &[
                ("shop_name", &named("s")),
                ("description", text),
                ("name", text),
                ("email", &format!("form{n}@example.com")),
                ("password", "hostile-password"),
            ],
        );
        assert!(
            [200, 303].contains(&registered.status),
            "registration refused: {registered:?}"
        );
        // The same email again (from another address: registrations are
        // rate-limited per address): refused, the form shown again inert.
        let other: std::net::IpAddr = [127, 0, 0, 2 + n as u8].into();
        let form = common::request_from(other, server.addr, "GET", "/register", &[], b"");
        let body = format!(
            "csrf={}&shop_name={t}&description={t}&name={t}&email=form{n}%40example.com&password=hostile-password",
            form_encode(&hidden(&form.text(), "csrf")),
            t = form_encode(text),
        );
        let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
        let again = common::request_from(
            other,
            server.addr,
            "POST",
            "/register",
            &form_type,
            body.as_bytes(),
        );
        assert!(
            again.status == 200 || (400..500).contains(&again.status),
            "{again:?}"
        );
        assert_inert_page("/register", &again);
        assert!(again.text().contains("class=\"problem\""), "{again:?}");
        let shops = owner.api("/api/admin/shops", &owner_token);
        let new_shop = find(&shops, "name", stored_line(&named("s")));
        assert_eq!(new_shop["description"], clean);
        owner.submit(
            &format!("/admin/shops/{}/approve", int_of(new_shop, "id")),
            &[],
        );

        // The shop's profile, and where its form goes back to: a path
        // of this site that a Location header can carry, else the board.
        shop.submit(
            "/shop/profile",
            &[("name", &named("p")), ("description", text)],
        );
        let shops = owner.api("/api/admin/shops", &owner_token);
        assert_eq!(find(&shops, "id", 1)["description"], clean);
        for back in [
            format!("/shop/menu?{text}"),
            format!("/{text}"),
            text.to_string(),
        ] {
            let response = shop.post("/shop/profile", &[("open", "1"), ("back", &back)]);
            assert_eq!(response.status, 303, "{back:?}: {response:?}");
            let to = response.header("location").unwrap_or("");
            assert!(
                to.starts_with('/')
                    && !to.starts_with("//")
                    && to.bytes().all(|b| b.is_ascii_graphic()),
                "{back:?} -> {to:?}"
            );
        }
        // The shop's menu: category, item (and its category by name),
        // option group and option, ingredient and waste, station, staff,
        // promotion.
        shop.submit("/shop/categories", &[("name", &named("c"))]);
        let categories = shop.api("/api/shop/categories", &shop_token);
        let category_id = int_of(find(&categories, "name", stored_line(&named("c"))), "id");
        shop.submit(
            &format!("/shop/categories/{category_id}"),
            &[("name", &named("d"))],
        );
        let categories = shop.api("/api/shop/categories", &shop_token);
        find(&categories, "name", stored_line(&named("d")));
        shop.submit(
            "/shop/items",
            &[
                ("name", &named("i")),
                ("price", "1.00"),
                ("category", &named("k")),
                ("description", text),
            ],
        );
        let items = shop.api("/api/shop/items", &shop_token);
        let new_item = find(&items, "name", stored_line(&named("i")));
        assert_eq!(new_item["description"], clean);
        let item_id = int_of(new_item, "id");
        let categories = shop.api("/api/shop/categories", &shop_token);
        find(&categories, "name", stored_line(&named("k")));
        shop.submit(
            &format!("/shop/items/{item_id}"),
            &[("name", &named("j")), ("description", text)],
        );
        let items = shop.api("/api/shop/items", &shop_token);
        find(&items, "name", stored_line(&named("j")));
        shop.submit(
            "/shop/option-groups",
            &[
                ("name", &named("g")),
                ("min", "0"),
                ("max", "1"),
                ("option_name", text),
                ("option_price", ""),
            ],
        );
        let groups = shop.api("/api/shop/option-groups", &shop_token);
        let group = find(&groups, "name", stored_line(&named("g")));
        assert_eq!(group["options"][0]["name"], clean);
        shop.submit(
            "/shop/ingredients",
            &[("name", &named("n")), ("stock", "10"), ("low_stock", "0")],
        );
        let ingredients = shop.api("/api/shop/ingredients", &shop_token);
        let ingredient_id = int_of(find(&ingredients, "name", stored_line(&named("n"))), "id");
        shop.submit(
            &format!("/shop/ingredients/{ingredient_id}"),
            &[("name", &named("m")), ("low_stock", "1")],
        );
        shop.submit(
            &format!("/shop/ingredients/{ingredient_id}/waste"),
            &[("qty", "1"), ("reason", text)],
        );
        let waste = shop.api("/api/shop/waste", &shop_token);
        assert!(
            waste.to_string().contains(&json!(clean).to_string()),
            "{waste}"
        );
        shop.submit("/shop/stations", &[("name", &named("w"))]);
        let stations = shop.api("/api/shop/stations", &shop_token);
        let station_id = int_of(
            find(&stations["stations"], "name", stored_line(&named("w"))),
            "id",
        );
        shop.submit(
            &format!("/shop/stations/{station_id}"),
            &[("name", &named("x"))],
        );
        shop_pages.push(format!("/shop/stations/{station_id}"));
        shop_pages.push(format!("/shop/items/{item_id}"));
        shop.submit(
            "/shop/staff",
            &[
                ("name", text),
                ("username", &format!("formstaff{n}")),
                ("password", "hostile-password"),
            ],
        );
        let staff = shop.api("/api/shop/staff", &shop_token);
        find(&staff, "name", clean.as_str());
        shop.submit("/shop/promotions", &[("text", text)]);
        let promotions = shop.api("/api/shop/promotions", &shop_token);
        find(&promotions, "text", clean.as_str());
        // Promo codes are letters and digits: the rest is refused.
        let code = shop.post(
            "/shop/promo-codes",
            &[("code", text), ("kind", "percent"), ("value", "10")],
        );
        refused_page("/shop/promo-codes", &code, 400);

        // A customer: an item page's line (note, and the name shown on a
        // shared cart), the cart across shops and its checkout.
        let item_page = customer.page(&format!("/shops/1/items/{item_id}"));
        let mut line: Vec<(String, String)> = hidden_fields(&item_page, "/cart/add");
        line.retain(|(k, _)| k != "csrf");
        line.extend(
            [("qty", "1"), ("note", text), ("by", text)].map(|(k, v)| (k.into(), v.into())),
        );
        let line: Vec<(&str, &str)> = line.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let cart = customer.submit("/cart/add", &line);
        let cart_page = customer.page(&cart);
        assert!(cart_page.contains(&escaped(&clean)), "{cart}: {cart_page}");
        let mut checkout: Vec<(String, String)> = hidden_fields(&cart_page, "/checkout");
        checkout.retain(|(k, _)| k != "csrf");
        checkout.extend(
            [("customer_name", text), ("note", text), ("promo_1", text)]
                .map(|(k, v)| (k.into(), v.into())),
        );
        let fields: Vec<(&str, &str)> = checkout
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // The hostile promo code is refused on the cart page itself.
        let refused = customer.post("/checkout", &fields);
        assert!(refused.status < 500, "{refused:?}");
        assert_inert_page("/checkout", &refused);
        let fields: Vec<(&str, &str)> = fields
            .into_iter()
            .filter(|(k, _)| *k != "promo_1")
            .collect();
        let placed = customer.submit("/checkout", &fields);
        pages.push(placed);

        // The one-shop cart page's order form: name, note, line notes;
        // then the customer cancels with a reason, and the shop another.
        for cancel_as_customer in [true, false] {
            let cart_page = customer.page(&format!("/cart?shop=1&l={item_id}:1"));
            let mut order: Vec<(String, String)> = hidden_fields(&cart_page, "/orders");
            order.retain(|(k, _)| k != "csrf");
            for (k, v) in order.iter_mut() {
                if k == "item_note" {
                    *v = text.to_string();
                }
            }
            order.extend(
                [("customer_name", text), ("note", text)].map(|(k, v)| (k.into(), v.into())),
            );
            let fields: Vec<(&str, &str)> = order
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let to = customer.submit("/orders", &fields);
            let (id, token) = to
                .strip_prefix("/o/")
                .and_then(|rest| rest.split_once("?t="))
                .unwrap_or_else(|| panic!("placed to {to}"));
            let id: i64 = id.parse().unwrap();
            let placed = server
                .get(&format!("/api/orders/{id}"), Some(token))
                .expect(200);
            assert_eq!(placed["customer_name"], clean);
            assert_eq!(placed["note"], clean);
            assert_eq!(placed["items"][0]["note"], clean);
            if cancel_as_customer {
                customer.submit(
                    &format!("/o/{id}/cancel"),
                    &[("t", token), ("reason", text)],
                );
            } else {
                shop.submit(
                    &format!("/shop/orders/{id}/status"),
                    &[("status", "cancelled"), ("reason", text)],
                );
            }
            let cancelled = server
                .get(&format!("/api/orders/{id}"), Some(token))
                .expect(200);
            assert!(
                cancelled.to_string().contains(&json!(clean).to_string()),
                "{cancelled}"
            );
            let page = customer.page(&to);
            assert!(page.contains(&escaped(&clean)), "{to}: {page}");
            pages.push(to);
        }

        // Signing in with it: refused with a message, shown back escaped.
        let login = customer.post("/login", &[("email", text), ("password", text)]);
        assert!(
            (400..500).contains(&login.status) || login.status == 200,
            "{login:?}"
        );
        assert_inert_page("/login", &login);
    }

    // Every page that shows any of it, to whoever may see it.
    for path in &pages {
        customer.page(path);
    }
    for path in &shop_pages {
        shop.page(path);
    }
    for path in owner_pages {
        owner.page(path);
    }
}

#[test]
fn form_text_that_is_not_utf8_is_refused_as_in_json() {
    let server = Server::start_demo();
    let shop_token = server.login(SHOP1, PASSWORD);
    let shop = Browser::open(&server, Some(&shop_token), "/shop/promos");
    let csrf = form_encode(&shop.csrf);
    for body in [
        format!("csrf={csrf}&text=Half%FF%FEprice").into_bytes(),
        [
            format!("csrf={csrf}&text=Half").as_bytes(),
            b"\xff\xfe",
            b"price",
        ]
        .concat(),
        format!("csrf={csrf}&text=Half+price%C3").into_bytes(),
    ] {
        let response = shop.post_raw("/shop/promotions", &body);
        refused_page("/shop/promotions", &response, 400);
    }
    let promotions = shop.api("/api/shop/promotions", &shop_token);
    assert!(!promotions.to_string().contains('\u{FFFD}'), "{promotions}");
    // The same refusal a customer's form gets.
    let customer = Browser::open(&server, None, "/login");
    let csrf = form_encode(&customer.csrf);
    let response = customer.post_raw(
        "/login",
        format!("csrf={csrf}&email=a%FF&password=x").as_bytes(),
    );
    refused_page("/login", &response, 400);
}
