//! The SQLite file: opening, pragmas, migrations, and the async doorway the
//! rest of the server goes through. One writer connection serialises writes;
//! a few reader connections serve reads concurrently thanks to WAL (or take
//! turns with the writer where the filesystem cannot do WAL).

mod alter;

use crate::error::{Error, Failure, Result};
use crate::support::inflate::Packed;
use rusqlite::Connection;
use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Each file of `src/db/schema/` moves the schema one `user_version`
/// forward, in the order of their names (build.rs deflates them). Never edit
/// a released one: add a new one.
const MIGRATIONS: Packed = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The newest `user_version` this binary knows.
pub const SCHEMA_VERSION: usize = MIGRATIONS.names.len();

/// The migrations' SQL, one after the other (`MIGRATIONS.texts` cuts it).
fn migrations() -> rusqlite::Result<String> {
    MIGRATIONS.inflate().map_err(|_| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some("the migrations built in are malformed".into()),
        )
    })
}

const READERS: usize = 3;

/// Statements each connection keeps prepared (rusqlite keeps 16).
const STATEMENT_CACHE: usize = 64;

const FILE_NAME: &str = "orderspot.db";

/// Below this many free bytes the filesystem counts as full: more than the
/// largest single allocation SQLite makes for a small write (a 32 KiB
/// chunk of the `-shm` file).
const NO_SPACE_BYTES: u64 = 64 * 1024;

/// Flash wear: checkpoint after about 1 MiB of WAL whatever the page size
/// (`wal_checkpoint_pages`), and truncate the file back to 1 MiB after a
/// checkpoint. Without the limit the file keeps the largest size it ever
/// reached (about 4 MiB, more while a long read holds a checkpoint back).
/// A checkpoint copies each page the WAL holds once, however many commits
/// changed it: at 256 KiB (256 pages of 1 KiB) an order's life wrote 20%
/// more than at 1 MiB. `scripts/wal-bench.sh` measures both and the bytes
/// written per order.
const WAL_CHECKPOINT_BYTES: i64 = 1 << 20;
const WAL_SIZE_LIMIT: &str = "PRAGMA journal_size_limit = 1048576";

/// How transactions are journaled. WAL lets readers run beside the writer,
/// but it maps its `-shm` file shared and writable, which JFFS2 (the overlay
/// of most NOR-flash routers) and some FUSE mounts refuse: there the
/// database uses a rollback journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Journal {
    Wal,
    /// A WAL database whose `-shm` file cannot be created because the disk
    /// is full: its index lives in this process's memory instead, which
    /// needs an exclusive lock, so one connection serves everything.
    WalAlone,
    Rollback,
}

impl Journal {
    /// Tries WAL on a scratch database in `dir`, so the server and every CLI
    /// process on the same filesystem come to the same answer whatever state
    /// the real database is in (two processes must never disagree on it).
    /// A probe that fails for lack of space says nothing about WAL: then the
    /// database file's own journal mode decides.
    fn for_dir(dir: &Path) -> Journal {
        let probe = dir.join(format!(".wal-probe-{}.db", std::process::id()));
        let works = Connection::open(&probe).and_then(|conn| {
            pragma(&conn, "PRAGMA journal_mode = WAL")?;
            // The first transaction maps the -shm file.
            conn.execute_batch("CREATE TABLE probe(x)")
        });
        for suffix in ["", "-wal", "-shm"] {
            let mut path = probe.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        let Err(e) = works else {
            return Journal::Wal;
        };
        if !is_out_of_space(&e, dir) {
            log::info!(
                "{} cannot hold a WAL database ({e}): using a rollback journal",
                dir.display()
            );
            return Journal::Rollback;
        }
        let journal = match journal_in_header(&dir.join(FILE_NAME)) {
            Some(Journal::Wal) => Journal::WalAlone,
            // No database yet, or a rollback one: a rollback journal needs
            // no shared memory and reads need no space at all.
            _ => Journal::Rollback,
        };
        log::warn!(
            "{} has no room to try WAL ({e}): keeping the database's own journal{}",
            dir.display(),
            if journal == Journal::WalAlone {
                ", WAL without shared memory (one connection until the next restart)"
            } else {
                ""
            }
        );
        journal
    }

    fn pragmas(self) -> &'static [&'static str] {
        match self {
            Journal::Wal => &["PRAGMA journal_mode = WAL", WAL_SIZE_LIMIT],
            // Exclusive before the first access keeps the WAL index in
            // memory: no -shm file.
            Journal::WalAlone => &[
                "PRAGMA locking_mode = EXCLUSIVE",
                "PRAGMA journal_mode = WAL",
                WAL_SIZE_LIMIT,
            ],
            // Truncating the journal to commit spares flash a directory
            // update per transaction.
            Journal::Rollback => &["PRAGMA journal_mode = TRUNCATE"],
        }
    }
}

