//! The stylesheets and scripts, compiled into the binary: app.* for every
//! page, board.* for the kitchen display and the TV board only, editor.js
//! for the menu editor's item page, cart.js for the customer's pages
//! (cart_live.js for the cart page),
//! print.css for posters and shelf labels.
//!
//! Each is stored as a gzip member (build.rs) and sent as it is to clients
//! that accept gzip (every browser); others get it inflated.

use crate::error::{Code, Error, Result};
use crate::http::request::Request;
use crate::http::response::{with_body, Response};
use crate::support::{i18n, inflate};
use hyper::body::Bytes;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_NONE_MATCH, VARY,
};
use hyper::StatusCode;

/// One file of `static/`, as build.rs wrote it.
struct Asset {
    name: &'static str,
    /// The file as one gzip member: a 10-byte header, the deflate stream,
    /// then 8 bytes of CRC and length.
    gzip: &'static [u8],
    length: usize,
    /// Each encoding is a different representation, with its own tag.
    etag: &'static str,
    gzip_etag: &'static str,
}

const FILES: &[Asset] = include!(concat!(env!("OUT_DIR"), "/static.rs"));

/// At most this many codings of an `Accept-Encoding` header are weighed.
const MAX_CODINGS: usize = 16;

pub fn file(req: &Request, name: &str) -> Result<Response> {
    let Some(asset) = FILES.iter().find(|f| f.name == name) else {
        return Err(Error::not_found(Code::PageNotFound));
    };
    let content_type = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    let header = |name| req.headers.get(name).and_then(|v| v.to_str().ok());
    let gzip = accepts_gzip(header(ACCEPT_ENCODING));
    let etag = if gzip { asset.gzip_etag } else { asset.etag };
    let held = header(IF_NONE_MATCH).is_some_and(|tags| {
        tags.split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == etag)
    });
    let mut response = if held {
        with_body(StatusCode::NOT_MODIFIED, content_type, Bytes::new())
    } else if gzip {
        let mut response = with_body(StatusCode::OK, content_type, asset.gzip);
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        with_body(StatusCode::OK, content_type, plain(asset)?)
    };
    let headers = response.headers_mut();
    // Phones on a slow hotspot should fetch these once per hour at most.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(ETAG, HeaderValue::from_static(etag));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(response)
}

/// The file inflated (for the few clients that do not take gzip).
fn plain(asset: &Asset) -> Result<Vec<u8>> {
    // The deflate stream between the member's header and trailer.
    let deflated = asset
        .gzip
        .get(10..asset.gzip.len().saturating_sub(8))
        .unwrap_or_default();
    inflate::inflate(deflated, asset.length)
}

