//! Answers built from a shop's public menu (its customer page per language,
//! its JSON), kept until the menu changes: a shop's entries go when its
//! `ShopMenu` topic is published, everything goes when the venue's
//! settings change. Only bytes that are the same for every client are kept,
//! under keys the server chooses (shop, language, variant), never under
//! anything a client sends, and within a byte budget.

use crate::support::crypto;
use std::sync::{Arc, Mutex, MutexGuard};

/// At most this many bytes of pages are kept; a fill above it empties the
/// cache first (a venue with many big menus then rebuilds, still correct).
const MAX_CACHED_BYTES: usize = 4 * 1024 * 1024;

/// Which answer of a shop's menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// `GET /api/shops/{id}/menu`, the same in every language.
    Json,
    /// The customer's menu page in a language; `picked`: asked with
    /// `?lang=`, so its links carry the language.
    Html { lang: &'static str, picked: bool },
}

/// A kept answer and the strong `ETag` that names its bytes.
#[derive(Debug)]
pub struct Page {
    pub version: i64,
    pub etag: String,
    pub body: Arc<[u8]>,
}

#[derive(Default)]
pub struct Pages {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves on every invalidation: a page built from a read that began
    /// before it is not kept.
    generation: u64,
    bytes: usize,
    /// A short list (shops times languages), searched in order: smaller
    /// code than a map.
    pages: Vec<(i64, PageKind, Arc<Page>)>,
}

impl Pages {
    pub fn get(&self, shop: i64, kind: PageKind) -> Option<Arc<Page>> {
        self.lock()
            .pages
            .iter()
            .find(|(id, k, _)| *id == shop && *k == kind)
            .map(|(_, _, page)| page.clone())
    }

    /// Read before reading the database for a fill, handed to `keep`.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The page for `body` (menu `version`), kept unless something was
    /// invalidated since `generation` was read.
    pub fn keep(
        &self,
        shop: i64,
        kind: PageKind,
        generation: u64,
        version: i64,
        body: Vec<u8>,
    ) -> Arc<Page> {
        let page = Arc::new(Page {
            version,
            etag: etag(shop, kind, version, &body),
            body: body.into(),
        });
        let mut inner = self.lock();
        if inner.generation == generation {
            if inner.bytes + page.body.len() > MAX_CACHED_BYTES {
                inner.pages.clear();
                inner.bytes = 0;
            }
            inner.bytes += page.body.len();
            let kept = inner
                .pages
                .iter_mut()
                .find(|(id, k, _)| *id == shop && *k == kind);
            match kept {
                Some(kept) => {
                    let old = std::mem::replace(&mut kept.2, page.clone());
                    inner.bytes -= old.body.len();
                }
                None => inner.pages.push((shop, kind, page.clone())),
            }
        }
        page
    }

    /// A shop's menu changed.
    pub fn forget_shop(&self, shop: i64) {
        let mut inner = self.lock();
        inner.generation += 1;
        let mut freed = 0;
        inner.pages.retain(|(id, _, page)| {
            let keep = *id != shop;
            if !keep {
                freed += page.body.len();
            }
            keep
        });
        inner.bytes -= freed;
    }

    /// Something every page shows changed (the venue's settings).
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.pages.clear();
        inner.bytes = 0;
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The menu version, language and variant name the page for people; the
/// content hash makes the tag strong across restarts, restores and venue
/// changes, which the version alone does not see.
fn etag(shop: i64, kind: PageKind, version: i64, body: &[u8]) -> String {
    let hash = crypto::hex(&crypto::sha256(body)[..8]);
    match kind {
        PageKind::Json => format!("\"{shop}-{version}-json-{hash}\""),
        PageKind::Html { lang, picked } => {
            let variant = if picked { "-lang" } else { "" };
            format!("\"{shop}-{version}-{lang}{variant}-{hash}\"")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: PageKind = PageKind::Html {
        lang: "en",
        picked: false,
    };

    #[test]
    fn a_shops_change_forgets_its_pages_and_a_fill_that_raced_it() {
        let pages = Pages::default();
        let generation = pages.generation();
        pages.keep(1, EN, generation, 3, b"one".to_vec());
        pages.keep(2, PageKind::Json, generation, 5, b"two".to_vec());
        assert_eq!(pages.get(1, EN).unwrap().version, 3);
        let raced = pages.generation();
        pages.forget_shop(1);
        assert!(pages.get(1, EN).is_none());
        assert!(pages.get(2, PageKind::Json).is_some());
        // Read before the change, kept after it: stale, so not kept.
        let page = pages.keep(1, EN, raced, 3, b"old".to_vec());
        assert_eq!(&*page.body, b"old");
        assert!(pages.get(1, EN).is_none());
        pages.forget_all();
        assert!(pages.get(2, PageKind::Json).is_none());
    }

    #[test]
    fn tags_differ_by_language_variant_and_bytes() {
        let picked = PageKind::Html {
            lang: "en",
            picked: true,
        };
        let tags = [
            etag(1, EN, 4, b"a"),
            etag(1, picked, 4, b"a"),
            etag(1, EN, 4, b"b"),
            etag(1, PageKind::Json, 4, b"a"),
        ];
        for (i, a) in tags.iter().enumerate() {
            assert!(a.starts_with("\"1-4-") && a.ends_with('"'), "{a}");
            assert!(tags[i + 1..].iter().all(|b| a != b), "{a}");
        }
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let pages = Pages::default();
        let big = MAX_CACHED_BYTES / 3 + 1;
        for shop in 0..10 {
            pages.keep(shop, EN, pages.generation(), 1, vec![b'x'; big]);
            assert!(pages.lock().bytes <= MAX_CACHED_BYTES);
        }
        assert!(pages.get(9, EN).is_some());
        pages.keep(9, EN, pages.generation(), 2, vec![b'x'; 10]);
        assert_eq!(pages.lock().bytes, big + 10);
    }
}
