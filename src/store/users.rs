//! Accounts of shopkeepers and the venue owner.

use super::stored_enum;
use super::{Optional, Result};
use rusqlite::{params, Connection, Row};

stored_enum! {
    /// What a user may do: run the venue, or run a shop.
    Role {
        Owner = "owner",
        Shopkeeper = "shopkeeper",
    }
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

const COLUMNS: &str = "id, name, role, password_hash";

fn from_row(r: &Row) -> rusqlite::Result<UserRow> {
    let role = r.get(2)?;
    let mut c = super::Columns::new(r);
    let row = UserRow {
        id: c.get(0),
        name: c.get(1),
        role,
        password_hash: c.get(3),
    };
    c.done(row)
}

pub fn insert(
    conn: &Connection,
    email: &str,
    name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO users (email, name, role, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![email, name, role, password_hash, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_email(conn: &Connection, email: &str) -> Result<Option<UserRow>> {
    super::one_row(
        conn,
        &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
        params![email],
        from_row,
    )
    .optional()
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<UserRow>> {
    super::one_row(
        conn,
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        params![id],
        from_row,
    )
    .optional()
}

pub fn set_password(conn: &Connection, id: i64, password_hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, password_hash],
    )?;
    Ok(())
}

pub fn count_by_role(conn: &Connection, role: Role) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM users WHERE role = ?1",
        params![role],
        super::int,
    )
}
