//! The venue's tables: each has a QR code whose link names the table by a
//! short code and carries its secret, so only someone who scanned the
//! printed code (or was shown its link) reaches the table.

use crate::error::{Code, Error, Result};
use crate::store::tables::{self, TableRow};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::{crypto, text};
use rusqlite::Connection;

/// Most tables a venue may have (each costs a row and a printed poster).
pub const MAX_TABLES: i64 = 500;
const MAX_NAME_CHARS: usize = 40;
/// Letters and digits that cannot be mistaken for one another when a
/// code is read aloud or typed from a poster.
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const CODE_LEN: usize = 6;
/// Longest code or secret looked at: anything longer is no table's.
const MAX_ASKED_CHARS: usize = 64;

/// A table as customers see it.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: i64,
    pub name: String,
    pub area: String,
    pub code: String,
}
json_object!(Table: id, name, area, code);

impl From<&TableRow> for Table {
    fn from(row: &TableRow) -> Table {
        Table {
            id: row.id,
            name: row.name.clone(),
            area: row.area.clone(),
            code: row.code.clone(),
        }
    }
}

/// A table as its owner sees it: with its link (and so its secret).
#[derive(Debug, Clone)]
pub struct OwnerTable {
    pub table: Table,
    pub secret: String,
    pub url: String,
}
json_object!(OwnerTable: ..table, secret, url);

/// What the owner's form or the API sends to create or rename a table.
#[derive(Debug, Default)]
pub struct TablePatch {
    pub name: Option<String>,
    pub area: Option<String>,
}

impl FromFields for TablePatch {
    fn from_fields(f: &Fields) -> Result<TablePatch> {
        f.done(TablePatch {
            name: f.text("name"),
            area: f.text("area"),
        })
    }
}

/// The link a table's QR code holds: the portal's address (the name the
/// venue's DNS answers, as the captive portal's redirects use) with the
/// table's code and secret.
pub fn link(host: &str, row: &TableRow) -> String {
    format!("http://{host}/t/{}?s={}", row.code, row.secret)
}

pub fn for_owner(host: &str, row: &TableRow) -> OwnerTable {
    OwnerTable {
        table: Table::from(row),
        secret: row.secret.clone(),
        url: link(host, row),
    }
}

fn new_secret() -> Result<String> {
    Ok(crypto::hex(&crypto::random_bytes::<16>()?))
}

fn new_code() -> Result<String> {
    let bytes = crypto::random_bytes::<CODE_LEN>()?;
    Ok(bytes
        .iter()
        .map(|b| CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char)
        .collect())
}

fn name_and_area(patch: &TablePatch, current: Option<&TableRow>) -> Result<(String, String)> {
    let name = match (&patch.name, current) {
        (Some(name), _) => text::required("name", name, MAX_NAME_CHARS)?,
        (None, Some(row)) => row.name.clone(),
        (None, None) => return Err(Error::bad(Code::FieldRequired).with_key("field", "field.name")),
    };
    let area = match (&patch.area, current) {
        (Some(area), _) => text::optional_line("area", area, MAX_NAME_CHARS)?,
        (None, Some(row)) => row.area.clone(),
        (None, None) => String::new(),
    };
    Ok((name, area))
}

pub fn create(conn: &Connection, patch: &TablePatch, now: i64) -> Result<TableRow> {
    let (name, area) = name_and_area(patch, None)?;
    if tables::count(conn)? >= MAX_TABLES {
        return Err(Error::conflict(Code::TableTooMany).with("max", MAX_TABLES));
    }
    let secret = new_secret()?;
    // 31^6 codes: a clash is rare, and a few tries end it.
    for _ in 0..8 {
        if let Some(id) = tables::insert(conn, &name, &area, &new_code()?, &secret, now)? {
            return found(tables::by_id(conn, id)?);
        }
    }
    Err(Error::internal("no free table code in 8 tries".into()))
}

