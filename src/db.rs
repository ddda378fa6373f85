//! The SQLite file: opening, pragmas, migrations, and the async doorway the
//! rest of the server goes through. One writer connection serialises writes;
//! a few reader connections serve reads concurrently thanks to WAL.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Each entry moves the schema one `user_version` forward. Never edit a
/// released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("schema/001_core.sql"),
    include_str!("schema/002_clients.sql"),
];

const READERS: usize = 3;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
}

/// Opens a connection with the pragmas every connection needs.
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // FULL: an acknowledged order must survive a power cut, routers get many.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

/// Brings the schema up to date inside one transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        log::warn!(
            "database schema version {current} is newer than this binary knows ({})",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        log::info!("database migrated to schema version {}", index + 1);
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) `orderspot.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Db> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = data_dir.join("orderspot.db");
        let mut writer = connect(&path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(&path).map(Mutex::new))
            .collect::<rusqlite::Result<_>>()?;
        Ok(Db {
            inner: Arc::new(Pool {
                writer: Mutex::new(writer),
                readers,
            }),
        })
    }

    /// Runs `f` inside an immediate transaction on the writer, off the
    /// async threads; commits when `f` succeeds.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static,
    {
        let pool = self.inner.clone();
        run_blocking(move || {
            let mut conn = pool.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` on a free reader connection (or waits for one).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.inner.clone();
        run_blocking(move || {
            let conn = pool
                .readers
                .iter()
                .find_map(|m| m.try_lock().ok())
                .unwrap_or_else(|| pool.readers[0].lock().unwrap_or_else(|p| p.into_inner()));
            f(&conn)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
}

/// An in-memory database with the full schema, for unit tests.
#[cfg(test)]
pub fn test_connection() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    migrate(&mut conn).unwrap();
    conn
}
