//! The migrations' `ALTER TABLE`, without SQLite's: the router's SQLite is
//! built without it (openwrt/sqlite-options, `SQLITE_OMIT_ALTERTABLE`).
//! SQLite's own `ADD COLUMN` and `RENAME TO` (of a table nothing else
//! names) change only the table's `CREATE` text in `sqlite_schema`, never a
//! row: the rows written before a column was added read its default. So
//! do these, with the same text SQLite would write, by the procedure
//! SQLite documents for changes that leave the stored rows as they are
//! (lang_altertable.html: `writable_schema`, the schema version raised,
//! the schema read again), inside the migration's transaction, refusing
//! every case SQLite's `ALTER TABLE` would refuse or would have to do more
//! for.

use rusqlite::{params, Connection, OptionalExtension};

/// Runs one migration's SQL: its `ALTER TABLE` statements (each on a line
/// of its own) here, the rest as SQLite batches between them.
pub(super) fn run(conn: &Connection, migration: &str) -> rusqlite::Result<()> {
    let mut batch = String::new();
    for line in migration.split_inclusive('\n') {
        let statement = line.trim();
        if !statement
            .get(..6)
            .is_some_and(|word| word.eq_ignore_ascii_case("ALTER "))
        {
            batch.push_str(line);
            continue;
        }
        conn.execute_batch(&batch)?;
        batch.clear();
        match parse(statement) {
            Some(Alter::AddColumn { table, column }) => add_column(conn, table, column)?,
            Some(Alter::Rename { from, to }) => rename(conn, from, to)?,
            None => return Err(refused(format!("unsupported: {statement}"))),
        }
    }
    conn.execute_batch(&batch)
}

#[derive(Debug, PartialEq)]
enum Alter<'a> {
    AddColumn { table: &'a str, column: &'a str },
    Rename { from: &'a str, to: &'a str },
}

/// `ALTER TABLE t ADD COLUMN definition;` or `ALTER TABLE t RENAME TO u;`.
fn parse(statement: &str) -> Option<Alter<'_>> {
    let rest = statement.strip_prefix("ALTER TABLE ")?.strip_suffix(';')?;
    let (table, rest) = rest.trim_start().split_once(' ')?;
    let rest = rest.trim_start();
    if let Some(column) = rest.strip_prefix("ADD COLUMN ") {
        let column = column.trim();
        return (is_name(table) && !column.is_empty())
            .then_some(Alter::AddColumn { table, column });
    }
    let to = rest.strip_prefix("RENAME TO ")?.trim();
    (is_name(table) && is_name(to)).then_some(Alter::Rename { from: table, to })
}

/// A plain identifier: the only names these statements take.
fn is_name(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with(|c: char| c.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn refused(why: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(format!("migration ALTER TABLE: {why}")),
    )
}

fn add_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<()> {
    check_new_column(column).map_err(|why| refused(format!("{table}: {why}: {column}")))?;
    let sql = table_sql(conn, table)?;
    let close = column_list_end(&sql)
        .ok_or_else(|| refused(format!("{table}: only a table without table constraints")))?;
    // Where and how SQLite's ADD COLUMN writes it: ", definition" before
    // the closing parenthesis.
    let altered = format!("{}, {column}{}", &sql[..close], &sql[close..]);
    rewrite_schema(conn, table, table, &altered)?;
    let name = column.split_whitespace().next().unwrap_or_default();
    let columns = conn.prepare(&format!("SELECT * FROM {table}"))?;
    if columns.column_names().last() != Some(name) {
        return Err(refused(format!(
            "{table}: the column {name} did not appear"
        )));
    }
    Ok(())
}

/// What SQLite's ADD COLUMN refuses, so that every stored row may read
/// the new column's default: a key, a uniqueness or check constraint, a
/// generated or collated column, a default that is not a literal (such as
/// the current time), NOT NULL without a non-null default, a reference
/// with a default (foreign keys are on).
fn check_new_column(column: &str) -> Result<(), &'static str> {
    // The words outside string literals, upper-cased; each literal as `'`.
    let mut bare = String::new();
    let mut in_string = false;
    for c in column.chars() {
        if c == '\'' {
            if !in_string {
                bare.push_str(" ' ");
            }
            in_string = !in_string;
        } else if !in_string {
            bare.push(c.to_ascii_uppercase());
        }
    }
    let words: Vec<&str> = bare
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-'))
        .filter(|word| !word.is_empty())
        .collect();
    let has = |word: &str| words.contains(&word);
    if ["PRIMARY", "UNIQUE", "CHECK", "GENERATED", "AS", "COLLATE"]
        .iter()
        .any(|word| has(word))
    {
        return Err("a constraint ADD COLUMN cannot take");
    }
    let default = match words.iter().position(|word| *word == "DEFAULT") {
        None => None,
        Some(at) => {
            // A literal: a string, a number, NULL; not `(expression)` or CURRENT_TIME.
            let after = bare[bare.find("DEFAULT").unwrap_or(0) + 7..].trim_start();
            let value = words.get(at + 1).copied().unwrap_or("");
            let literal = value == "'"
                || value == "NULL"
                || value.trim_start_matches('-').parse::<f64>().is_ok();
            if !literal || after.starts_with('(') {
                return Err("the default must be a literal");
            }
            Some(value)
        }
    };
    let non_null_default = default.is_some_and(|value| value != "NULL");
    if has("NOT") && has("NULL") && !non_null_default {
        return Err("NOT NULL needs a default other than NULL");
    }
    if has("REFERENCES") && non_null_default {
        return Err("a reference's default must be NULL");
    }
    Ok(())
}

