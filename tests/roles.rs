//! Who may do what: every shop and admin endpoint asked by each kind of
//! caller, every answer's status checked. Rights are enforced on the
//! server per request, whatever a page shows.

mod common;

use common::{unique_ref, Response, Server, OWNER, PASSWORD, SHOP1, SHOP2};
use serde_json::{json, Value};
use std::cell::Cell;

/// The callers, in the order of each row's expected statuses.
const CALLERS: [&str; 7] = [
    "logged out",
    "customer",
    "staff",
    "keeper",
    "keeper of another shop",
    "owner in the shop",
    "owner without a shop",
];

struct Table {
    server: Server,
    /// Bearer tokens of the callers (none when logged out).
    tokens: [Option<String>; 7],
    keeper: String,
    /// An item of shop 1 that orders take without options.
    item: i64,
    counter: Cell<u32>,
    /// A station of shop 1 that `item` is routed to, made when first asked.
    station: Cell<i64>,
    /// A station made to be deleted that is not yet.
    spare_station: Cell<i64>,
}

impl Table {
    fn unique(&self) -> u32 {
        self.counter.set(self.counter.get() + 1);
        self.counter.get()
    }

    /// A fresh order of shop 1, moved by its keeper through `stages`.
    fn order(&self, stages: &[&str]) -> i64 {
        let (id, _, _) = self.server.place_ok(1, &[(self.item, 1)]);
        for stage in stages {
            self.server
                .move_order(&self.keeper, id, stage, "")
                .assert_status(200);
        }
        id
    }

    fn keeper_made(&self, path: &str, body: Value) -> i64 {
        self.server
            .post(path, Some(&self.keeper), &body)
            .expect(201)["id"]
            .as_i64()
            .expect("an id")
    }

    fn item(&self) -> i64 {
        let name = format!("Thing {}", self.unique());
        self.keeper_made(
            "/api/shop/items",
            json!({ "name": name, "price_cents": 100 }),
        )
    }

    fn category(&self) -> i64 {
        let name = format!("Cat {}", self.unique());
        self.keeper_made("/api/shop/categories", json!({ "name": name }))
    }

    fn group(&self) -> i64 {
        let name = format!("Group {}", self.unique());
        self.keeper_made(
            "/api/shop/option-groups",
            json!({ "name": name, "min": 0, "max": 1,
                    "options": [{ "name": "Extra", "price_delta_cents": 50 }] }),
        )
    }

    fn ingredient(&self) -> i64 {
        let name = format!("Ingredient {}", self.unique());
        self.keeper_made(
            "/api/shop/ingredients",
            json!({ "name": name, "stock": 100 }),
        )
    }

    fn station(&self) -> i64 {
        let name = format!("Station {}", self.unique());
        self.keeper_made("/api/shop/stations", json!({ "name": name }))
    }

