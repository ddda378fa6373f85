//! Backups of the live database and restoring one. A backup is `VACUUM
//! INTO` a temporary file beside the database: one consistent snapshot
//! taken inside a read transaction, so orders keep arriving meanwhile.
//! Restoring replaces the file only while no server holds the data
//! directory's lock.

use crate::db;
use crate::error::{Code, Error, Result};
use nix::fcntl::{Flock, FlockArg};
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

const LOCK_FILE: &str = "orderspot.lock";

/// One backup at a time in this process: each needs room for a whole copy.
static TAKING: AtomicBool = AtomicBool::new(false);

/// The right to take a backup; the temporary file goes with it.
pub struct Snapshot {
    pub path: PathBuf,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        TAKING.store(false, Ordering::SeqCst);
    }
}

/// Claims the one backup slot; `backup.busy` while another is under way.
pub fn claim(data_dir: &Path) -> Result<Snapshot> {
    if TAKING.swap(true, Ordering::SeqCst) {
        return Err(Error::conflict(Code::BackupBusy));
    }
    let path = data_dir.join(format!(".backup-{}.db", std::process::id()));
    // A leftover of a crash would make VACUUM INTO refuse.
    let _ = std::fs::remove_file(&path);
    Ok(Snapshot { path })
}

/// Writes a consistent copy of `conn`'s database to the snapshot's file.
pub fn take(conn: &Connection, snapshot: &Snapshot) -> Result<()> {
    let target = snapshot.path.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

/// Copies a finished snapshot to `target` and flushes it to disk.
pub fn save_as(snapshot: &Snapshot, target: &Path) -> Result<()> {
    let failed =
        |e: std::io::Error| Error::internal(format!("cannot write {}: {e}", target.display()));
    copy_synced(&snapshot.path, target).map_err(failed)
}

/// Copies the file at `from` to `to` (replacing it) and flushes it to
/// disk. A plain read and write loop: `std::fs::copy` brings its
/// kernel-copy paths (copy_file_range, sendfile, splice), about 3 KB.
fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = File::open(from)?;
    let mut target = File::create(to)?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match source.read(&mut buffer) {
            Ok(0) => return target.sync_all(),
            Ok(n) => target.write_all(&buffer[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The data directory's lock, held by a running server (and by a restore)
/// until the returned value is dropped.
pub fn lock(data_dir: &Path) -> Result<Flock<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))
        .map_err(|e| {
            Error::internal(format!(
                "cannot open the lock in {}: {e}",
                data_dir.display()
            ))
        })?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        Error::bad(Code::Usage).with(
            "detail",
            format!(
                "{} is in use by a running orderspot server ({}): stop it first",
                data_dir.display(),
                crate::support::os_error(e)
            ),
        )
    })
}

/// Checks that `path` is an OrderSpot database this binary can open: a
/// SQLite file whose schema is not newer than ours and whose every table
/// reads to the end (`PRAGMA integrity_check` is left out of the router's
/// SQLite build). Returns its schema version.
pub fn check(path: &Path) -> Result<i64> {
    let refuse = |why: String| {
        Error::bad(Code::Usage).with(
            "detail",
            format!("{} is no usable backup: {why}", path.display()),
        )
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| refuse(e.to_string()))?;
    let version = db::pragma(&conn, "PRAGMA user_version")
        .map_err(|e| refuse(e.to_string()))?
        .unwrap_or(0);
    if version > db::SCHEMA_VERSION as i64 {
        return Err(refuse(format!(
            "its schema version {version} is newer than this orderspot's ({})",
            db::SCHEMA_VERSION
        )));
    }
    let tables = (|| -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect()
    })()
    .map_err(|e| refuse(e.to_string()))?;
    if !tables.iter().any(|t| t == "orders") {
        return Err(refuse("it has no orders table".into()));
    }
    for table in &tables {
        let sql = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
        (|| -> rusqlite::Result<()> {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        })()
        .map_err(|e| refuse(format!("table {table}: {e}")))?;
    }
    Ok(version)
}

/// Replaces the database in `data_dir` with the backup at `source`, after
/// checking it, while holding the directory's lock (so no server runs).
pub fn restore(data_dir: &Path, source: &Path) -> Result<i64> {
    let _lock = lock(data_dir)?;
    let version = check(source)?;
    let live = db::file_in(data_dir);
    let incoming = data_dir.join(".restore.db");
    let failed = |e: std::io::Error| {
        Error::internal(format!("cannot restore into {}: {e}", data_dir.display()))
    };
    copy_synced(source, &incoming).map_err(failed)?;
    // The old database's journal belongs to it, not to the backup.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut old = live.clone().into_os_string();
        old.push(suffix);
        let _ = std::fs::remove_file(old);
    }
    std::fs::rename(&incoming, &live).map_err(failed)?;
    File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(failed)?;
    Ok(version)
}
