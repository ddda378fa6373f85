//! All SQL lives here, one file per table (order lines and events belong
//! to `orders`). Functions take a connection or transaction and return rows;
//! rules about what is allowed live in the domain modules that call them.
//! Rows never leave the server as they are: the domain modules build the
//! views clients see from them.

pub mod audit;
pub mod categories;
pub mod clients;
pub mod ingredients;
pub mod items;
pub mod members;
pub mod options;
pub mod orders;
pub mod payments;
pub mod photo_files;
pub mod promo_codes;
pub mod promotions;
pub mod reports;
pub mod sessions;
pub mod settings;
pub mod shops;
pub mod stations;
pub mod tables;
pub mod users;

/// The store's error: SQLite's, boxed. rusqlite's own error is 40 bytes on
/// the router (an SQL input error holds two strings), copied by `memcpy` at
/// every `?`; this one is a word, moved in registers.
#[derive(Debug)]
pub struct StoreError(Box<rusqlite::Error>);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub fn into_sqlite(self) -> rusqlite::Error {
        *self.0
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(Box::new(e))
    }
}

/// `Result<Option<T>>` for a query's one row: no row is `None`, as
/// rusqlite's `OptionalExtension` does for its own results.
pub trait Optional<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> Optional<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(e) if matches!(*e.0, rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Every row `stmt` gives for `params`, each read by `read`. One loop for
/// every query, not a `query_map(..).collect()` per closure and parameter
/// type: only the small push below is made once per row type.
pub(crate) fn all_rows<T>(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[&dyn rusqlite::ToSql],
    read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    each_row(stmt, params, &mut |row| {
        all.push(read(row)?);
        Ok(())
    })?;
    Ok(all)
}

/// The reader of queries that give one integer: one function for all of
/// them, not a closure each.
pub(crate) fn int(row: &rusqlite::Row<'_>) -> rusqlite::Result<i64> {
    row.get(0)
}

/// The reader of queries that give two integers.
pub(crate) fn int_pair(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64)> {
    Ok((row.get(0)?, row.get(1)?))
}

/// A row's columns read without an exit per column: the first error is
/// kept and `done` hands it back, so reading a row is one call per column,
/// not also a path per column that drops what was read before it.
pub(crate) struct Columns<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    error: Option<rusqlite::Error>,
}

impl<'r, 's> Columns<'r, 's> {
    pub(crate) fn new(row: &'r rusqlite::Row<'s>) -> Self {
        Columns { row, error: None }
    }

    /// Column `index`; after an error, a default `done` never hands out.
    #[inline(never)]
    pub(crate) fn get<T: rusqlite::types::FromSql + Default>(&mut self, index: usize) -> T {
        self.row.get(index).unwrap_or_else(|e| {
            self.error.get_or_insert(e);
            T::default()
        })
    }

    /// `value`, unless a column could not be read.
    pub(crate) fn done<T>(self, value: T) -> rusqlite::Result<T> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// The one row `sql` gives for `params`, read by `read`; like
/// `Connection::query_row`, whose body would otherwise be made once per
/// closure and parameter type.
pub(crate) fn one_row<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<T> {
    let mut one = None;
    first_row(conn, sql, params, &mut |row| {
        one = Some(read(row)?);
        Ok(())
    })?;
    Ok(one.ok_or(rusqlite::Error::QueryReturnedNoRows)?)
}

fn first_row(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    read: &mut dyn FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<()> {
    Ok(conn.query_row(sql, params, |row| read(row))?)
}

fn each_row(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[&dyn rusqlite::ToSql],
    each: &mut dyn FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<()> {
    let mut rows = stmt.query(params)?;
    while let Some(row) = rows.next()? {
        each(row)?;
    }
    Ok(())
}

/// An enum stored as a word in a text column, and shown to clients as the
/// same word. Reading a word it does not know is an error, never a guess.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == text)
            }
        }

        impl $crate::support::json::ToJson for $name {
            fn to_json(&self, out: &mut $crate::support::json::JsonOut) {
                out.string(self.as_str());
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!(concat!("unknown ", stringify!($name), " {:?}"), text).into(),
                    )
                })
            }
        }
    };
}
pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    use super::orders::Status;
    use super::shops::ShopStatus;
    use super::users::Role;
    use crate::support::json::JsonOut;
    use rusqlite::Connection;

    /// Every variant written and read back through SQLite, and a word no
    /// variant has read as an error.
    fn round_trips<T>(all: &[T])
    where
        T: rusqlite::types::ToSql + rusqlite::types::FromSql + PartialEq + std::fmt::Debug,
    {
        let conn = Connection::open_in_memory().unwrap();
        for value in all {
            let back: T = conn.query_row("SELECT ?1", [value], |r| r.get(0)).unwrap();
            assert_eq!(&back, value);
        }
        for unknown in ["", "Placed", "approved ", "deleted"] {
            let read = conn.query_row("SELECT ?1", [unknown], |r| r.get::<_, T>(0));
            assert!(
                matches!(read, Err(rusqlite::Error::FromSqlConversionFailure(..))),
                "{unknown:?} read as {read:?}"
            );
        }
        let number = conn.query_row("SELECT 1", [], |r| r.get::<_, T>(0));
        assert!(number.is_err(), "{number:?}");
    }

    #[test]
    fn stored_enums_round_trip_and_refuse_unknown_words() {
        round_trips(&Status::ALL);
        round_trips(&ShopStatus::ALL);
        round_trips(&Role::ALL);
    }

    #[test]
    fn stored_words_are_the_json_words() {
        for status in Status::ALL {
            let json = String::from_utf8(JsonOut::write(&status)).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(
            String::from_utf8(JsonOut::write(&ShopStatus::Approved)).unwrap(),
            "\"approved\""
        );
        assert_eq!(
            String::from_utf8(JsonOut::write(&Role::Shopkeeper)).unwrap(),
            "\"shopkeeper\""
        );
    }
}
