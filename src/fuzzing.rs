//! Entry points of the cargo-fuzz targets in `fuzz/`: each takes any bytes
//! through the parsers a client reaches and checks what must hold. Built
//! only with `--cfg fuzzing` (cargo fuzz sets it), so none of it is in the
//! binary.

use crate::accounts::{Credentials, NewStaff, Registration};
use crate::http::request::{id, parse_urlencoded, path_segments, percent_decode, Form, Request};
use crate::http::routes::{admin, customer, shop};
use crate::ordering::catalog::{ProfilePatch, Search};
use crate::ordering::menu_edit::{
    BulkAvailability, CategoryPatch, GroupPatch, IngredientPatch, ItemPatch, OptionPatch,
    WasteReport,
};
use crate::ordering::orders::{validate_request, LineRequest, OrderRequest};
use crate::ordering::payments::{PaymentRequest, RefundRequest};
use crate::support::fields::{strict_json_object, Fields, FromFields};
use crate::support::money::MoneyFormat;
use crate::support::text::percent_encode;
use crate::venue::reports::{
    csv, csv_field, hour_chart_svg, MethodTotal, Report, StationDay, TopItem, Waste,
};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, COOKIE};
use hyper::{HeaderMap, Method};

/// Calls `$each::<T>()` for every type a request body is read as.
macro_rules! every_body {
    ($each:ident($($arg:expr),*)) => {
        $each::<OrderRequest>($($arg),*);
        $each::<LineRequest>($($arg),*);
        $each::<customer::CancelRequest>($($arg),*);
        $each::<shop::StatusChange>($($arg),*);
        $each::<shop::PauseRequest>($($arg),*);
        $each::<shop::MethodsRequest>($($arg),*);
        $each::<shop::menu::Move>($($arg),*);
        $each::<shop::menu::RecipeForm>($($arg),*);
        $each::<shop::menu::GroupForm>($($arg),*);
        $each::<shop::menu::OptionSwitch>($($arg),*);
        $each::<admin::VenuePatch>($($arg),*);
        $each::<ItemPatch>($($arg),*);
        $each::<BulkAvailability>($($arg),*);
        $each::<CategoryPatch>($($arg),*);
        $each::<OptionPatch>($($arg),*);
        $each::<GroupPatch>($($arg),*);
        $each::<IngredientPatch>($($arg),*);
        $each::<WasteReport>($($arg),*);
        $each::<PaymentRequest>($($arg),*);
        $each::<RefundRequest>($($arg),*);
        $each::<Search>($($arg),*);
        $each::<ProfilePatch>($($arg),*);
        $each::<NewStaff>($($arg),*);
        $each::<Credentials>($($arg),*);
        $each::<Registration>($($arg),*);
    };
}

/// `data` as a request: its first line the target (path and query), its
/// second the `Cookie` header, its third `Authorization`, the rest the body.
pub fn http_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let target = parts.next().unwrap_or("");
    let cookie = parts.next().unwrap_or("");
    let authorization = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments = path_segments(path);
    for segment in &segments {
        assert!(!segment.is_empty());
        if let Ok(n) = id(segment) {
            assert!(n > 0 && n.to_string() == segment.trim_start_matches('0'));
        }
    }
    // Only `%` and two hex digits is an escape: other text reads as sent.
    let escapes = query
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    if !escapes {
        assert_eq!(percent_decode(query), query.replace('+', " "));
    }
    let query = parse_urlencoded(query);
    for (key, value) in &query {
        assert_eq!(percent_decode(&percent_encode(key)), *key);
        assert_eq!(percent_decode(&percent_encode(value)), *value);
    }
    let mut headers = HeaderMap::new();
    for (name, value) in [(COOKIE, cookie), (AUTHORIZATION, authorization)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let req = Request {
        method: Method::POST,
        segments,
        query,
        headers,
        body: Bytes::copy_from_slice(body.as_bytes()),
        peer: ([127, 0, 0, 1], 1).into(),
        local: None,
    };
    let _ = req.is_api();
    let _ = req.int_param("since", 0);
    let _ = req.int_param("wait", 0);
    for name in [
        crate::http::identity::STAFF_COOKIE,
        crate::http::identity::CUSTOMER_COOKIE,
    ] {
        if let Some(value) = req.cookie(name) {
            assert!(!value.contains(';'));
        }
    }
    if let Some(token) = req.bearer() {
        assert_eq!(token, token.trim());
    }
    if let Ok(form) = req.form() {
        form_as_each(&form);
    }
}

