//! The customer's menu page and menu JSON kept per shop, language and menu
//! version: `ETag`/`If-None-Match` answered with 304, a sold-out switch and
//! a language change seen by the next request, and nothing of one client
//! (its order token, its cart) served to another.

mod common;

use common::{Response, Server, PASSWORD, SHOP1};
use serde_json::json;

fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> Response {
    let response = server.request("GET", path, headers, b"");
    assert_eq!(response.status, 200, "{path}: {response:?}");
    response
}

fn etag(response: &Response) -> String {
    response.header("etag").expect("an ETag").to_string()
}

#[test]
fn a_matching_etag_gets_304_and_another_gets_the_page() {
    let server = Server::start_demo();
    for path in ["/shops/1", "/api/shops/1/menu", "/shops/1?lang=es"] {
        let first = get(&server, path, &[]);
        let tag = etag(&first);
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        assert_eq!(etag(&get(&server, path, &[])), tag, "{path}");
        let held = server.request("GET", path, &[("If-None-Match", &tag)], b"");
        assert_eq!(held.status, 304, "{path}");
        assert!(held.body.is_empty());
        assert_eq!(held.header("etag"), Some(tag.as_str()));
        let listed = format!("\"other\", W/{tag}");
        let held = server.request("GET", path, &[("If-None-Match", &listed)], b"");
        assert_eq!(held.status, 304, "{path}");
        let other = get(&server, path, &[("If-None-Match", "\"1-0-en-0000\"")]);
        assert_eq!(other.body, first.body, "{path}");
    }
    // The JSON is one answer for every language; pages differ by it.
    let english = etag(&get(&server, "/shops/1", &[]));
    let spanish = etag(&get(&server, "/shops/1", &[("Accept-Language", "es")]));
    let picked = etag(&get(&server, "/shops/1?lang=en", &[]));
    assert!(english != spanish && english != picked && spanish != picked);
}

#[test]
fn a_sold_out_switch_and_a_language_change_reach_the_next_request() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let before = get(&server, "/shops/1", &[]);
    let json_before = get(&server, "/api/shops/1/menu", &[]);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let marker = format!("class=\"item\" id=\"item-{item}\"");
    assert!(before.text().contains(&marker), "{before:?}");

    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&keeper),
            &json!({ "available": false }),
        )
        .expect(200);
    let after = get(&server, "/shops/1", &[]);
    assert!(after
        .text()
        .contains(&format!("class=\"item off\" id=\"item-{item}\"")));
    assert_ne!(etag(&after), etag(&before));
    let stale = server.request("GET", "/shops/1", &[("If-None-Match", &etag(&before))], b"");
    assert_eq!(stale.status, 200);
    let json_after = get(&server, "/api/shops/1/menu", &[]);
    assert_ne!(etag(&json_after), etag(&json_before));
    let menu: serde_json::Value = serde_json::from_slice(&json_after.body).unwrap();
    let switched = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item);
    assert_eq!(switched.unwrap()["sold_out"], true);

    // The venue's language changes what a browser asking for none gets.
    assert!(after.text().contains("<html lang=\"en\">"));
    server.set_venue(&json!({ "language": "es", "languages": ["en"] }));
    let spanish = get(&server, "/shops/1", &[]);
    assert!(spanish.text().contains("<html lang=\"es\">"), "{spanish:?}");
    assert_ne!(etag(&spanish), etag(&after));
    // And the reader's own choice.
    let english = get(&server, "/shops/1?lang=en", &[]);
    assert!(english.text().contains("<html lang=\"en\">"), "{english:?}");
    assert!(english.text().contains("name=\"lang\" value=\"en\""));
}

#[test]
fn what_one_client_carries_is_never_served_to_another() {
    let server = Server::start_demo();
    let (_, token, _) = server.place_ok(1, &[(1, 1)]);
    let cookie = format!("os_t={token}");
    let with_cookie = get(&server, "/shops/1", &[("Cookie", &cookie)]);
    assert!(with_cookie.text().contains(&token));
    let with_link = get(&server, &format!("/shops/1?t={token}&l=1:2:"), &[]);
    assert!(with_link.text().contains(&token));
    assert!(with_link.text().contains("value=\"1:2:\""));
    for (path, headers) in [
        ("/shops/1", &[][..]),
        ("/shops/1?lang=en", &[][..]),
        ("/shops/1", &[("Accept-Language", "es")][..]),
    ] {
        let shared = get(&server, path, headers);
        assert!(!shared.text().contains(&token), "{path}");
        assert!(!shared.text().contains("1:2:"), "{path}");
    }
    // Unknown query strings are answered, not kept under what they say.
    let odd = get(&server, "/shops/1?utm=x", &[]);
    assert!(odd.header("etag").is_none());
}

#[test]
fn a_promotion_reaches_the_kept_menu_page_when_it_is_made_and_removed() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let text = "Second bowl half price";
    assert!(!get(&server, "/shops/1", &[]).text().contains(text));
    let made = server
        .post(
            "/api/shop/promotions",
            Some(&keeper),
            &json!({ "text": text }),
        )
        .expect(201);
    assert!(get(&server, "/shops/1", &[]).text().contains(text));
    let path = format!("/api/shop/promotions/{}", made["id"]);
    let gone = server.call("DELETE", &path, Some(&keeper), None);
    assert_eq!(gone.status, 204, "{gone:?}");
    assert!(!get(&server, "/shops/1", &[]).text().contains(text));
}