/// The journal mode a database file was last written with: bytes 18 and 19
/// of the SQLite header are 2 for WAL, 1 for a rollback journal.
fn journal_in_header(path: &Path) -> Option<Journal> {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .ok()?;
    if !header.starts_with(b"SQLite format 3\0") {
        return None;
    }
    match (header[18], header[19]) {
        (2, 2) => Some(Journal::Wal),
        (1, 1) => Some(Journal::Rollback),
        _ => None,
    }
}

/// Whether `e` came from the disk holding `dir` being full. SQLite reports
/// ENOSPC as SQLITE_FULL on ordinary writes but as a plain I/O error when
/// growing the `-shm` file, syncing or creating a file, so those count when
/// the filesystem has no room left.
fn is_out_of_space(e: &rusqlite::Error, dir: &Path) -> bool {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => true,
        Some(rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::CannotOpen) => {
            free_space(dir).is_some_and(|space| space.free_bytes < NO_SPACE_BYTES)
        }
        _ => false,
    }
}

/// Room on the filesystem holding the database.
#[derive(Clone, Copy, Debug)]
pub struct Space {
    /// What this process may still write.
    pub free_bytes: u64,
    pub total_bytes: u64,
}

fn free_space(dir: &Path) -> Option<Space> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    // The field types differ between targets (32-bit routers).
    let fragment = stat.fragment_size() as u64;
    Some(Space {
        free_bytes: (stat.blocks_available() as u64).saturating_mul(fragment),
        total_bytes: (stat.blocks() as u64).saturating_mul(fragment),
    })
}

/// What the owner is told about storage.
#[derive(Clone, Copy, Debug)]
pub struct Storage {
    /// Saving failed for lack of space and no room has appeared since.
    pub full: bool,
    /// `None` when the filesystem cannot be asked.
    pub space: Option<Space>,
}

#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    writer: Mutex<Connection>,
    /// Writes waiting for the next group commit.
    queue: Mutex<Queue>,
    /// Empty when the writer must serve reads too (`Journal::WalAlone`).
    readers: Vec<Mutex<Connection>>,
    data_dir: PathBuf,
    /// Set while saving fails for lack of space, so the owner is told once
    /// when it starts and once when it stops.
    out_of_space: AtomicBool,
}

impl Pool {
    /// Turns a failure on a disk without room into `StorageFull`: SQLite
    /// reports some ENOSPC cases as plain I/O errors (see `is_out_of_space`).
    fn storage_error(&self, e: Error) -> Error {
        match *e {
            Failure::Internal(_)
                if free_space(&self.data_dir).is_some_and(|s| s.free_bytes < NO_SPACE_BYTES) =>
            {
                log::warn!("{e}");
                Failure::StorageFull.into()
            }
            _ => e,
        }
    }

    /// Keeps the full state in step with what a commit found.
    fn note_outcome(&self, committed: &Result<()>) {
        match committed {
            Ok(()) if self.out_of_space.load(Ordering::SeqCst) => {
                self.note_room(free_space(&self.data_dir));
            }
            Err(e) if matches!(**e, Failure::StorageFull) => self.note_full(),
            _ => {}
        }
    }

    fn note_full(&self) {
        if !self.out_of_space.swap(true, Ordering::SeqCst) {
            log::error!(
                "storage full: {} has no room, new orders and changes are refused until space is freed",
                self.data_dir.display()
            );
        }
    }

    /// Clears the full state once the filesystem has room again.
    fn note_room(&self, space: Option<Space>) {
        if self.out_of_space.load(Ordering::SeqCst)
            && space.is_some_and(|s| s.free_bytes >= NO_SPACE_BYTES)
            && self.out_of_space.swap(false, Ordering::SeqCst)
        {
            log::info!(
                "storage has room again in {}: saving works",
                self.data_dir.display()
            );
        }
    }
}

/// Opens a connection with the pragmas every connection needs.
fn connect(path: &Path, journal: Journal) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Room for every statement of a placement and a stage move, which the
    // store prepares once per connection (`prepare_cached`).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Without it a statement whose plan SQLite tied to a bound value (a
    // parameter it weighed against a partial index's clause) is expired by
    // the cache's `clear_bindings` and parsed again at its next use: 27% of
    // the writer's CPU under load went to such re-prepares.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Each commit writes every page it changed whole: 1 KiB pages write a
    // quarter of the bytes of the default 4 KiB for an order (flash wear).
    // Only a new, empty database takes it; older ones keep their size.
    conn.execute_batch("PRAGMA page_size = 1024")?;
    for setting in journal.pragmas() {
        pragma(&conn, setting)?;
    }
    if journal != Journal::Rollback {
        let pages = wal_checkpoint_pages(pragma(&conn, "PRAGMA page_size")?.unwrap_or(0));
        pragma(&conn, &format!("PRAGMA wal_autocheckpoint = {pages}"))?;
    }
    // FULL: an acknowledged order must survive a power cut, routers get many.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

