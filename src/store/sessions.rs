//! Login sessions of shopkeepers and the owner, stored by token hash.

use super::{Optional, Result};
use rusqlite::{params, Connection};

pub fn insert(
    conn: &Connection,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

/// The user of a live session.
pub fn user_id(conn: &Connection, token_hash: &str, now: i64) -> Result<Option<i64>> {
    super::one_row(
        conn,
        "SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        params![token_hash, now],
        super::int,
    )
    .optional()
}

pub fn delete(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        params![token_hash],
    )?;
    Ok(())
}

pub fn delete_for_user(conn: &Connection, user_id: i64) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", params![user_id])?;
    Ok(())
}

pub fn delete_expired(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?)
}
