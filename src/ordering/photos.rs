//! Item photos. What an upload may be: JPEG, PNG or WebP, told by its
//! first bytes (never by its name or a header), at most 150 KB, within the
//! venue's photo quota. Files are named by their content, so a name is its
//! own ETag and a new photo gets a new URL. The use cases keep the files in
//! `photos/` beside the database in step with the menu.

use super::catalog::{self, menu_changed, MenuItemView};
use super::menu_edit;
use crate::db::blocking;
use crate::error::{Code, Error, Failure, Problem, Result};
use crate::live::Data;
use crate::store::items;
use crate::store::photo_files::{self, DIR};
use crate::support::crypto;
use std::path::PathBuf;

/// The shopkeeper's browser scales photos down to 640 px before upload;
/// this leaves room for that at a good quality and no more.
pub const MAX_PHOTO_BYTES: usize = 150 * 1024;
/// What all the venue's photos may take until the owner says otherwise:
/// a few megabytes is what a router's flash can spare.
pub const DEFAULT_QUOTA_BYTES: i64 = 8 * 1024 * 1024;
/// Hex digits of the content's SHA-256 in a file name: 64 bits, so two
/// different photos of a venue never meet under one name.
const NAME_HEX: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
}

const KINDS: [Kind; 3] = [Kind::Jpeg, Kind::Png, Kind::Webp];

impl Kind {
    /// The kind the content's magic bytes say, if it is one we take.
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(Kind::Webp)
        } else {
            None
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
        }
    }
}

/// The refusal of a photo over `MAX_PHOTO_BYTES`.
pub fn too_large() -> Error {
    Error::from(Failure::TooLargeFor(Problem::new(Code::PhotoTooLarge)))
        .with("max", MAX_PHOTO_BYTES / 1024)
}

/// The file name an upload is stored under, or why it is refused.
pub fn file_name(bytes: &[u8]) -> Result<String> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(too_large());
    }
    let kind = Kind::sniff(bytes).ok_or_else(|| Error::bad(Code::PhotoUnsupported))?;
    let hash = crypto::hex(&crypto::sha256(bytes)[..NAME_HEX / 2]);
    Ok(format!("{hash}.{}", kind.extension()))
}

/// How a file called `name` is served, for names of the form `file_name`
/// makes; `None` for every other name, so no path leaves `photos/`.
pub fn kind_of_name(name: &str) -> Option<Kind> {
    let (hash, extension) = name.split_once('.')?;
    let hex =
        hash.len() == NAME_HEX && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    KINDS
        .into_iter()
        .find(|kind| hex && kind.extension() == extension)
}

/// Refuses a photo of `new` bytes when, beside the `others` the other
/// items' photos take, it would not fit in `quota`.
pub fn check_quota(others: i64, new: i64, quota: i64) -> Result<()> {
    if others.saturating_add(new) <= quota {
        return Ok(());
    }
    let kb = |bytes: i64| format!("{} KB", bytes.saturating_add(1023) / 1024);
    Err(Error::conflict(Code::PhotoQuotaFull)
        .with("used", kb(others))
        .with("quota", kb(quota)))
}

fn photo_dir(data: &Data) -> PathBuf {
    data.db.data_dir().join(DIR)
}

/// Gives the item `bytes` as its photo, within the venue's `quota`, and
/// removes the file it showed before.
pub async fn put(
    data: &Data,
    shop_id: i64,
    item_id: i64,
    bytes: Vec<u8>,
    quota: i64,
    minute: i64,
) -> Result<MenuItemView> {
    let name = file_name(&bytes)?;
    let size = bytes.len() as i64;
    let dir = photo_dir(data);
    let staged = blocking("photo", {
        let dir = dir.clone();
        move || photo_files::stage(&dir, &bytes)
    })
    .await?;
    let now = crate::support::time::now_ms();
    let placed_name = name.clone();
    // The quota is checked in the writer's transaction: two uploads cannot
    // both fit in the room that is left for one.
    let written = data
        .write(move |tx, changes| {
            let item = menu_edit::own_item(tx, shop_id, item_id)?;
            check_quota(items::photo_bytes_total(tx, item_id)?, size, quota)?;
            items::set_photo(tx, item_id, &placed_name, size, now)?;
            menu_changed(tx, changes, shop_id)?;
            let view = catalog::one_item(tx, shop_id, item_id, minute)?;
            // Placed while holding the writer, which `release` needs too:
            // it cannot remove this file between here and the commit.
            photo_files::place(staged, &dir, &placed_name)?;
            Ok((item.photo, view))
        })
        .await;
    match written {
        Ok((old, view)) => {
            if old != name {
                release(data, old).await;
            }
            Ok(view)
        }
        Err(e) => {
            // The commit may have failed after the file was placed.
            release(data, name).await;
            Err(e)
        }
    }
}

