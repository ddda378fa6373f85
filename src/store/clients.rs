//! Wi-Fi clients of the captive portal and their acceptance.

use super::{Optional, Result};
use rusqlite::{params, Connection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub accepted_at: Option<i64>,
    pub expires_at: Option<i64>,
}

fn row(r: &Row) -> rusqlite::Result<ClientRow> {
    let mut c = super::Columns::new(r);
    let row = ClientRow {
        ip: c.get(0),
        mac: c.get(1),
        first_seen: c.get(2),
        last_seen: c.get(3),
        accepted_at: c.get(4),
        expires_at: c.get(5),
    };
    c.done(row)
}

/// Records that `ip` was seen: updates its row, or moves the row of its MAC
/// to this IP (a new DHCP lease), or starts a new one. Returns when the
/// client's acceptance expires if it is accepted.
pub fn touch(conn: &Connection, ip: &str, mac: Option<&str>, now: i64) -> Result<Option<i64>> {
    let mut changed = conn.execute(
        "UPDATE clients SET last_seen = ?2, mac = COALESCE(?3, mac) WHERE ip = ?1",
        params![ip, now, mac],
    )?;
    if changed == 0 && mac.is_some() {
        changed = conn.execute(
            "UPDATE clients SET ip = ?1, last_seen = ?2 WHERE id =
               (SELECT id FROM clients WHERE mac = ?3 ORDER BY last_seen DESC LIMIT 1)",
            params![ip, now, mac],
        )?;
    }
    if changed == 0 {
        conn.execute(
            "INSERT INTO clients (ip, mac, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)",
            params![ip, mac, now],
        )?;
    }
    super::one_row(
        conn,
        "SELECT expires_at FROM clients WHERE ip = ?1 AND expires_at > ?2",
        params![ip, now],
        super::int,
    )
    .optional()
}

pub fn accept_ip(
    conn: &Connection,
    ip: &str,
    mac: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO clients (ip, mac, first_seen, last_seen, accepted_at, expires_at)
         VALUES (?1, ?2, ?3, ?3, ?3, ?4)
         ON CONFLICT (ip) DO UPDATE SET accepted_at = excluded.accepted_at,
           expires_at = excluded.expires_at, last_seen = excluded.last_seen,
           mac = COALESCE(excluded.mac, clients.mac)",
        params![ip, mac, now, expires_at],
    )?;
    Ok(())
}

/// Accepts every row of a MAC, or records the MAC alone so the device is
/// accepted when it shows up.
pub fn accept_mac(conn: &Connection, mac: &str, now: i64, expires_at: i64) -> Result<()> {
    let changed = conn.execute(
        "UPDATE clients SET accepted_at = ?2, expires_at = ?3 WHERE mac = ?1",
        params![mac, now, expires_at],
    )?;
    if changed == 0 {
        conn.execute(
            "INSERT INTO clients (mac, first_seen, last_seen, accepted_at, expires_at)
             VALUES (?1, ?2, ?2, ?2, ?3)",
            params![mac, now, expires_at],
        )?;
    }
    Ok(())
}

pub fn deny_ip(conn: &Connection, ip: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE clients SET accepted_at = NULL, expires_at = NULL WHERE ip = ?1",
        params![ip],
    )?)
}

pub fn deny_mac(conn: &Connection, mac: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE clients SET accepted_at = NULL, expires_at = NULL WHERE mac = ?1",
        params![mac],
    )?)
}

/// IPs accepted at `now`, with when each acceptance ends.
pub fn accepted(conn: &Connection, now: i64) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn
        .prepare("SELECT ip, expires_at FROM clients WHERE ip IS NOT NULL AND expires_at > ?1")?;
    super::all_rows(&mut stmt, params![now], |r| Ok((r.get(0)?, r.get(1)?)))
}

pub fn list(conn: &Connection) -> Result<Vec<ClientRow>> {
    let mut stmt = conn.prepare(
        "SELECT ip, mac, first_seen, last_seen, accepted_at, expires_at
         FROM clients ORDER BY last_seen DESC",
    )?;
    super::all_rows(&mut stmt, params![], row)
}

/// Deletes up to `limit` clients last seen before `before` whose
/// acceptance (if any) has ended. Returns how many went.
pub fn delete_stale(conn: &Connection, before: i64, now: i64, limit: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM clients WHERE id IN (SELECT id FROM clients
           WHERE last_seen < ?1 AND (expires_at IS NULL OR expires_at < ?2) LIMIT ?3)",
        params![before, now, limit],
    )?)
}
