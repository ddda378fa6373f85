//! The SQLite file: opening, pragmas, migrations, and the async doorway the
//! rest of the server goes through. One writer connection serialises writes;
//! a few reader connections serve reads concurrently thanks to WAL (or take
//! turns with the writer where the filesystem cannot do WAL).

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Each entry moves the schema one `user_version` forward. Never edit a
/// released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("schema/001_core.sql"),
    include_str!("schema/002_clients.sql"),
    include_str!("schema/003_order_limits.sql"),
];

const READERS: usize = 3;

const FILE_NAME: &str = "orderspot.db";

/// How transactions are journaled. WAL lets readers run beside the writer,
/// but it maps its `-shm` file shared and writable, which JFFS2 (the overlay
/// of most NOR-flash routers) and some FUSE mounts refuse: there the
/// database uses a rollback journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Journal {
    Wal,
    Rollback,
}

impl Journal {
    /// Tries WAL on a scratch database in `dir`, so the server and every CLI
    /// process on the same filesystem come to the same answer whatever state
    /// the real database is in (two processes must never disagree on it).
    fn for_dir(dir: &Path) -> Journal {
        let probe = dir.join(format!(".wal-probe-{}.db", std::process::id()));
        let works = Connection::open(&probe).and_then(|conn| {
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            // The first transaction maps the -shm file.
            conn.execute_batch("CREATE TABLE probe(x)")
        });
        for suffix in ["", "-wal", "-shm"] {
            let mut path = probe.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        match works {
            Ok(()) => Journal::Wal,
            Err(e) => {
                log::info!(
                    "{} cannot hold a WAL database ({e}): using a rollback journal",
                    dir.display()
                );
                Journal::Rollback
            }
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            Journal::Wal => "PRAGMA journal_mode = WAL",
            // Truncating the journal to commit spares flash a directory
            // update per transaction.
            Journal::Rollback => "PRAGMA journal_mode = TRUNCATE",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
}

/// Opens a connection with the pragmas every connection needs.
fn connect(path: &Path, journal: Journal) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.query_row(journal.pragma(), [], |_| Ok(()))?;
    // FULL: an acknowledged order must survive a power cut, routers get many.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

/// One up-to-date connection to the database in `data_dir`, for commands
/// that run beside the server.
pub fn open_one(data_dir: &Path) -> Result<Connection> {
    let journal = prepare_dir(data_dir)?;
    let mut conn = connect(&data_dir.join(FILE_NAME), journal)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn prepare_dir(data_dir: &Path) -> Result<Journal> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::Internal(format!("cannot create {}: {e}", data_dir.display())))?;
    Ok(Journal::for_dir(data_dir))
}

/// Brings the schema up to date inside one transaction.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
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
        let journal = prepare_dir(data_dir)?;
        let path = data_dir.join(FILE_NAME);
        let mut writer = connect(&path, journal)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(&path, journal).map(Mutex::new))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_directory_gets_wal_and_the_probe_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("orderspot-db-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Journal::for_dir(&dir), Journal::Wal);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }
}
