//! Item photos as files: served under their content-derived names with a
//! long cache life, and the upload's own, larger body limit.

use crate::app::App;
use crate::error::{Code, Error, Failure, Result};
use crate::http::request::Request;
use crate::http::response::{with_body, Response};
use crate::ordering::photos;
use hyper::header::{HeaderValue, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use hyper::{Method, StatusCode};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Photo bodies held at once: each may take a photo's size in memory
/// until its request ends, where other bodies take at most 64 KiB.
const MAX_UPLOADS: usize = 4;
static UPLOADS: AtomicUsize = AtomicUsize::new(0);

/// A photo upload's right to a body of a photo's size; given back when dropped.
pub struct UploadSlot(());

impl Drop for UploadSlot {
    fn drop(&mut self) {
        UPLOADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a request is a photo upload, before its body is read.
pub fn is_upload(method: &Method, segments: &[String]) -> bool {
    *method == Method::PUT
        && matches!(
            segments.iter().map(String::as_str).collect::<Vec<_>>()[..],
            ["api", "shop", "items", _, "photo"]
        )
}

/// A slot for one more upload's body, or 429 while `MAX_UPLOADS` are held.
pub fn upload_slot() -> Result<UploadSlot> {
    UPLOADS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
            (held < MAX_UPLOADS).then_some(held + 1)
        })
        .map(|_| UploadSlot(()))
        .map_err(|_| Error::from(Failure::TooManyRequests))
}

/// `GET /photos/{name}`: the name is the content's hash, so it is also the
/// ETag and the photo never changes under it.
pub async fn file(app: &App, req: &Request, name: &str) -> Result<Response> {
    let Some((kind, bytes)) = photos::read(&app.data, name).await? else {
        return Err(Error::not_found(Code::PageNotFound));
    };
    let etag = format!("\"{name}\"");
    let unchanged = req
        .headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        });
    let mut response = if unchanged {
        with_body(StatusCode::NOT_MODIFIED, kind.content_type(), "")
    } else {
        with_body(StatusCode::OK, kind.content_type(), bytes)
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        crate::http::request::path_segments(path)
    }

    #[test]
    fn only_the_upload_gets_the_photo_limit() {
        assert!(is_upload(
            &Method::PUT,
            &segments("/api/shop/items/7/photo")
        ));
        assert!(!is_upload(
            &Method::POST,
            &segments("/api/shop/items/7/photo")
        ));
        assert!(!is_upload(&Method::PUT, &segments("/api/shop/items/7")));
        assert!(!is_upload(&Method::PUT, &segments("/api/orders/7/photo")));
    }

    #[test]
    fn upload_slots_are_bounded_and_given_back() {
        let held: Vec<UploadSlot> = (0..MAX_UPLOADS).map(|_| upload_slot().unwrap()).collect();
        assert_eq!(
            upload_slot().err(),
            Some(Error::from(Failure::TooManyRequests))
        );
        drop(held);
        assert!(upload_slot().is_ok());
    }
}