/// Runs a pragma that answers one row, and reads its number (`None` when
/// it answers text, as `journal_mode` does): every pragma here goes
/// through this one `query_row`, not one inlined copy per closure.
pub(crate) fn pragma(conn: &Connection, sql: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(sql, [], |row| Ok(row.get(0).ok()))
}

/// Pages of `page_size` bytes in WAL_CHECKPOINT_BYTES.
fn wal_checkpoint_pages(page_size: i64) -> i64 {
    WAL_CHECKPOINT_BYTES / page_size.max(512)
}

/// The database file in `data_dir`.
pub fn file_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
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
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", data_dir.display())))?;
    Ok(Journal::for_dir(data_dir))
}

/// Runs one migration's SQL as `migrate` does, its `ALTER TABLE` lines by
/// `alter` (the router's SQLite has no ALTER TABLE). Public for the tests
/// that make a database as an older release left it.
pub fn run_migration(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    alter::run(conn, sql)
}

/// Brings the schema up to date inside one transaction.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current = pragma(conn, "PRAGMA user_version")?.unwrap_or(0);
    let current = usize::try_from(current).unwrap_or(0);
    if current > SCHEMA_VERSION {
        log::warn!(
            "database schema version {current} is newer than this binary knows ({SCHEMA_VERSION})"
        );
    }
    if current >= SCHEMA_VERSION {
        return Ok(());
    }
    let all = migrations()?;
    for (index, (_, sql)) in MIGRATIONS.texts(&all).enumerate().skip(current) {
        let tx = conn.transaction()?;
        run_migration(&tx, sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        log::info!("database migrated to schema version {}", index + 1);
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) `orderspot.db` in `data_dir`. On a full
    /// disk it opens all the same, to serve what is saved.
    pub fn open(data_dir: &Path) -> Result<Db> {
        let journal = prepare_dir(data_dir)?;
        let path = data_dir.join(FILE_NAME);
        let connections = || -> rusqlite::Result<_> {
            let mut writer = connect(&path, journal)?;
            migrate(&mut writer)?;
            let readers = match journal {
                Journal::WalAlone => Vec::new(),
                Journal::Wal | Journal::Rollback => (0..READERS)
                    .map(|_| connect(&path, journal).map(Mutex::new))
                    .collect::<rusqlite::Result<_>>()?,
            };
            Ok((writer, readers))
        };
        let (writer, readers) = connections().map_err(|e| {
            if is_out_of_space(&e, data_dir) {
                log::error!("cannot open the database: {e}");
                Error::from(Failure::StorageFull)
            } else {
                Error::from(e)
            }
        })?;
        let pool = Pool {
            writer: Mutex::new(writer),
            queue: Mutex::default(),
            readers,
            data_dir: data_dir.to_path_buf(),
            out_of_space: AtomicBool::new(false),
        };
        if free_space(data_dir).is_some_and(|s| s.free_bytes < NO_SPACE_BYTES) {
            pool.note_full();
        }
        Ok(Db {
            inner: Arc::new(pool),
        })
    }

    /// The directory holding the database, where files beside it live.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Whether saving fails for lack of space, and the room left.
    pub fn storage(&self) -> Storage {
        let space = free_space(&self.inner.data_dir);
        self.inner.note_room(space);
        Storage {
            full: self.inner.out_of_space.load(Ordering::SeqCst),
            space,
        }
    }

    /// Runs `f` inside an immediate transaction on the writer, off the
    /// async threads, and answers once that transaction has committed.
    /// Writes that arrive while one commits wait and then share the next
    /// transaction (group commit: one fsync for many), each inside its own
    /// savepoint, so a failing `f` is undone alone and reported alone; a
    /// failed commit is reported to every write it held.
    pub fn write<T, F>(&self, f: F) -> Typed<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static,
    {
        Typed::new(self.write_erased(Box::new(move |tx| Ok(Box::new(f(tx)?) as Erased))))
    }

    async fn write_erased(&self, f: WriteJob) -> Result<Erased> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |batch| {
            let outcome = match batch {
                Ok(batch) => batch.run(f),
                Err(e) => Err(e.clone()),
            };
            match outcome {
                Ok(value) => Box::new(move |committed: Result<(), &Error>| {
                    let _ = answer.send(committed.map(|()| value).map_err(Error::clone));
                }),
                Err(e) => {
                    let _ = answer.send(Err(e));
                    Box::new(|_| {})
                }
            }
        });
        let start = {
            let mut queue = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.jobs.push_back(job);
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            let pool = self.inner.clone();
            // Of `spawn_erased`'s task type, so tokio's blocking-task code
            // exists once for both.
            let commit: Task = Box::new(move || {
                commit_batches(&pool);
                Ok(Box::new(()))
            });
            tokio::task::spawn_blocking(commit);
        }
        answered
            .await
            .map_err(|_| Error::internal("database write abandoned".into()))?
    }

    /// Runs `f` on a free reader connection (or waits for one).
    pub fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T>> + Send + '_
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        Typed::new(self.read_erased(Box::new(move |conn| Ok(Box::new(f(conn)?) as Erased))))
    }

    async fn read_erased(&self, f: ReadJob) -> Result<Erased> {
        let pool = self.inner.clone();
        spawn_erased(
            "database",
            Box::new(move || {
                let conn = pool
                    .readers
                    .iter()
                    .find_map(|m| m.try_lock().ok())
                    .unwrap_or_else(|| {
                        let busy = pool.readers.first().unwrap_or(&pool.writer);
                        busy.lock().unwrap_or_else(|p| p.into_inner())
                    });
                f(&conn).map_err(|e| pool.storage_error(e))
            }),
        )
        .await
    }
}