pub fn rename(conn: &Connection, id: i64, patch: &TablePatch) -> Result<TableRow> {
    let current = found(tables::by_id(conn, id)?)?;
    let (name, area) = name_and_area(patch, Some(&current))?;
    tables::rename(conn, id, &name, &area)?;
    found(tables::by_id(conn, id)?)
}

/// A new secret for the table's reprinted QR code: the old links stop
/// working at once.
pub fn rotate(conn: &Connection, id: i64) -> Result<TableRow> {
    if !tables::set_secret(conn, id, &new_secret()?)? {
        return Err(Error::not_found(Code::TableNotFound));
    }
    found(tables::by_id(conn, id)?)
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    if !tables::delete(conn, id)? {
        return Err(Error::not_found(Code::TableNotFound));
    }
    Ok(())
}

pub fn owner_table(conn: &Connection, id: i64) -> Result<TableRow> {
    found(tables::by_id(conn, id)?)
}

fn found(row: Option<TableRow>) -> Result<TableRow> {
    row.ok_or_else(|| Error::not_found(Code::TableNotFound))
}

/// The table a link names, when its secret is the table's. An unknown
/// code and a wrong secret are the same error, and the secret is compared
/// in constant time (against a stand-in when the code is unknown), so
/// answers tell nothing about which tables exist. Callers rate-limit it.
pub fn resolve_table(conn: &Connection, code: &str, secret: &str) -> Result<TableRow> {
    let refused = || Error::not_found(Code::TableNotFound);
    if code.len() > MAX_ASKED_CHARS || secret.len() > MAX_ASKED_CHARS {
        return Err(refused());
    }
    let row = tables::by_code(conn, &code.to_ascii_lowercase())?;
    let expected = row.as_ref().map_or("-".repeat(32), |r| r.secret.clone());
    let matches = crypto::constant_time_eq(expected.as_bytes(), secret.as_bytes());
    match row {
        Some(row) if matches => Ok(row),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(name: &str) -> TablePatch {
        TablePatch {
            name: Some(name.into()),
            area: Some("Terrace".into()),
        }
    }

    #[test]
    fn a_table_is_reached_only_with_its_current_secret() {
        let conn = crate::db::test_connection();
        let table = create(&conn, &patch("7"), 0).unwrap();
        assert_eq!(table.code.len(), CODE_LEN);
        assert_eq!(table.secret.len(), 32);
        let ok = resolve_table(&conn, &table.code.to_uppercase(), &table.secret).unwrap();
        assert_eq!(ok.id, table.id);
        let wrong_secret = resolve_table(&conn, &table.code, &"0".repeat(32)).unwrap_err();
        let wrong_code = resolve_table(&conn, "zzzzzz", &table.secret).unwrap_err();
        assert_eq!(wrong_secret, wrong_code);
        assert!(resolve_table(&conn, &table.code, "").is_err());
        let rotated = rotate(&conn, table.id).unwrap();
        assert_ne!(rotated.secret, table.secret);
        assert!(resolve_table(&conn, &table.code, &table.secret).is_err());
        assert!(resolve_table(&conn, &table.code, &rotated.secret).is_ok());
        assert_eq!(
            link("order.lan", &rotated),
            format!("http://order.lan/t/{}?s={}", rotated.code, rotated.secret)
        );
    }

    #[test]
    fn names_are_checked_and_kept_when_not_sent() {
        let conn = crate::db::test_connection();
        assert!(create(&conn, &TablePatch::default(), 0).is_err());
        assert!(create(&conn, &patch(" "), 0).is_err());
        assert!(create(&conn, &patch(&"x".repeat(41)), 0).is_err());
        let table = create(&conn, &patch("Window"), 0).unwrap();
        let renamed = rename(
            &conn,
            table.id,
            &TablePatch {
                area: Some(String::new()),
                name: None,
            },
        )
        .unwrap();
        assert_eq!(
            (renamed.name.as_str(), renamed.area.as_str()),
            ("Window", "")
        );
        delete(&conn, table.id).unwrap();
        assert!(delete(&conn, table.id).is_err());
        assert!(rename(&conn, table.id, &patch("x")).is_err());
    }
}