/// The byte offset of the parenthesis that closes `sql`'s column list, if
/// the list is all column definitions (SQLite adds a column before the
/// table constraints, which no table of ours has).
fn column_list_end(sql: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let open = sql.find('(')?;
    let mut depth = 0usize;
    let mut item_start = open + 1;
    let mut at = open;
    while at < bytes.len() {
        match bytes[at] {
            quote @ (b'\'' | b'"' | b'`') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    at += 1;
                }
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = at + 2 + sql[at + 2..].find("*/")? + 1;
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    let rest = sql[at + 1..].trim();
                    let plain_table = rest.is_empty() || rest.eq_ignore_ascii_case("STRICT");
                    return (plain_table && !is_table_constraint(&sql[item_start..at]))
                        .then_some(at);
                }
            }
            b',' if depth == 1 => {
                if is_table_constraint(&sql[item_start..at]) {
                    return None;
                }
                item_start = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// Whether an item of a column list (comments included) is a table
/// constraint rather than a column definition.
fn is_table_constraint(item: &str) -> bool {
    let first = item
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default().trim())
        .find(|line| !line.is_empty())
        .and_then(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .next()
        })
        .unwrap_or_default();
    ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
        .iter()
        .any(|word| first.eq_ignore_ascii_case(word))
}

/// RENAME TO, for a table no index, trigger, view or other table names
/// (SQLite's would rewrite those too): its CREATE text names it as SQLite
/// writes it, quoted.
fn rename(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<()> {
    let sql = table_sql(conn, from)?;
    let taken: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = ?2
            OR (name <> ?1 AND (tbl_name = ?1 OR instr(sql, ?1) > 0))",
        params![from, to],
        |row| row.get(0),
    )?;
    if taken > 0 {
        return Err(refused(format!(
            "{from} to {to}: {to} exists, or something names {from}"
        )));
    }
    let rest = sql
        .strip_prefix("CREATE TABLE ")
        .and_then(|rest| rest.trim_start().strip_prefix(from))
        .filter(|rest| rest.starts_with([' ', '(']))
        .ok_or_else(|| refused(format!("{from}: an unexpected CREATE text")))?;
    rewrite_schema(conn, from, to, &format!("CREATE TABLE \"{to}\"{rest}"))?;
    let sequences: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_sequence'",
        [],
        |row| row.get(0),
    )?;
    if sequences {
        conn.execute(
            "UPDATE sqlite_sequence SET name = ?2 WHERE name = ?1",
            params![from, to],
        )?;
    }
    Ok(())
}

fn table_sql(conn: &Connection, table: &str) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get(0),
    )
    .optional()?
    .ok_or_else(|| refused(format!("no table {table}")))
}

