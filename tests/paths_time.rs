//! Paths are routed on their segments before each is decoded, and the
//! venue's time zone (a POSIX TZ rule) is what pages show times in.

mod common;

use common::{Server, OWNER, PASSWORD};
use serde_json::json;

#[test]
fn an_encoded_slash_stays_inside_its_segment() {
    let server = Server::start_demo();
    server.get("/api/shops/1/menu", None).assert_status(200);
    server.get("/shops/1", None).assert_status(200);
    for path in [
        "/api/shops/1%2Fmenu",
        "/api/shops/1%2fmenu",
        "/api%2Fshops",
        "/shops/1%2F2",
        "/shops%2F1",
    ] {
        server.get(path, None).assert_status(404);
    }
    // Each segment is decoded on its own: an encoded digit is a digit.
    server.get("/api/shops/%31/menu", None).assert_status(200);
    server.get("/%73hops/1", None).assert_status(200);
}

#[test]
fn a_plus_in_a_path_is_a_plus_and_ids_are_digits_only() {
    let server = Server::start_demo();
    for path in [
        "/api/shops/+1/menu",
        "/api/shops/1+/menu",
        "/api/shops/%2B1/menu",
        "/api/shops/%201/menu",
        "/shops/+1",
    ] {
        server.get(path, None).assert_status(404);
    }
}

#[test]
fn percent_junk_in_paths_gets_a_clean_not_found() {
    let server = Server::start_demo();
    for path in [
        "/%",
        "/%%",
        "/%zz/%4",
        "/shops/%FF",
        "/shops/%C3",
        "/o/%00",
        "/static/%2E%2E%2Fsrc%2Fmain.rs",
    ] {
        server.get(path, None).assert_status(404);
    }
    let api = server.get("/api/%/x", None);
    assert_eq!(api.expect_error(404), "page not found");
    // The server is unharmed.
    server.get("/api/shops", None).assert_status(200);
}

/// "HH:MM" of a UTC millisecond timestamp `minutes_east` of UTC, computed
/// here without the server's code.
fn wall_clock(ms: i64, minutes_east: i64) -> String {
    let minutes = (ms.div_euclid(60_000) + minutes_east).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[test]
fn the_owner_sets_the_venue_zone_and_pages_show_times_in_it() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    let venue = server.get("/api/admin/venue", Some(&owner)).expect(200);
    let router_has_a_zone = ["/etc/TZ", "/etc/config/system"]
        .iter()
        .any(|f| std::path::Path::new(f).exists());
    if !router_has_a_zone {
        assert_eq!(venue["time_zone"], "UTC");
        assert_eq!(venue["time_zone_rule"], "UTC0");
    }

    let kathmandu = json!({ "time_zone": "Asia/Kathmandu", "time_zone_rule": "<+0545>-5:45" });
    let venue = server.set_venue(&kathmandu);
    assert_eq!(venue["time_zone"], "Asia/Kathmandu");
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, order) = server.place_ok(1, &[(item, 1)]);
    let placed_at = order["created_at"].as_i64().expect("created_at");
    let page = server.get(&format!("/o/{id}?t={token}"), None).text();
    let shown = format!("Placed {}", wall_clock(placed_at, 5 * 60 + 45));
    assert!(page.contains(&shown), "{shown} not in {page}");

    let admin = server.get("/admin", Some(&owner)).text();
    // The page escapes "/" in attributes.
    assert!(admin.contains("value=\"Asia&#x2f;Kathmandu\""), "{admin}");
    assert!(admin.contains("value=\"&lt;+0545&gt;-5:45\""), "{admin}");

    // A rule that does not parse changes nothing.
    let bad = json!({ "time_zone": "Europe/Berlin", "time_zone_rule": "CET-1CEST" });
    server
        .patch("/api/admin/venue", Some(&owner), &bad)
        .expect_error(400);
    let venue = server.get("/api/admin/venue", Some(&owner)).expect(200);
    assert_eq!(venue["time_zone_rule"], "<+0545>-5:45");

    // What an older client sends still works: a fixed offset.
    let venue = server.set_venue(&json!({ "utc_offset_minutes": 60 }));
    assert_eq!(venue["time_zone"], "UTC+01:00");
    let page = server.get(&format!("/o/{id}?t={token}"), None).text();
    let shown = format!("Placed {}", wall_clock(placed_at, 60));
    assert!(page.contains(&shown), "{shown} not in {page}");

    // A new name alone takes its rule from the name, not the old zone's.
    let venue = server.set_venue(&json!({ "time_zone": "UTC" }));
    assert_eq!(venue["time_zone_rule"], "UTC0");
}

#[test]
fn the_venue_zone_survives_a_restart() {
    let mut server = Server::start_demo();
    let berlin =
        json!({ "time_zone": "Europe/Berlin", "time_zone_rule": "CET-1CEST,M3.5.0,M10.5.0/3" });
    server.set_venue(&berlin);
    server.restart();
    let owner = server.login(OWNER, PASSWORD);
    let venue = server.get("/api/admin/venue", Some(&owner)).expect(200);
    assert_eq!(venue["time_zone"], "Europe/Berlin");
    assert_eq!(venue["time_zone_rule"], "CET-1CEST,M3.5.0,M10.5.0/3");
}