/// Whether `Accept-Encoding` lets gzip be sent: named (or `x-gzip`, its
/// old name) with a weight above 0, or not named and `*` weighed above 0.
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let (mut gzip, mut any) = (None, None);
    for coding in accept_encoding.unwrap_or("").split(',').take(MAX_CODINGS) {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, i18n::quality);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight);
        } else if name == "*" {
            any = Some(weight);
        }
    }
    gzip.or(any).is_some_and(|weight| weight > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::CONTENT_TYPE;
    use std::io::Read;

    #[test]
    fn gzip_is_taken_only_where_accepted() {
        for (header, gzip) in [
            (None, false),
            (Some(""), false),
            (Some("identity"), false),
            (Some("gzip"), true),
            (Some("gzip, deflate, br, zstd"), true),
            (Some("br;q=1.0, GZIP;q=0.5"), true),
            (Some("x-gzip"), true),
            (Some("gzip;q=0"), false),
            (Some("gzip; q=0.000"), false),
            (Some("gzip;q=0.001"), true),
            (Some("*"), true),
            (Some("*;q=0"), false),
            (Some("gzip;q=0, *"), false),
            (Some("*;q=0, gzip"), true),
            (Some("gzip;q=bad"), false),
            (Some("deflate, br"), false),
        ] {
            assert_eq!(accepts_gzip(header), gzip, "{header:?}");
        }
        // Only the first codings are weighed.
        let late = format!("{}gzip", "br, ".repeat(MAX_CODINGS));
        assert!(!accepts_gzip(Some(&late)));
    }

    fn get(name: &str, headers: &[(&'static str, &str)]) -> Response {
        let mut request = Request {
            method: hyper::Method::GET,
            segments: vec!["static".into(), name.into()],
            query: Vec::new(),
            headers: hyper::HeaderMap::new(),
            body: Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            local: None,
        };
        for (header, value) in headers {
            request
                .headers
                .insert(*header, HeaderValue::from_str(value).unwrap());
        }
        file(&request, name).unwrap()
    }

    fn body(response: crate::http::response::HttpResponse) -> Bytes {
        use http_body_util::BodyExt;
        let body = response.into_body().collect();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body)
            .unwrap()
            .to_bytes()
    }

    #[test]
    fn browsers_get_the_gzip_member_others_the_text_each_with_its_own_tag() {
        let source = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.css")).unwrap();
        let header = |response: &Response, name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };

        let zipped = get("app.css", &[("accept-encoding", "gzip, deflate, br")]);
        assert_eq!(zipped.status(), StatusCode::OK);
        assert_eq!(header(&zipped, CONTENT_ENCODING).as_deref(), Some("gzip"));
        assert_eq!(header(&zipped, VARY).as_deref(), Some("Accept-Encoding"));
        assert_eq!(
            header(&zipped, CACHE_CONTROL).as_deref(),
            Some("public, max-age=3600")
        );
        let zipped_tag = header(&zipped, ETAG).unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&body(*zipped)[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, source);

        let plain = get("app.css", &[("accept-encoding", "gzip;q=0, br")]);
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(header(&plain, CONTENT_ENCODING), None);
        assert_eq!(header(&plain, VARY).as_deref(), Some("Accept-Encoding"));
        let plain_tag = header(&plain, ETAG).unwrap();
        assert_eq!(
            header(&plain, CONTENT_TYPE).as_deref(),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(body(*plain), source);
        assert_ne!(plain_tag, zipped_tag);

        // Each representation's tag revalidates it, and only it.
        let held = get(
            "app.css",
            &[("accept-encoding", "gzip"), ("if-none-match", &zipped_tag)],
        );
        assert_eq!(held.status(), StatusCode::NOT_MODIFIED);
        assert!(body(*held).is_empty());
        let other = get(
            "app.css",
            &[("accept-encoding", "gzip"), ("if-none-match", &plain_tag)],
        );
        assert_eq!(other.status(), StatusCode::OK);
        let held = get(
            "app.css",
            &[("if-none-match", &format!("W/{plain_tag}, \"x\""))],
        );
        assert_eq!(held.status(), StatusCode::NOT_MODIFIED);

        let script = get("app.js", &[]);
        assert_eq!(
            header(&script, CONTENT_TYPE).as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        let missing = Request {
            method: hyper::Method::GET,
            segments: Vec::new(),
            query: Vec::new(),
            headers: hyper::HeaderMap::new(),
            body: Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            local: None,
        };
        assert!(file(&missing, "app.rs").is_err());
    }

    #[test]
    fn every_file_is_its_source_as_gzip_and_inflated() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".css") || n.ends_with(".js"))
            .collect();
        on_disk.sort();
        let names: Vec<&str> = FILES.iter().map(|f| f.name).collect();
        assert_eq!(names, on_disk);
        for asset in FILES {
            let source = std::fs::read(dir.join(asset.name)).unwrap();
            // A gzip reader that checks the trailer's CRC and length.
            let mut unzipped = Vec::new();
            flate2::read::GzDecoder::new(asset.gzip)
                .read_to_end(&mut unzipped)
                .unwrap();
            assert_eq!(unzipped, source, "{}", asset.name);
            assert_eq!(plain(asset).unwrap(), source, "{}", asset.name);
            assert!(asset.gzip.len() < source.len(), "{}", asset.name);
            assert_ne!(asset.etag, asset.gzip_etag);
        }
    }
}