/// Gives the table `from` the name `to` and the CREATE text `sql`, and has
/// every connection read the schema again (SQLite's documented procedure
/// for editing the schema's text).
fn rewrite_schema(conn: &Connection, from: &str, to: &str, sql: &str) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA writable_schema = ON")?;
    let changed = conn.execute(
        "UPDATE sqlite_schema SET name = ?2, tbl_name = ?2, sql = ?3
         WHERE type = 'table' AND name = ?1",
        params![from, to, sql],
    );
    conn.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema = RESET",
        version + 1
    ))?;
    match changed? {
        1 => Ok(()),
        n => Err(refused(format!("{from}: {n} schema rows changed"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        rows.unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn statements_are_read_strictly() {
        assert_eq!(
            parse("ALTER TABLE shops ADD COLUMN open INTEGER NOT NULL DEFAULT 1;"),
            Some(Alter::AddColumn {
                table: "shops",
                column: "open INTEGER NOT NULL DEFAULT 1"
            })
        );
        assert_eq!(
            parse("ALTER TABLE a_new RENAME TO a;"),
            Some(Alter::Rename {
                from: "a_new",
                to: "a"
            })
        );
        for wrong in [
            "ALTER TABLE shops ADD COLUMN open INTEGER",
            "ALTER TABLE shops DROP COLUMN open;",
            "ALTER TABLE shops RENAME COLUMN a TO b;",
            "ALTER TABLE \"shops\" ADD COLUMN x;",
            "ALTER TABLE a RENAME TO b c;",
        ] {
            assert_eq!(parse(wrong), None, "{wrong}");
        }
    }

    // The texts SQLite 3.40's own ALTER TABLE wrote for the same statements
    // (checked with the sqlite3 command-line shell).
    #[test]
    fn added_columns_read_their_default_in_old_rows_and_the_text_is_sqlites() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        run(
            &conn,
            "CREATE TABLE shops (
    id INTEGER PRIMARY KEY,
    -- a comment, (with) 'quotes'
    name TEXT NOT NULL CHECK (name <> ','),
    kind TEXT NOT NULL DEFAULT 'a,b)'   -- the last one
);
INSERT INTO shops (id, name) VALUES (7, 'Tea');
ALTER TABLE shops ADD COLUMN menu_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN   methods TEXT NOT NULL DEFAULT 'cash,card'  ;
ALTER TABLE shops ADD COLUMN owner INTEGER REFERENCES shops(id);
CREATE INDEX shops_owner ON shops(owner);
INSERT INTO shops (id, name, owner) VALUES (8, 'Pie', 7);
",
        )
        .unwrap();
        assert_eq!(
            schema(&conn)[0].2,
            "CREATE TABLE shops (
    id INTEGER PRIMARY KEY,
    -- a comment, (with) 'quotes'
    name TEXT NOT NULL CHECK (name <> ','),
    kind TEXT NOT NULL DEFAULT 'a,b)'   -- the last one
, menu_version INTEGER NOT NULL DEFAULT 0, methods TEXT NOT NULL DEFAULT 'cash,card', owner INTEGER REFERENCES shops(id))"
        );
        let rows: Vec<(i64, String, i64, String, Option<i64>)> = conn
            .prepare("SELECT id, kind, menu_version, methods, owner FROM shops ORDER BY id")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows,
            [
                (7, "a,b)".into(), 0, "cash,card".into(), None),
                (8, "a,b)".into(), 0, "cash,card".into(), Some(7))
            ]
        );
        // The new reference is enforced.
        assert!(conn
            .execute("INSERT INTO shops (name, owner) VALUES ('x', 99)", [])
            .is_err());
    }

    #[test]
    fn a_rename_writes_the_quoted_name_and_moves_the_sequence() {
        let conn = Connection::open_in_memory().unwrap();
        run(
            &conn,
            "CREATE TABLE events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL
);
INSERT INTO events_new (at) VALUES (5);
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_at ON events(at);
",
        )
        .unwrap();
        assert_eq!(
            schema(&conn)[0],
            (
                "table".into(),
                "events".into(),
                "CREATE TABLE \"events\" (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    at INTEGER NOT NULL\n)"
                    .into()
            )
        );
        conn.execute("INSERT INTO events (at) VALUES (6)", [])
            .unwrap();
        let last: (i64, String) = conn
            .query_row("SELECT seq, name FROM sqlite_sequence", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(last, (2, "events".into()));
    }

    #[test]
    fn what_sqlite_would_refuse_or_rewrite_more_for_is_refused_and_rolled_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b TEXT, UNIQUE (a, b));
             CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE v (u_id INTEGER REFERENCES u(id));
             CREATE TABLE w (x INTEGER);",
        )
        .unwrap();
        let before = schema(&conn);
        for alter in [
            "ALTER TABLE t ADD COLUMN c INTEGER;",
            "ALTER TABLE u ADD COLUMN c INTEGER PRIMARY KEY;",
            "ALTER TABLE u ADD COLUMN c INTEGER UNIQUE;",
            "ALTER TABLE u ADD COLUMN c INTEGER NOT NULL;",
            "ALTER TABLE u ADD COLUMN c INTEGER NOT NULL DEFAULT NULL;",
            "ALTER TABLE u ADD COLUMN c INTEGER DEFAULT (1 + 1);",
            "ALTER TABLE u ADD COLUMN c TEXT DEFAULT abc;",
            "ALTER TABLE u ADD COLUMN c INTEGER REFERENCES w(x) DEFAULT 1;",
            "ALTER TABLE nothing ADD COLUMN c INTEGER;",
            "ALTER TABLE u RENAME TO w;",
            "ALTER TABLE u RENAME TO z;",
            "ALTER TABLE u DROP COLUMN name;",
        ] {
            let tx = conn.transaction().unwrap();
            assert!(
                run(&tx, &format!("INSERT INTO w VALUES (1);\n{alter}\n")).is_err(),
                "{alter}"
            );
            drop(tx);
            assert_eq!(schema(&conn), before, "{alter}");
        }
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM w", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }
}