/// One waiting write: runs in the batch's transaction (or learns that it
/// could not begin) and returns what answers it once the commit is known.
type Job = Box<dyn FnOnce(Result<&Batch, &Error>) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(Result<(), &Error>) + Send>;

/// Most writes one transaction holds: later ones wait for the next, so a
/// batch never keeps the writer (and its first caller) long.
const MAX_BATCH: usize = 64;

#[derive(Default)]
struct Queue {
    jobs: std::collections::VecDeque<Job>,
    /// A blocking thread is committing batches; new jobs join its queue.
    committing: bool,
}

/// The transaction a batch of writes shares.
struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
    pool: &'a Pool,
    /// A failed write could not be undone: the batch must not commit.
    broken: std::cell::Cell<bool>,
}

impl Batch<'_> {
    /// `f` between `SAVEPOINT` and `RELEASE`, or rolled back to it when it
    /// fails, so its failure undoes nothing of the others.
    fn run(&self, f: WriteJob) -> Result<Erased> {
        let tx = &self.tx;
        let outcome = run_cached(tx, "SAVEPOINT one_write")
            .map_err(Error::from)
            .and_then(|()| match f(tx) {
                Ok(value) => match run_cached(tx, "RELEASE one_write") {
                    Ok(()) => {
                        POSITION.set(POSITION.get().map(|(batch, kept)| (batch, kept + 1)));
                        Ok(value)
                    }
                    Err(e) => {
                        self.broken.set(true);
                        Err(e.into())
                    }
                },
                Err(e) => {
                    if tx
                        .execute_batch("ROLLBACK TO one_write; RELEASE one_write")
                        .is_err()
                    {
                        self.broken.set(true);
                    }
                    Err(e)
                }
            });
        outcome.map_err(|e| {
            let e = self.pool.storage_error(e);
            self.pool.note_outcome(&Err(e.clone()));
            e
        })
    }
}

std::thread_local! {
    /// Group commits this thread has started, numbering them (per thread,
    /// as what a write leaves for the next is too; MIPS32 has no 64-bit
    /// atomics).
    static BATCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The group commit this thread is running writes of, and how many of
    /// them it has kept so far.
    static POSITION: std::cell::Cell<Option<(u64, u64)>> = const { std::cell::Cell::new(None) };
}

/// Called from inside a write: which group commit it runs in and how many
/// writes before it that transaction kept (their savepoints released);
/// `None` outside `Db::write`. A write may leave what it learnt for the
/// next one of the same transaction, valid only if the position has moved
/// by exactly one (its own write kept) and nothing else changed since.
pub fn write_position() -> Option<(u64, u64)> {
    POSITION.get()
}

/// Runs a statement without parameters or rows, prepared once per connection.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Commits queued writes, up to MAX_BATCH per transaction, until none wait.
fn commit_batches(pool: &Pool) {
    /// Lets the next write start a committer again even if this one dies
    /// (the jobs it held are dropped, and their callers told).
    struct Done<'a>(&'a Pool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            let mut queue = self.0.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.committing = false;
        }
    }
    let done = Done(pool);
    loop {
        let batch: Vec<Job> = {
            let mut queue = pool.queue.lock().unwrap_or_else(|p| p.into_inner());
            let count = queue.jobs.len().min(MAX_BATCH);
            if count == 0 {
                queue.committing = false;
                std::mem::forget(done);
                return;
            }
            queue.jobs.drain(..count).collect()
        };
        commit_batch(pool, batch);
    }
}