/// Takes the item's photo away and removes its file.
pub async fn take_away(
    data: &Data,
    shop_id: i64,
    item_id: i64,
    minute: i64,
) -> Result<MenuItemView> {
    let now = crate::support::time::now_ms();
    let (old, view) = data
        .write(move |tx, changes| {
            let item = menu_edit::own_item(tx, shop_id, item_id)?;
            items::set_photo(tx, item_id, "", 0, now)?;
            menu_changed(tx, changes, shop_id)?;
            Ok((item.photo, catalog::one_item(tx, shop_id, item_id, minute)?))
        })
        .await?;
    release(data, old).await;
    Ok(view)
}

/// Deletes an item, then its photo's file.
pub async fn remove_item(data: &Data, shop_id: i64, item_id: i64) -> Result<()> {
    let photo = menu_edit::remove_item(data, shop_id, item_id).await?;
    release(data, photo).await;
    Ok(())
}

/// Removes the photo file `name` unless an item still shows it. It runs
/// while holding the writer, so no upload places or claims the file
/// meanwhile. A file left behind only costs room: the failure is logged.
async fn release(data: &Data, name: String) {
    if kind_of_name(&name).is_none() {
        return;
    }
    let dir = photo_dir(data);
    let released = data
        .db
        .write(move |tx| {
            if !items::photo_in_use(tx, &name)? {
                photo_files::remove(&dir, &name)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = released {
        log::warn!("an unused photo file stays: {e}");
    }
}

/// The stored photo called `name` and its kind; `None` for names we never
/// make and for photos that are not there.
pub async fn read(data: &Data, name: &str) -> Result<Option<(Kind, Vec<u8>)>> {
    let Some(kind) = kind_of_name(name) else {
        return Ok(None);
    };
    let dir = photo_dir(data);
    let name = name.to_string();
    let bytes = blocking("photo", move || {
        photo_files::read(&dir, &name, MAX_PHOTO_BYTES)
    })
    .await?;
    Ok(bytes.map(|bytes| (kind, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF";
    const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 ";

    #[test]
    fn the_kind_is_told_by_the_first_bytes_only() {
        assert_eq!(Kind::sniff(PNG), Some(Kind::Png));
        assert_eq!(Kind::sniff(JPEG), Some(Kind::Jpeg));
        assert_eq!(Kind::sniff(WEBP), Some(Kind::Webp));
        for other in [
            &b"GIF89a\x01\0\x01\0"[..],
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"RIFF\0\0\0",
            b"\x89PNG\r\n",
            b"\xFF\xD8",
            b"",
        ] {
            assert_eq!(Kind::sniff(other), None, "{other:?}");
            assert_eq!(file_name(other).unwrap_err().kind(), Code::PhotoUnsupported);
        }
    }

    #[test]
    fn names_follow_the_content_and_keep_its_kind() {
        let name = file_name(PNG).unwrap();
        assert_eq!(name.len(), NAME_HEX + ".png".len());
        assert!(name.ends_with(".png"));
        assert_eq!(file_name(PNG).unwrap(), name);
        let mut other = PNG.to_vec();
        other.push(0);
        assert_ne!(file_name(&other).unwrap(), name);
        assert!(file_name(JPEG).unwrap().ends_with(".jpg"));
        assert!(file_name(WEBP).unwrap().ends_with(".webp"));
        assert_eq!(kind_of_name(&name), Some(Kind::Png));
    }

    #[test]
    fn uploads_over_the_limit_are_too_large() {
        let mut big = PNG.to_vec();
        big.resize(MAX_PHOTO_BYTES, 0);
        assert!(file_name(&big).is_ok());
        big.push(0);
        let refused = file_name(&big).unwrap_err();
        assert_eq!(refused.kind(), Code::PhotoTooLarge);
        assert!(matches!(*refused, Failure::TooLargeFor(_)));
    }

    #[test]
    fn only_names_we_make_are_served() {
        assert_eq!(kind_of_name("0123456789abcdef.jpg"), Some(Kind::Jpeg));
        assert_eq!(kind_of_name("0123456789abcdef.webp"), Some(Kind::Webp));
        for name in [
            "",
            "0123456789abcdef",
            "0123456789abcdef.gif",
            "0123456789ABCDEF.png",
            "0123456789abcde.png",
            "0123456789abcdef0.png",
            "../0123456789abc.png",
            "0123456789abcdef.png/..",
            "0123456789abcdef.png.png",
            ".upload-1-0",
            "0123456789abcdef.jpg\0",
        ] {
            assert_eq!(kind_of_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn the_quota_holds_what_fits_and_names_the_use_when_full() {
        assert!(check_quota(0, 100, 100).is_ok());
        assert!(check_quota(6_000, 2_000, 8_192).is_ok());
        assert!(check_quota(0, 0, 0).is_ok());
        let full = check_quota(7 * 1024, 2 * 1024, 8 * 1024).unwrap_err();
        assert_eq!(full.kind(), Code::PhotoQuotaFull);
        assert!(matches!(*full, Failure::Conflict(_)));
        let args = format!("{:?}", full.args());
        assert!(args.contains("7 KB") && args.contains("8 KB"), "{args}");
        assert!(check_quota(i64::MAX, i64::MAX, 8 * 1024).is_err());
    }
}