fn form_as_each(form: &Form) {
    fn parse<T: FromFields>(form: &Form) {
        let _ = form.parse::<T>();
    }
    every_body!(parse(form));
    if let Ok(order) = form.parse::<OrderRequest>() {
        let _ = validate_request(&order);
    }
}

/// `data` as every JSON body type, and as every form body type.
pub fn bodies(data: &[u8]) {
    fn json<T: FromFields>(fields: &Fields) {
        let _ = T::from_fields(fields);
    }
    if let Ok(map) = strict_json_object(data) {
        let fields = Fields::json(&map);
        every_body!(json(&fields));
        if let Ok(order) = OrderRequest::from_fields(&fields) {
            let _ = validate_request(&order);
        }
    }
    form_as_each(&Form(parse_urlencoded(&String::from_utf8_lossy(data))));
}

/// `data` as the cart form's `ITEM:QTY[:OPT.OPT[:SEEN]]` lines (one a
/// line): whatever parses reads back the same from its own text.
pub fn order_lines(data: &[u8]) {
    for text in String::from_utf8_lossy(data).lines() {
        if let Ok(line) = LineRequest::parse(text) {
            let again = LineRequest::parse(&line.to_text()).expect("our own text parses");
            assert_eq!(
                (
                    again.item_id,
                    again.qty,
                    &again.options,
                    again.seen_price_cents
                ),
                (line.item_id, line.qty, &line.options, line.seen_price_cents)
            );
        }
    }
}

/// `data` as the names and figures of a report: the CSV keeps each name
/// in one quoted field, and the SVG chart lets no markup out of its title.
pub fn report_writers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let numbers: Vec<i64> = data
        .chunks(4)
        .map(|c| {
            i64::from(i32::from_le_bytes([
                c[0],
                *c.get(1).unwrap_or(&0),
                *c.get(2).unwrap_or(&0),
                *c.get(3).unwrap_or(&0),
            ]))
        })
        .collect();
    let number = |i: usize| numbers.get(i).copied().unwrap_or(0);
    let mut names = text.split('\n');
    let shop_name = names.next().unwrap_or("");
    let named = names.next().unwrap_or("");
    let report = Report {
        shop_id: None,
        from: "2026-01-01".into(),
        to: "2026-01-31".into(),
        orders: number(0),
        completed: number(1),
        cancelled: number(2),
        // Sums of many orders: beyond what one 32-bit figure holds.
        revenue_cents: number(3) * 1_000,
        average_order_cents: number(4),
        prep_average_ms: Some(number(5)),
        prep_p95_ms: None,
        top_items: names
            .map(|name| TopItem {
                name: name.into(),
                options: name.chars().rev().collect(),
                qty: number(6),
                revenue_cents: number(7),
            })
            .collect(),
        per_hour: std::array::from_fn(|hour| number(hour).abs() % 100_000),
        by_method: vec![MethodTotal {
            method: named.into(),
            amount_cents: number(8),
            tip_cents: number(9),
            payments: number(10),
        }],
        refunded_cents: number(11),
        waste: vec![Waste {
            shop: shop_name.into(),
            ingredient: named.into(),
            qty: number(12),
            entries: number(13),
        }],
        stations: vec![StationDay {
            station_id: number(14),
            station: named.into(),
            day: "2026-01-02".into(),
            items: number(15),
            median_ms: number(16),
            p95_ms: number(17),
        }],
    };
    let written = csv(&report, shop_name, &MoneyFormat::default());
    assert!(written.starts_with('\u{feff}'));
    for field in [shop_name, named]
        .into_iter()
        .chain(report.top_items.iter().map(|i| i.name.as_str()))
    {
        let quoted = csv_field(field);
        assert!(quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2);
        let inner = &quoted[1..quoted.len() - 1];
        assert!(
            !inner.replace("\"\"", "").contains('"'),
            "a lone quote ends the field"
        );
        assert!(written.contains(&quoted));
    }
    let svg = hour_chart_svg(&report.per_hour, &text);
    let opened = svg.matches('<').count();
    let fixed = hour_chart_svg(&report.per_hour, "");
    assert_eq!(
        opened,
        fixed.matches('<').count(),
        "the title opened markup"
    );
}