fn commit_batch(pool: &Pool, jobs: Vec<Job>) {
    let mut conn = pool.writer.lock().unwrap_or_else(|p| p.into_inner());
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = pool.storage_error(e.into());
            pool.note_outcome(&Err(e.clone()));
            for job in jobs {
                job(Err(&e))(Err(&e));
            }
            return;
        }
    };
    let batch = Batch {
        tx,
        pool,
        broken: std::cell::Cell::new(false),
    };
    let number = BATCHES.get().wrapping_add(1);
    BATCHES.set(number);
    POSITION.set(Some((number, 0)));
    let delivers: Vec<Deliver> = jobs.into_iter().map(|job| job(Ok(&batch))).collect();
    POSITION.set(None);
    let committed = if batch.broken.get() {
        Err(Error::internal(
            "a failed write could not be undone: its batch was rolled back".into(),
        ))
    } else {
        batch.tx.commit().map_err(|e| pool.storage_error(e.into()))
    };
    pool.note_outcome(&committed);
    for deliver in delivers {
        deliver(committed.as_ref().map(|_| ()));
    }
}

/// A result whose type is erased, so that tokio's blocking-task code and the
/// connection handling above exist once in the binary, not once per use
/// case (210,124 bytes of the mips binary).
type Erased = Box<dyn Any + Send>;
type Task = Box<dyn FnOnce() -> Result<Erased> + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) -> Result<Erased> + Send>;
type WriteJob = Box<dyn FnOnce(&rusqlite::Transaction) -> Result<Erased> + Send>;

/// Runs `f` off the async threads; `what` names the work if its task fails.
pub fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Typed<'static, T> {
    Typed::new(spawn_erased(
        what,
        Box::new(move || Ok(Box::new(f()?) as Erased)),
    ))
}

async fn spawn_erased(what: &'static str, job: Task) -> Result<Erased> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| Error::internal(format!("{what} task failed: {e}")))?
}

/// An erased answer's future as one of `T`: the code per use of `read`,
/// `write` and `blocking` is then this small future per result type, not a
/// future per closure type around the erased one.
pub struct Typed<'a, T> {
    erased: Pin<Box<dyn Future<Output = Result<Erased>> + Send + 'a>>,
    wants: PhantomData<fn() -> T>,
}

impl<'a, T> Typed<'a, T> {
    fn new(erased: impl Future<Output = Result<Erased>> + Send + 'a) -> Self {
        Typed {
            erased: Box::pin(erased),
            wants: PhantomData,
        }
    }
}

impl<T: 'static> Future for Typed<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.erased.as_mut().poll(cx).map(|erased| typed(erased?))
    }
}

fn typed<T: 'static>(value: Erased) -> Result<T> {
    match value.downcast() {
        Ok(value) => Ok(*value),
        Err(other) => Err(another_type(other)),
    }
}

/// `typed`'s error, made once rather than in each of its copies.
#[inline(never)]
fn another_type(value: Erased) -> Error {
    drop(value);
    Error::internal("a blocking task returned another type".into())
}