    /// A station for a row that deletes it: the last one made for such a
    /// row while it is still there, so the callers refused do not pile up
    /// stations towards the shop's limit.
    fn station_to_delete(&self) -> i64 {
        let list = self
            .server
            .get("/api/shop/stations", Some(&self.keeper))
            .expect(200);
        let spare = self.spare_station.get();
        if list["stations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == spare)
        {
            return spare;
        }
        let station = self.station();
        self.spare_station.set(station);
        station
    }

    fn routed_station(&self) -> i64 {
        if self.station.get() == 0 {
            let station = self.station();
            self.server
                .call(
                    "PUT",
                    "/api/shop/stations/routes",
                    Some(&self.keeper),
                    Some(&json!({ "item_id": self.item, "station_id": station })),
                )
                .assert_status(200);
            self.station.set(station);
        }
        self.station.get()
    }

    /// A fresh order of shop 1 that its routed station has marked done.
    fn done_at_station(&self) -> String {
        let (station, order) = (self.routed_station(), self.order(&[]));
        let path = format!("/api/shop/orders/{order}/stations/{station}");
        self.server
            .post(&format!("{path}/done"), Some(&self.keeper), &json!({}))
            .assert_status(200);
        format!("{path}/undo")
    }

    fn staff_member(&self) -> i64 {
        let username = format!("hand{}", self.unique());
        self.server
            .post(
                "/api/shop/staff",
                Some(&self.keeper),
                &json!({ "username": username, "name": "Hand", "password": PASSWORD }),
            )
            .expect(201)["user_id"]
            .as_i64()
            .expect("a user id")
    }

    /// A form token issued to the caller at `who`, from the login page
    /// every caller may see.
    fn csrf(&self, who: usize) -> String {
        let page = self
            .server
            .get("/login", self.tokens[who].as_deref())
            .text();
        let field = "name=\"csrf\" value=\"";
        let start = page.find(field).expect("a form token") + field.len();
        page[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Sends the request as the caller at `who`; the owner names shop 1.
    fn send(&self, who: usize, method: &str, path: &str, body: &Body) -> Response {
        let path = if who == 5 {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}shop=1")
        } else {
            path.to_string()
        };
        let auth = self.tokens[who].as_ref().map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let bytes = match body {
            Body::None => Vec::new(),
            Body::Json(value) => {
                headers.push(("Content-Type", "application/json"));
                value.to_string().into_bytes()
            }
            Body::NewStaff => {
                headers.push(("Content-Type", "application/json"));
                let username = format!("crew{}", self.unique());
                json!({ "username": username, "name": "Crew", "password": PASSWORD })
                    .to_string()
                    .into_bytes()
            }
            Body::NewStation => {
                headers.push(("Content-Type", "application/json"));
                let name = format!("New station {}", self.unique());
                json!({ "name": name }).to_string().into_bytes()
            }
            Body::Form(fields) => {
                headers.push(("Content-Type", "application/x-www-form-urlencoded"));
                let mut form = format!("csrf={}", self.csrf(who));
                for (key, value) in fields(self) {
                    form += &format!("&{key}={}", value.replace(' ', "+"));
                }
                form.into_bytes()
            }
            Body::Photo => {
                headers.push(("Content-Type", "image/jpeg"));
                let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
                jpeg.extend_from_slice(&[0u8; 64]);
                jpeg
            }
        };
        self.server.request(method, &path, &headers, &bytes)
    }
}

enum Body {
    None,
    Json(Value),
    /// A new staff member with a login of their own.
    NewStaff,
    /// A station with a name of its own.
    NewStation,
    /// A form's fields (made afresh for each caller), sent with a CSRF
    /// token issued to that caller.
    Form(fn(&Table) -> Vec<(&'static str, String)>),
    Photo,
}

/// One endpoint: how to make its path (fresh objects where the request
/// changes or removes them), its body, and what each caller gets.
struct Row {
    method: &'static str,
    path: Box<dyn Fn(&Table) -> String>,
    body: Body,
    expect: [u16; 7],
}

fn row(
    method: &'static str,
    path: impl Fn(&Table) -> String + 'static,
    body: Body,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        path: Box::new(path),
        body,
        expect,
    }
}

fn fixed(path: &'static str) -> impl Fn(&Table) -> String {
    move |_| path.to_string()
}

fn setup() -> Table {
    let server = Server::start_demo();
    // Every order here comes from one address.
    server.set_venue(&json!({ "max_open_orders_per_device": 1000 }));
    let keeper = server.login(SHOP1, PASSWORD);
    let cook_name = format!("cook{}", &unique_ref()[..8].to_lowercase());
    server
        .post(
            "/api/shop/staff",
            Some(&keeper),
            &json!({ "username": cook_name, "name": "Cook", "password": PASSWORD }),
        )
        .expect(201);
    let cook = server.login(&cook_name, PASSWORD);
    let other = server.login(SHOP2, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let (_, customer, _) = server.place_ok(1, &[(orderable(&server), 1)]);
    let item = orderable(&server);
    Table {
        tokens: [
            None,
            Some(customer),
            Some(cook),
            Some(keeper.clone()),
            Some(other),
            Some(owner.clone()),
            Some(owner),
        ],
        server,
        keeper,
        item,
        counter: Cell::new(0),
        station: Cell::new(0),
        spare_station: Cell::new(0),
    }
}

/// An item of shop 1 that can be ordered now without choosing options.
fn orderable(server: &Server) -> i64 {
    server
        .menu(1)
        .iter()
        .find(|i| {
            i["available"] == true
                && i["option_groups"]
                    .as_array()
                    .is_some_and(|g| g.iter().all(|g| g["min"] == 0))
        })
        .and_then(|i| i["id"].as_i64())
        .expect("an item ordered without options")
}

#[test]
fn every_caller_gets_what_their_role_allows_on_every_endpoint() {
    use Body::{Form, Json, NewStaff, NewStation, None as Empty, Photo};
    let t = setup();
    // Callers: out, customer, staff, keeper, other keeper, owner, owner without a shop.
    let read = [401, 401, 200, 200, 200, 200, 403];
    let keeper_reads = [401, 401, 403, 200, 200, 200, 403];
    let board_move = [401, 401, 200, 200, 404, 200, 403];
    let keeper_edit = [401, 401, 403, 200, 404, 200, 403];
    let keeper_create = [401, 401, 403, 201, 201, 201, 403];
    let keeper_delete = [401, 401, 403, 204, 404, 204, 403];
    let owner_only = [401, 401, 403, 403, 403, 200, 200];
    // Pages send people who are not logged in to the login form.
    let page = [303, 303, 200, 200, 200, 200, 403];
    // A keeper's form: a redirect when done, login for the logged out.
    let form_edit = [303, 303, 403, 303, 404, 303, 403];
    let rows = vec![
        // The board and the counter
        row("GET", fixed("/api/shop/orders"), Empty, read),
        row(
            "POST",
            |t| format!("/api/shop/orders/{}/status", t.order(&[])),
            Json(json!({ "status": "accepted" })),
            board_move,
        ),
        row(
            "POST",
            |t| format!("/api/shop/orders/{}/recall", t.order(&["accepted"])),
            Empty,
            board_move,
        ),
        row(
            "POST",
            |t| format!("/api/shop/orders/{}/payment", t.order(&[])),
            Json(json!({ "method": "cash" })),
            board_move,
        ),
        row(
            "POST",
            |t| {
                let id = t.order(&[]);
                let path = format!("/api/shop/orders/{id}/payment");
                t.server
                    .post(&path, Some(&t.keeper), &json!({ "method": "card" }))
                    .assert_status(200);
                format!("/api/shop/orders/{id}/refunds")
            },
            Json(json!({ "amount_cents": 1, "reason": "cold" })),
            keeper_edit,
        ),
        row("GET", fixed("/api/shop/payment-methods"), Empty, read),
        row(
            "PUT",
            fixed("/api/shop/payment-methods"),
            Json(json!({ "methods": ["cash", "card", "upi"] })),
            [401, 401, 403, 200, 200, 200, 403],
        ),
        row(
            "POST",
            fixed("/api/shop/pause"),
            Json(json!({ "until": null })),
            [401, 401, 403, 200, 200, 200, 403],
        ),
        // Staff
        row("GET", fixed("/api/shop/staff"), Empty, keeper_reads),
        row("POST", fixed("/api/shop/staff"), NewStaff, keeper_create),
        row(
            "DELETE",
            |t| format!("/api/shop/staff/{}", t.staff_member()),
            Empty,
            keeper_delete,
        ),
        // The menu: the sold-out switches are the counter's, the rest the keeper's
        row("GET", fixed("/api/shop/items"), Empty, read),
        row(
            "POST",
            fixed("/api/shop/items"),
            Json(json!({ "name": "Role test item", "price_cents": 100 })),
            keeper_create,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/items/{}", t.item),
            Json(json!({ "price_cents": 999 })),
            keeper_edit,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/items/{}", t.item),
            Json(json!({ "available": true })),
            board_move,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/items/{}", t.item()),
            Empty,
            keeper_delete,
        ),
        row(
            "POST",
            fixed("/api/shop/items-available"),
            Json(json!({ "items": [], "available": true })),
            read,
        ),
        row("GET", fixed("/api/shop/categories"), Empty, read),
        row(
            "POST",
            fixed("/api/shop/categories"),
            Json(json!({ "name": "Role test" })),
            keeper_create,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/categories/{}", t.category()),
            Json(json!({ "position": 3 })),
            keeper_edit,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/categories/{}", t.category()),
            Empty,
            keeper_edit,
        ),
        row("GET", fixed("/api/shop/option-groups"), Empty, read),
        row(
            "POST",
            fixed("/api/shop/option-groups"),
            Json(json!({ "name": "Role group", "min": 0, "max": 1, "options": [] })),
            keeper_create,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/option-groups/{}", t.group()),
            Json(json!({ "name": "Renamed" })),
            keeper_edit,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/option-groups/{}", t.group()),
            Empty,
            keeper_edit,
        ),
        row("GET", fixed("/api/shop/ingredients"), Empty, read),
        row(
            "POST",
            fixed("/api/shop/ingredients"),
            Json(json!({ "name": "Role flour", "stock": 5 })),
            keeper_create,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/ingredients/{}", t.ingredient()),
            Json(json!({ "stock": 50 })),
            board_move,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/ingredients/{}", t.ingredient()),
            Json(json!({ "name": "Renamed" })),
            keeper_edit,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/ingredients/{}", t.ingredient()),
            Empty,
            keeper_edit,
        ),
        row(
            "POST",
            |t| format!("/api/shop/ingredients/{}/waste", t.ingredient()),
            Json(json!({ "qty": 1, "reason": "dropped" })),
            board_move,
        ),
        row("GET", fixed("/api/shop/waste"), Empty, read),
        row(
            "PUT",
            |t| format!("/api/shop/items/{}/photo", t.item),
            Photo,
            keeper_edit,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/items/{}/photo", t.item),
            Empty,
            keeper_edit,
        ),
        // Pages
        row("GET", fixed("/shop"), Empty, page),
        row("GET", fixed("/shop/menu"), Empty, page),
        row(
            "GET",
            |t| format!("/shop/items/{}", t.item),
            Empty,
            [303, 303, 200, 200, 404, 200, 403],
        ),
        row(
            "GET",
            fixed("/shop/staff"),
            Empty,
            [303, 303, 403, 200, 200, 200, 403],
        ),
        // Kitchen stations: the keeper sets them up, staff work them
        row("GET", fixed("/api/shop/stations"), Empty, read),
        row(
            "POST",
            fixed("/api/shop/stations"),
            NewStation,
            keeper_create,
        ),
        // (before `item` is routed to a station: item 1 may be it)
        row(
            "PUT",
            fixed("/api/shop/stations/routes"),
            Json(json!({ "item_id": 1, "station_id": null })),
            keeper_edit,
        ),
        row(
            "PATCH",
            |t| format!("/api/shop/stations/{}", t.routed_station()),
            Json(json!({ "position": 1 })),
            keeper_edit,
        ),
        row(
            "DELETE",
            |t| format!("/api/shop/stations/{}", t.station_to_delete()),
            Empty,
            keeper_delete,
        ),
        row(
            "GET",
            |t| format!("/api/shop/stations/{}/orders", t.routed_station()),
            Empty,
            board_move,
        ),
        row(
            "POST",
            |t| {
                let station = t.routed_station();
                format!("/api/shop/orders/{}/stations/{station}/done", t.order(&[]))
            },
            Empty,
            board_move,
        ),
        row("POST", |t| t.done_at_station(), Empty, board_move),
        row(
            "GET",
            |t| format!("/shop/stations/{}", t.routed_station()),
            Empty,
            [303, 303, 200, 200, 404, 200, 403],
        ),
        // The menu editor's station forms answer with a redirect
        row(
            "POST",
            fixed("/shop/stations"),
            Form(|t| vec![("name", format!("Form station {}", t.unique()))]),
            [303, 303, 403, 303, 303, 303, 403],
        ),
        row(
            "POST",
            |t| format!("/shop/stations/{}", t.routed_station()),
            Form(|t| vec![("name", format!("Renamed {}", t.unique()))]),
            form_edit,
        ),
        row(
            "POST",
            |t| format!("/shop/stations/{}/delete", t.station_to_delete()),
            Form(|_| vec![]),
            form_edit,
        ),
        row(
            "POST",
            |t| format!("/shop/items/{}/station", t.item()),
            Form(|t| vec![("station_id", t.routed_station().to_string())]),
            form_edit,
        ),
        row(
            "POST",
            fixed("/shop/stations/route-category"),
            Form(|t| {
                vec![
                    ("category_id", t.category().to_string()),
                    ("station_id", String::new()),
                ]
            }),
            form_edit,
        ),
        // The venue owner's
        row("GET", fixed("/api/admin/shops"), Empty, owner_only),
        row("GET", fixed("/api/admin/venue"), Empty, owner_only),
        row(
            "PATCH",
            fixed("/api/admin/venue"),
            Json(json!({})),
            owner_only,
        ),
        row(
            "POST",
            fixed("/api/admin/shops/1/approve"),
            Empty,
            owner_only,
        ),
    ];
    let mut wrong = Vec::new();
    for r in &rows {
        for (who, expected) in r.expect.iter().enumerate() {
            let path = (r.path)(&t);
            let answer = t.send(who, r.method, &path, &r.body);
            if answer.status != *expected {
                wrong.push(format!(
                    "{} {path} as {}: {} (expected {expected}) {}",
                    r.method,
                    CALLERS[who],
                    answer.status,
                    answer.text().chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong cells:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
