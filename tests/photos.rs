//! Item photos: uploads told by their content, refused when not a picture,
//! too big or over the venue's quota; served under content names with
//! ETags and long cache lives; files removed when replaced or deleted; and
//! nothing outside `photos/` reachable through its URLs.

mod common;

use common::{raw_request, Response, Server, PASSWORD, SHOP1, SHOP2};
use serde_json::{json, Value};
use std::path::PathBuf;

const MAX_PHOTO: usize = 150 * 1024;

/// A picture of `size` bytes whose first bytes say `kind`; the rest only
/// has to differ between photos, the server never decodes it.
fn picture(kind: &str, size: usize, seed: u8) -> Vec<u8> {
    let mut bytes = match kind {
        "png" => b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
        "jpg" => b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec(),
        "webp" => b"RIFF\x24\0\0\0WEBPVP8 ".to_vec(),
        other => panic!("no picture of kind {other}"),
    };
    bytes.push(seed);
    bytes.resize(size, seed);
    bytes
}

fn upload(server: &Server, token: &str, item: i64, body: &[u8], content_type: &str) -> Response {
    let auth = format!("Bearer {token}");
    server.request(
        "PUT",
        &format!("/api/shop/items/{item}/photo"),
        &[("Authorization", &auth), ("Content-Type", content_type)],
        body,
    )
}

fn photos_dir(server: &Server) -> PathBuf {
    server.data_dir.path.join("photos")
}

/// The files in `photos/`, sorted (temporary ones included).
fn files(server: &Server) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(photos_dir(server)) {
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn file_of(url: &str) -> String {
    url.strip_prefix("/photos/")
        .unwrap_or_else(|| panic!("not a photo URL: {url}"))
        .to_string()
}

fn shop1_items(server: &Server) -> (String, Vec<i64>) {
    let token = server.login(SHOP1, PASSWORD);
    let items: Vec<i64> = server
        .get("/api/shop/items", Some(&token))
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(items.len() >= 3, "the demo shop has a few items");
    (token, items)
}

fn menu_photo(server: &Server, item: i64) -> Value {
    server
        .menu(1)
        .into_iter()
        .find(|i| i["id"] == item)
        .unwrap_or_else(|| panic!("item {item} on the menu"))["photo_url"]
        .clone()
}

#[test]
fn photos_of_each_kind_are_served_by_content_with_etags_and_long_caching() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    for (item, kind, content_type) in [
        (items[0], "png", "image/png"),
        (items[1], "jpg", "image/jpeg"),
        (items[2], "webp", "image/webp"),
    ] {
        let bytes = picture(kind, 2_000, 1);
        // The header is not what decides: the content is.
        let item_view =
            upload(&server, &token, item, &bytes, "application/octet-stream").expect(200);
        let url = item_view["photo_url"].as_str().unwrap().to_string();
        let name = file_of(&url);
        assert_eq!(name.len(), 16 + 1 + kind.len(), "{name}");
        assert!(name.ends_with(&format!(".{kind}")), "{name}");
        assert_eq!(menu_photo(&server, item), json!(url));

        let served = server.get(&url, None);
        served.assert_status(200);
        assert_eq!(served.body, bytes);
        assert_eq!(served.header("content-type"), Some(content_type));
        let etag = served.header("etag").unwrap().to_string();
        assert_eq!(etag, format!("\"{name}\""));
        assert_eq!(
            served.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let again = server.request("GET", &url, &[("If-None-Match", &etag)], b"");
        again.assert_status(304);
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let other = server.request("GET", &url, &[("If-None-Match", "\"0000.png\"")], b"");
        other.assert_status(200);
    }
    assert_eq!(files(&server).len(), 3, "{:?}", files(&server));
    // A JPEG sent as a PNG is still a JPEG.
    let jpeg = picture("jpg", 1_000, 9);
    let view = upload(&server, &token, items[0], &jpeg, "image/png").expect(200);
    let url = view["photo_url"].as_str().unwrap();
    assert!(url.ends_with(".jpg"), "{url}");
    assert_eq!(
        server.get(url, None).header("content-type"),
        Some("image/jpeg")
    );
}

#[test]
fn uploads_that_are_not_jpeg_png_or_webp_are_refused_and_leave_nothing() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04".to_vec();
    let text = b"<html>not a picture</html>".to_vec();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec();
    for (body, content_type) in [
        (&gif, "image/gif"),
        (&text, "image/png"),
        (&svg, "image/webp"),
        (&Vec::new(), "image/jpeg"),
    ] {
        let refused = upload(&server, &token, items[0], body, content_type);
        let message = refused.expect_error(400);
        assert_eq!(refused.json()["code"], "photo.unsupported");
        assert!(message.contains("JPEG, PNG or WebP"), "{message}");
    }
    assert_eq!(menu_photo(&server, items[0]), Value::Null);
    assert!(files(&server).is_empty(), "{:?}", files(&server));
}