/// Kim's approved shop (user and shop ids 1), which unit tests' orders name.
#[cfg(test)]
pub const TEST_SHOP: &str = "INSERT INTO users (id, email, name, role, password_hash, created_at)
                                 VALUES (1, 'k@x', 'Kim', 'shopkeeper', 'h', 0);
                             INSERT INTO shops (id, owner_user_id, name, status, created_at)
                                 VALUES (1, 1, 'Noodles', 'approved', 0);";

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
    use crate::error::Failure;

    /// A database with table `t`, and a write that holds the writer for a
    /// while so that the writes sent meanwhile share the next commit.
    async fn held_database(label: &str) -> (Db, PathBuf, tokio::task::JoinHandle<Result<()>>) {
        let dir = scratch_dir(label);
        let db = Db::open(&dir).unwrap();
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE t(x INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        let holder = db.clone();
        let started = Arc::new(AtomicBool::new(false));
        let running = started.clone();
        let held = tokio::spawn(async move {
            holder
                .write(move |_| {
                    running.store(true, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .await
        });
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        (db, dir, held)
    }

    fn insert(db: &Db, x: i64, fail: bool) -> tokio::task::JoinHandle<Result<i64>> {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |tx| {
                tx.execute("INSERT INTO t(x) VALUES (?1)", [x])?;
                if fail {
                    return Err(Error::bad(crate::error::Code::OrderBadLine));
                }
                Ok(x)
            })
            .await
        })
    }

    #[tokio::test]
    async fn a_failing_write_in_a_batch_is_undone_alone() {
        let (db, dir, held) = held_database("batch-fail").await;
        let writes: Vec<_> = (1..=5).map(|x| insert(&db, x, x == 3)).collect();
        held.await.unwrap().unwrap();
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap().is_ok());
        }
        assert_eq!(answers, [true, true, false, true, true]);
        let rows: Vec<i64> = db
            .read(|c| {
                let mut stmt = c.prepare("SELECT x FROM t ORDER BY x")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
            .unwrap();
        assert_eq!(rows, [1, 2, 4, 5]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_write_is_answered_only_once_its_batch_has_committed() {
        let (db, dir, held) = held_database("batch-commit").await;
        // Sent while the holder runs, so both share the next transaction.
        let first = insert(&db, 1, false);
        while db.inner.queue.lock().unwrap().jobs.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let slow_done = Arc::new(AtomicBool::new(false));
        let flag = slow_done.clone();
        let slow = db.clone();
        let slow = tokio::spawn(async move {
            slow.write(move |_| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                flag.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await
        });
        assert_eq!(first.await.unwrap(), Ok(1));
        assert!(
            slow_done.load(Ordering::SeqCst),
            "answered before the write it commits with had run"
        );
        slow.await.unwrap().unwrap();
        held.await.unwrap().unwrap();

        // A commit that fails (a foreign key checked only at COMMIT) is
        // reported to the writes it held, and keeps none of them.
        db.write(|tx| {
            Ok(tx.execute_batch(
                "CREATE TABLE p(id INTEGER PRIMARY KEY);
                 CREATE TABLE c(p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
            )?)
        })
        .await
        .unwrap();
        let failed = db
            .write(|tx| Ok(tx.execute("INSERT INTO c(p) VALUES (7)", [])?))
            .await;
        assert!(
            matches!(failed.as_ref().map_err(|e| &**e), Err(Failure::Internal(_))),
            "{failed:?}"
        );
        let kept: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM c", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(kept, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What `sqls`, run as `migrate` runs them, leave in `sqlite_master`.
    fn schema_made_by(sqls: &[&str]) -> Vec<(String, String, Option<String>)> {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in sqls {
            let tx = conn.transaction().unwrap();
            run_migration(&tx, sql).unwrap();
            tx.commit().unwrap();
        }
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        rows.unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn migrations_lose_only_comment_lines_and_keep_the_schema() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/schema");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let all = migrations().unwrap();
        let packed: Vec<(&str, &str)> = MIGRATIONS.texts(&all).collect();
        let names: Vec<&str> = packed.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, on_disk, "every file, in the order of their names");
        assert_eq!(names.len(), SCHEMA_VERSION);

        let originals: Vec<String> = names
            .iter()
            .map(|name| std::fs::read_to_string(dir.join(name)).unwrap())
            .collect();
        let mut dropped = 0;
        for ((name, kept), original) in packed.iter().zip(&originals) {
            // The kept lines are the original's, in order; the others are comments.
            let mut kept = kept.lines().peekable();
            for line in original.lines() {
                if kept.peek() == Some(&line) {
                    kept.next();
                } else {
                    assert!(line.trim_start().starts_with("--"), "{name}: {line}");
                    dropped += 1;
                }
            }
            assert_eq!(kept.next(), None, "{name}");
        }
        assert!(dropped > 100, "{dropped}");

        let originals: Vec<&str> = originals.iter().map(String::as_str).collect();
        let packed: Vec<&str> = packed.iter().map(|(_, sql)| *sql).collect();
        let schema = schema_made_by(&packed);
        assert!(schema.len() > 50, "{schema:?}");
        assert_eq!(schema, schema_made_by(&originals));
        // Comments inside a statement are kept, as SQLite stores them.
        assert!(schema
            .iter()
            .any(|(_, _, sql)| sql.as_deref().is_some_and(|sql| sql.contains("--"))));
    }

    /// Runs the first `count` migrations, as an older binary left the file.
    fn migrate_to(conn: &mut Connection, count: usize) {
        let all = migrations().unwrap();
        for (index, (_, sql)) in MIGRATIONS.texts(&all).enumerate().take(count) {
            let tx = conn.transaction().unwrap();
            run_migration(&tx, sql).unwrap();
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .unwrap();
            tx.commit().unwrap();
        }
    }

    #[test]
    fn migration_18_keeps_every_order_event_and_key_and_ids_go_on_rising() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        migrate_to(&mut conn, 17);
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO menu_items (id, shop_id, name, price_cents, created_at, updated_at)
                 VALUES (1, 1, 'Soup', 500, 0, 0);
             INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, change_seq, pickup_code, total_cents,
                                 created_at, updated_at)
                 VALUES (1, 1, 'a', 't', 'Ann', 'ready', 3, 7, 'A1', 500, 1000, 2000),
                        (2, 1, 'b', 't', 'Bo', 'placed', 1, 9, 'B2', 500, 3000, 3000);
             INSERT INTO order_items (order_id, item_id, name, unit_price_cents, qty,
                                      line_total_cents)
                 VALUES (1, 1, 'Soup', 500, 1, 500), (2, 1, 'Soup', 500, 1, 500);
             INSERT INTO order_events (id, order_id, from_status, to_status, actor_role,
                                       actor_user_id, reason, created_at)
                 VALUES (5, 1, NULL, 'placed', 'customer', NULL, '', 1000),
                        (6, 1, 'placed', 'accepted', 'shop', 1, 'ok', 1500),
                        (7, 1, 'preparing', 'ready', 'shop', 1, '', 2000),
                        (9, 2, NULL, 'placed', 'customer', NULL, '', 3000);",
        )
        .unwrap();
        // Every column of every event, as text.
        let events = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT concat_ws('|', id, order_id, from_status, to_status, actor_role,
                                      actor_user_id, reason, created_at)
                     FROM order_events ORDER BY id",
                )
                .unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        let before = events(&conn);

        migrate(&mut conn).unwrap();
        assert_eq!(events(&conn), before);
        let mut check = conn.prepare("PRAGMA foreign_key_check").unwrap();
        assert!(check.query([]).unwrap().next().unwrap().is_none());
        drop(check);
        let sequences: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_sequence WHERE name = 'order_events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sequences, 0, "order_events still has AUTOINCREMENT");
        // An event names an existing order, and the next one goes on from 9.
        assert!(conn
            .execute(
                "INSERT INTO order_events (order_id, to_status, actor_role, created_at)
                 VALUES (99, 'placed', 'customer', 0)",
                [],
            )
            .is_err());
        let seq = crate::store::orders::record_event(
            &conn,
            &crate::store::orders::NewEvent {
                order_id: 1,
                from: Some(crate::store::orders::Status::Ready),
                to: crate::store::orders::Status::Completed,
                actor_role: crate::store::orders::ActorRole::Shop,
                actor_user_id: Some(1),
                reason: "",
                now: 4000,
            },
        )
        .unwrap();
        assert_eq!(seq, 10);
        // The rollup trigger came back with the table.
        let completed: i64 = conn
            .query_row(
                "SELECT completed FROM report_quarters WHERE shop_id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(completed, 1);
    }

    #[test]
    fn migration_18_keys_open_orders_on_when_they_finished() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 17);
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, pickup_code, total_cents, created_at,
                                 updated_at)
                 VALUES (1, 1, 'a', 't', 'Ann', 'completed', 5, 'A1', 500, 1000, 2000),
                        (2, 1, 'b', 't', 'Bo', 'ready', 4, 'B2', 500, 3000, 3000);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let finished = |conn: &Connection| -> Vec<Option<i64>> {
            let mut stmt = conn
                .prepare("SELECT finished_at FROM orders ORDER BY id")
                .unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        assert_eq!(finished(&conn), [Some(2000), None]);
        // Whoever changes the status, the open orders' column follows it.
        use crate::store::orders::{set_status, Status};
        assert!(set_status(&conn, 2, Status::Cancelled, 4, 4000).unwrap());
        assert!(set_status(&conn, 1, Status::Ready, 5, 5000).unwrap());
        assert_eq!(finished(&conn), [None, Some(4000)]);
        assert!(set_status(&conn, 1, Status::Completed, 6, 6000).unwrap());
        conn.execute(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, pickup_code, total_cents, created_at,
                                 updated_at)
             VALUES (3, 1, 'c', 't', 'Cy', 'cancelled', 1, 'C3', 500, 7000, 7000)",
            [],
        )
        .unwrap();
        assert_eq!(finished(&conn), [Some(6000), Some(4000), Some(7000)]);
        assert_eq!(
            crate::store::orders::open_count_for_shop(&conn, 1).unwrap(),
            0
        );
    }

    #[test]
    fn a_stage_move_writes_no_page_of_the_open_orders_indexes() {
        use crate::store::orders::{record_event, set_status, ActorRole, NewEvent, Status};
        let dir = std::env::temp_dir().join(format!("orderspot-db-move-{}", std::process::id()));
        let conn = open_one(&dir).unwrap();
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, pickup_code, total_cents, created_at,
                                 updated_at, placed_from)
                 VALUES (1, 1, 'a', 't', 'Ann', 'placed', 1, 'A1', 500, 1000, 1000, '10.0.0.2');
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        let wal = dir.join(format!("{FILE_NAME}-wal"));
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert!(set_status(&conn, 1, Status::Accepted, 1, 2000).unwrap());
        let event = NewEvent {
            order_id: 1,
            from: Some(Status::Placed),
            to: Status::Accepted,
            actor_role: ActorRole::Shop,
            actor_user_id: Some(1),
            reason: "",
            now: 2000,
        };
        record_event(&conn, &event).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        let page: u32 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        let frames = (std::fs::metadata(&wal).unwrap().len() - 32) / (u64::from(page) + 24);
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
        // The order's row, its orders_shop_change entry, the event and its
        // order_events_order entry; orders_open_code and orders_open_from
        // made it six while their clause read `status`.
        assert_eq!(frames, 4);
    }

    #[test]
    fn a_wal_database_checkpoints_early_and_truncates_its_wal() {
        let dir = std::env::temp_dir().join(format!("orderspot-db-wal-{}", std::process::id()));
        let conn = open_one(&dir).unwrap();
        let limit: i64 = conn
            .query_row("PRAGMA journal_size_limit", [], |r| r.get(0))
            .unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((limit, pages), (1_048_576, 1024));
        assert_eq!(wal_checkpoint_pages(4096), 256);
    }

    #[test]
    fn a_cached_statement_is_not_parsed_again_for_other_values() {
        use rusqlite::OptionalExtension;
        let dir = scratch_dir("reprepare");
        let mut conn = connect(&dir.join(FILE_NAME), Journal::Wal).unwrap();
        migrate(&mut conn).unwrap();
        // SQLite plans each of these against the bound value (a join's
        // `= ?1` carried over to the other table and weighed against its
        // indexes), so without QPSG the cache's clear_bindings expired it
        // and every use parsed it again.
        let queries = [
            "SELECT r.ingredient_id, r.qty FROM item_ingredients r
             JOIN ingredients i ON i.id = r.ingredient_id
             WHERE r.item_id = ?1 AND i.deleted = 0 ORDER BY r.ingredient_id",
            "SELECT s.name, o.id FROM shops s JOIN orders o ON o.shop_id = s.id WHERE s.id = ?1",
        ];
        for sql in queries {
            for value in [1, 2, 3] {
                conn.prepare_cached(sql)
                    .unwrap()
                    .query_row([value], |_| Ok(()))
                    .optional()
                    .unwrap();
            }
            let statement = conn.prepare_cached(sql).unwrap();
            let parsed_again = statement.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(parsed_again, 0, "{sql}");
        }
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_ordinary_directory_gets_wal_and_the_probe_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("orderspot-db-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Journal::for_dir(&dir), Journal::Wal);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }

    fn scratch_dir(label: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("orderspot-db-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_header_tells_a_wal_database_from_a_rollback_one() {
        let dir = scratch_dir("header");
        let path = dir.join(FILE_NAME);
        assert_eq!(journal_in_header(&path), None);
        for journal in [Journal::Wal, Journal::Rollback] {
            let conn = connect(&path, journal).unwrap();
            conn.execute_batch("CREATE TABLE IF NOT EXISTS t(x)")
                .unwrap();
            drop(conn);
            assert_eq!(journal_in_header(&path), Some(journal));
        }
        std::fs::write(&path, b"not a database at all").unwrap();
        assert_eq!(journal_in_header(&path), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_database_has_small_pages_and_an_old_one_keeps_its_own() {
        let dir = scratch_dir("pages");
        let page_size = |path: &Path| -> i64 {
            connect(path, Journal::Wal)
                .unwrap()
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let new = dir.join(FILE_NAME);
        connect(&new, Journal::Wal)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        assert_eq!(page_size(&new), 1024);
        let old = dir.join("old.db");
        Connection::open(&old)
            .unwrap()
            .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t(x)")
            .unwrap();
        assert_eq!(page_size(&old), 4096);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wal_database_opens_without_shared_memory_when_alone() {
        let dir = scratch_dir("alone");
        let path = dir.join(FILE_NAME);
        let conn = connect(&path, Journal::Wal).unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1)")
            .unwrap();
        drop(conn);

        let conn = connect(&path, Journal::WalAlone).unwrap();
        conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
        assert!(!dir.join(format!("{FILE_NAME}-shm")).exists());
        drop(conn);
        assert_eq!(journal_in_header(&path), Some(Journal::Wal));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