#[test]
fn photos_over_150_kb_are_refused_and_other_routes_keep_their_limit() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    let too_big = picture("png", MAX_PHOTO + 1, 2);
    let refused = upload(&server, &token, items[0], &too_big, "image/png");
    let message = refused.expect_error(413);
    assert_eq!(refused.json()["code"], "photo.too_large");
    assert!(message.contains("150 KB"), "{message}");
    // Without a declared length, the body is cut off while it is read.
    let auth = format!("Bearer {token}");
    let mut chunked = Vec::new();
    for chunk in too_big.chunks(32 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let cut = raw_request(
        server.addr,
        "PUT",
        &format!("/api/shop/items/{}/photo", items[0]),
        &[("Authorization", &auth), ("Transfer-Encoding", "chunked")],
        &chunked,
    );
    cut.expect_error(413);
    assert_eq!(cut.json()["code"], "photo.too_large");
    assert!(files(&server).is_empty(), "{:?}", files(&server));

    let exactly = picture("png", MAX_PHOTO, 3);
    upload(&server, &token, items[0], &exactly, "image/png").expect(200);
    // Every other route still stops at 64 KiB.
    let json_type = ("Content-Type", "application/json");
    let just_over = vec![b' '; 64 * 1024 + 1];
    let patch = raw_request(
        server.addr,
        "PATCH",
        &format!("/api/shop/items/{}", items[0]),
        &[json_type, ("Authorization", &auth)],
        &just_over,
    );
    patch.expect_error(413);
    assert_eq!(patch.json()["code"], "request.too_large");
    let post = raw_request(
        server.addr,
        "POST",
        &format!("/api/shop/items/{}/photo", items[0]),
        &[("Authorization", &auth)],
        &just_over,
    );
    post.expect_error(413);
}

#[test]
fn the_venue_photo_quota_refuses_what_does_not_fit_with_a_clear_error() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    let venue = server.set_venue(&json!({ "photo_quota_bytes": 5_000 }));
    assert_eq!(venue["photo_quota_bytes"], 5_000);
    upload(
        &server,
        &token,
        items[0],
        &picture("png", 3_000, 1),
        "image/png",
    )
    .expect(200);
    // Another shop's photos count against the same quota.
    let shop2 = server.login(SHOP2, PASSWORD);
    let other = server.get("/api/shop/items", Some(&shop2)).expect(200)[0]["id"]
        .as_i64()
        .unwrap();
    let full = upload(
        &server,
        &shop2,
        other,
        &picture("jpg", 2_500, 2),
        "image/jpeg",
    );
    let message = full.expect_error(409);
    assert_eq!(full.json()["code"], "photo.quota_full");
    assert!(
        message.contains("photo storage is full: 3 KB of 5 KB used"),
        "{message}"
    );
    assert_eq!(files(&server).len(), 1, "{:?}", files(&server));
    // Replacing a photo frees the room of the one it replaces.
    upload(
        &server,
        &token,
        items[0],
        &picture("png", 4_500, 3),
        "image/png",
    )
    .expect(200);
    // The owner raises the quota: it fits.
    server.set_venue(&json!({ "photo_quota_bytes": 8 * 1024 * 1024 }));
    upload(
        &server,
        &shop2,
        other,
        &picture("jpg", 2_500, 2),
        "image/jpeg",
    )
    .expect(200);
    assert_eq!(files(&server).len(), 2, "{:?}", files(&server));
    // The owner's page offers the setting.
    let owner = server.login(common::OWNER, PASSWORD);
    let page = server.get("/admin", Some(&owner));
    page.assert_status(200);
    assert!(page.text().contains("name=\"photo_quota_bytes\""));
}

#[test]
fn replaced_removed_and_deleted_photos_take_their_files_with_them() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    let first = upload(
        &server,
        &token,
        items[0],
        &picture("png", 1_000, 1),
        "image/png",
    )
    .expect(200)["photo_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(files(&server), [file_of(&first)]);
    let second = upload(
        &server,
        &token,
        items[0],
        &picture("webp", 1_000, 2),
        "image/webp",
    )
    .expect(200)["photo_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(files(&server), [file_of(&second)]);
    server.get(&first, None).assert_status(404);

    // Two items showing the same picture share its file until both let go.
    let shared = upload(
        &server,
        &token,
        items[1],
        &picture("webp", 1_000, 2),
        "image/webp",
    )
    .expect(200)["photo_url"]
        .clone();
    assert_eq!(shared, json!(second));
    let auth = format!("Bearer {token}");
    let taken = server.request(
        "DELETE",
        &format!("/api/shop/items/{}/photo", items[0]),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(taken.expect(200)["photo_url"], Value::Null);
    assert_eq!(menu_photo(&server, items[0]), Value::Null);
    assert_eq!(files(&server), [file_of(&second)]);
    server.get(&second, None).assert_status(200);
    // Deleting the item takes the last use, and the file.
    server
        .request(
            "DELETE",
            &format!("/api/shop/items/{}", items[1]),
            &[("Authorization", &auth)],
            b"",
        )
        .assert_status(204);
    assert!(files(&server).is_empty(), "{:?}", files(&server));
    server.get(&second, None).assert_status(404);
}

#[test]
fn only_the_shop_keeper_with_the_item_sets_its_photo() {
    let server = Server::start_demo();
    let (_, items) = shop1_items(&server);
    let png = picture("png", 1_000, 1);
    let shop2 = server.login(SHOP2, PASSWORD);
    upload(&server, &shop2, items[0], &png, "image/png").expect_error(404);
    let anonymous = server.request(
        "PUT",
        &format!("/api/shop/items/{}/photo", items[0]),
        &[("Content-Type", "image/png")],
        &png,
    );
    anonymous.expect_error(401);
    assert!(files(&server).is_empty(), "{:?}", files(&server));
}

#[test]
fn photo_urls_reach_nothing_but_photos() {
    let server = Server::start_demo();
    let (token, items) = shop1_items(&server);
    let url = upload(
        &server,
        &token,
        items[0],
        &picture("png", 1_000, 1),
        "image/png",
    )
    .expect(200)["photo_url"]
        .as_str()
        .unwrap()
        .to_string();
    let name = file_of(&url);
    let hash = name.trim_end_matches(".png");
    let long = format!("/photos/{}.png", "a".repeat(5_000));
    for path in [
        "/photos/../orderspot.db",
        "/photos/..%2Forderspot.db",
        "/photos/%2e%2e%2forderspot.db",
        "/photos/..%2f..%2f..%2fetc%2fpasswd",
        "/photos/%2e%2e/orderspot.db",
        "/photos/orderspot.db",
        "/photos/",
        "/photos",
        &format!("/photos/{}.png", hash.to_uppercase()),
        &format!("/photos/{hash}.gif"),
        &format!("/photos/{hash}"),
        &format!("/photos/{name}%2F"),
        &format!("/photos/{name}%00"),
        &format!("/photos/0{name}"),
        "/photos/0000000000000000.png",
        &long,
    ] {
        let response = raw_request(server.addr, "GET", path, &[], b"");
        assert_eq!(response.status, 404, "{path}: {}", response.text());
        assert!(
            !response.body.starts_with(b"SQLite format"),
            "{path} served the database"
        );
    }
    raw_request(server.addr, "GET", &url, &[], b"").assert_status(200);
}
