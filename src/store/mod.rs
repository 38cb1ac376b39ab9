//! SQLite storage: the only place SQL lives. One file in WAL mode; one serialized writer
//! (every write is an IMMEDIATE transaction) and a small pool of read-only connections.
//!
//! Functions in the submodules are plain sync functions over a `Connection` or a
//! `Transaction`; `Store::read` runs them on the blocking pool, `Store::write` on the
//! writer thread, one after another. WAL checkpoints run on a thread of their own
//! (`Checkpointer`); the writer checkpoints only as a backstop, so that the WAL is started
//! over.

pub mod also_on;
pub mod archives;
pub mod deletions;
pub mod export;
pub mod federation;
pub mod history;
pub mod items;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod posts;
pub mod rules;
pub mod search;
pub mod sessions;
pub mod social;
pub mod sources;
pub mod users;
pub mod visibility;
pub mod websub;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// How long a connection waits for a lock held by another one before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migrations in order. Append only: a released file is never edited.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    ("0002_invites", include_str!("migrations/0002_invites.sql")),
    (
        "0003_visible_count",
        include_str!("migrations/0003_visible_count.sql"),
    ),
    (
        "0004_fts_batch",
        include_str!("migrations/0004_fts_batch.sql"),
    ),
    (
        "0005_fetch_log_by_id",
        include_str!("migrations/0005_fetch_log_by_id.sql"),
    ),
    (
        "0006_federation",
        include_str!("migrations/0006_federation.sql"),
    ),
    ("0007_history", include_str!("migrations/0007_history.sql")),
    ("0008_media", include_str!("migrations/0008_media.sql")),
    (
        "0009_archives",
        include_str!("migrations/0009_archives.sql"),
    ),
    (
        "0010_deletions",
        include_str!("migrations/0010_deletions.sql"),
    ),
    ("0011_also_on", include_str!("migrations/0011_also_on.sql")),
    (
        "0012_notifications",
        include_str!("migrations/0012_notifications.sql"),
    ),
    (
        "0013_invite_links",
        include_str!("migrations/0013_invite_links.sql"),
    ),
    (
        "0014_notifications_by_item",
        include_str!("migrations/0014_notifications_by_item.sql"),
    ),
    (
        "0015_source_icons",
        include_str!("migrations/0015_source_icons.sql"),
    ),
    (
        "0016_stream_walk_index",
        include_str!("migrations/0016_stream_walk_index.sql"),
    ),
    ("0017_search", include_str!("migrations/0017_search.sql")),
    (
        "0018_websub_subscriptions",
        include_str!("migrations/0018_websub_subscriptions.sql"),
    ),
    ("0019_posts", include_str!("migrations/0019_posts.sql")),
    (
        "0020_visibility",
        include_str!("migrations/0020_visibility.sql"),
    ),
    (
        "0021_rules_moderation",
        include_str!("migrations/0021_rules_moderation.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(
        "the database was written by a newer Tributary (schema {found}, this one knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("migration {name} failed: {source}")]
    Migration {
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("bad stored data: {0}")]
    Corrupt(String),
    #[error("the storage task stopped: {0}")]
    Task(String),
}

#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    /// Async writes go to the writer thread, which runs them one after another.
    jobs: std::sync::mpsc::Sender<Box<dyn WriteJob>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Bumped after every committed write that may change what pages show.
    version: Arc<AtomicU64>,
    /// One permit per reader connection, taken before a read goes to the blocking pool,
    /// so a burst of requests queues here instead of parking blocking threads on the
    /// connection pool (which costs threads, memory and tail latency).
    read_permits: Arc<tokio::sync::Semaphore>,
    checkpointer: Arc<Checkpointer>,
}

/// The writer's own checkpoint threshold, in pages (about 40 MB of WAL); SQLite's default
/// is 1,000.
const WAL_BACKSTOP_PAGES: i64 = 10_000;

/// A reset WAL is truncated to this many bytes.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Answers a write's caller once the commit of its group is known.
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A write for the writer thread.
trait WriteJob: Send {
    /// Runs inside the transaction of its group and hands back how to answer its caller:
    /// `Ok` if its changes are to stay, `Err` if they are to be rolled back (then its own
    /// error is the answer, whatever the commit does).
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Result<Reply, Reply>;
    /// Answers without running: no transaction could be had.
    fn refuse(self: Box<Self>, err: StoreError);
}

struct Write<T, F> {
    f: F,
    answer: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Result<Reply, Reply> {
        let Write { f, answer } = *self;
        // The caller may have gone away; the write stands either way.
        match f(tx) {
            Ok(value) => Ok(Box::new(move |committed| {
                let _ = answer.send(committed.map(|()| value));
            })),
            Err(err) => Err(Box::new(move |_| {
                let _ = answer.send(Err(err));
            })),
        }
    }

    fn refuse(self: Box<Self>, err: StoreError) {
        let _ = self.answer.send(Err(err));
    }
}

/// Most writes committed together. Writes queue while the writer is busy; it takes every
/// queued one (up to this many) into one transaction, so a burst pays one commit.
const MAX_GROUP: usize = 64;

/// Starts the thread that runs async writes in order. A thread of its own, instead of a
/// blocking-pool task per write contending for the writer's lock, saves a thread wake-up
/// and a contended lock per write (they were a third of the time of a round of re-polls
/// answered 304). It ends when the last `Store` clone is dropped.
fn start_writer(
    conn: Arc<Mutex<Connection>>,
    checkpointer: Arc<Checkpointer>,
) -> Result<std::sync::mpsc::Sender<Box<dyn WriteJob>>, StoreError> {
    let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn WriteJob>>();
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || {
            while let Ok(first) = queue.recv() {
                let mut group = std::collections::VecDeque::from([first]);
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(job) => group.push_back(job),
                        Err(_) => break,
                    }
                }
                let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                commit_group(&mut conn, &checkpointer, group);
            }
        })
        .map_err(|err| StoreError::Task(format!("cannot start the writer: {err}")))?;
    Ok(jobs)
}

/// Runs queued writes in one IMMEDIATE transaction and answers each after the commit.
/// With more than one, each runs inside a savepoint, so a write that fails or panics
/// rolls back only its own changes. If SQLite abandons the transaction itself (it does on
/// some I/O and full-disk errors), the writes it held are answered with that error and
/// the rest go on in a new transaction.
fn commit_group(
    conn: &mut Connection,
    checkpointer: &Checkpointer,
    mut jobs: std::collections::VecDeque<Box<dyn WriteJob>>,
) {
    while !jobs.is_empty() {
        let grouped = jobs.len() > 1;
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(err) => {
                let err = StoreError::from(err);
                for job in jobs.drain(..) {
                    job.refuse(shared_error(&err));
                }
                return;
            }
        };
        let mut replies: Vec<Reply> = Vec::new();
        let mut lost: Option<StoreError> = None;
        while let Some(job) = jobs.pop_front() {
            if grouped && let Err(err) = run_cached(&tx, &["SAVEPOINT write_job"]) {
                let err = StoreError::from(err);
                job.refuse(shared_error(&err));
                lost = Some(err);
                break;
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&tx)));
            if tx.is_autocommit() {
                // SQLite rolled the whole transaction back under this write.
                let err = StoreError::Task("SQLite abandoned the write transaction".into());
                if let Ok(Ok(reply) | Err(reply)) = outcome {
                    reply(Err(shared_error(&err)));
                }
                lost = Some(err);
                break;
            }
            let keep = match outcome {
                Ok(Ok(reply)) => {
                    replies.push(reply);
                    true
                }
                Ok(Err(reply)) => {
                    // Its error is its answer; the commit does not change it.
                    reply(Ok(()));
                    false
                }
                // A panicking write dropped its answer; its caller sees that.
                Err(_) => false,
            };
            if !grouped {
                if !keep {
                    drop(tx);
                    return;
                }
                break;
            }
            let end: &[&str] = if keep {
                &["RELEASE write_job"]
            } else {
                &["ROLLBACK TO write_job", "RELEASE write_job"]
            };
            if let Err(err) = run_cached(&tx, end) {
                lost = Some(err.into());
                break;
            }
        }
        if let Some(err) = lost {
            drop(tx);
            for reply in replies {
                reply(Err(shared_error(&err)));
            }
            continue;
        }
        match tx.commit() {
            Ok(()) => {
                checkpointer.committed();
                for reply in replies {
                    reply(Ok(()));
                }
            }
            Err(err) => {
                let err = StoreError::from(err);
                for reply in replies {
                    reply(Err(shared_error(&err)));
                }
            }
        }
    }
}

/// Runs statements without results through the statement cache (parsing a savepoint
/// statement costs more than running it).
fn run_cached(conn: &Connection, statements: &[&str]) -> Result<(), rusqlite::Error> {
    for sql in statements {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

/// A copy of `err` for each of several callers (errors are not `Clone`).
fn shared_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => StoreError::Task(other.to_string()),
    }
}

/// Least time between two checkpoints, so a burst of commits shares one.
const CHECKPOINT_SPACING: Duration = Duration::from_millis(250);

/// Copies committed pages from the WAL into the database file on a thread of its own, so
/// the writer seldom stops for a checkpoint and its fsync (SQLite's automatic checkpoint
/// runs inside the commit that crosses its threshold, on the writer's time).
#[derive(Default)]
struct Checkpointer {
    /// Commits happened since the last checkpoint.
    pending: Mutex<bool>,
    wake: Condvar,
}

impl Checkpointer {
    fn committed(&self) {
        *self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        self.wake.notify_one();
    }

    /// Starts the thread; it ends within a second of the last `Store` clone going away.
    fn start(path: &Path) -> Result<Arc<Checkpointer>, StoreError> {
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let checkpointer = Arc::new(Checkpointer::default());
        let weak: Weak<Checkpointer> = Arc::downgrade(&checkpointer);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Some(checkpointer) = weak.upgrade() {
                    if checkpointer.wait_for_commits() {
                        // PASSIVE never waits for readers or the writer; what it cannot
                        // copy now, the next round copies.
                        if let Err(err) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            tracing::warn!(error = %err, "WAL checkpoint failed");
                        }
                        drop(checkpointer);
                        std::thread::sleep(CHECKPOINT_SPACING);
                    }
                }
            })
            .map_err(|err| StoreError::Task(format!("cannot start the checkpointer: {err}")))?;
        Ok(checkpointer)
    }

    /// Waits up to a second for commits; true if there were some.
    fn wait_for_commits(&self) -> bool {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mut pending, _) = self
            .wake
            .wait_timeout_while(pending, Duration::from_secs(1), |pending| !*pending)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *pending, false)
    }
}

impl Store {
    /// Opens (creating if needed) the database, sets pragmas and runs migrations.
    pub fn open(path: &Path, n_readers: u32) -> Result<Store, StoreError> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        // WAL lets readers work while the writer writes; NORMAL sync is durable across
        // process crashes (the WAL is fsynced at checkpoints), which is what we promise.
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Checkpoints run on the checkpointer's thread. Under a steady stream of writes its
        // PASSIVE checkpoints never catch up with the end of the WAL, and only a complete
        // checkpoint lets the next writer start the WAL over; so the writer still
        // checkpoints, rarely, once the WAL holds WAL_BACKSTOP_PAGES (by then the thread
        // has copied nearly all of it), and a WAL grown by a burst is cut back.
        writer.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        migrate(&mut writer)?;
        let checkpointer = Checkpointer::start(path)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_init(|conn| configure(conn));
        let readers = r2d2::Pool::builder()
            .max_size(n_readers.max(1))
            .min_idle(Some(0))
            .build(manager)?;
        let writer = Arc::new(Mutex::new(writer));
        let jobs = start_writer(writer.clone(), checkpointer.clone())?;
        Ok(Store {
            writer,
            jobs,
            readers,
            path: path.to_owned(),
            version: Arc::new(AtomicU64::new(1)),
            read_permits: Arc::new(tokio::sync::Semaphore::new(n_readers.max(1) as usize)),
            checkpointer,
        })
    }

    /// The content version: it grows after every write that may change a page, so a
    /// rendered page kept under an older version is stale. Read it before reading data.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Marks the content as changed (after a quiet write that turned out to change it).
    pub fn touch(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a read-only connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .read_permits
            .acquire()
            .await
            .map_err(|err| StoreError::Task(err.to_string()))?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.get()?;
            f(&conn)
        })
        .await
        .map_err(|err| StoreError::Task(err.to_string()))?
    }

    /// Runs `f` in one IMMEDIATE transaction on the single writer; commits if it returns
    /// `Ok`, rolls back otherwise.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let value = self.write_quiet(f).await?;
        self.touch();
        Ok(value)
    }

    /// [`Store::write`] for writes that change nothing a page shows (sessions, the
    /// bookkeeping of a poll that found nothing new): the content version stays, so
    /// cached pages stay valid. Call [`Store::touch`] if it changed something after all.
    pub async fn write_quiet<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Write { f, answer });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Task("the writer thread stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Task("the write was dropped".into()))?
    }

    /// The same as [`Store::write`] for callers already off the async runtime.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    {
        let value = commit_on(&self.writer, &self.checkpointer, f)?;
        self.touch();
        Ok(value)
    }

    /// The same as [`Store::read`] for callers already off the async runtime.
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let conn = self.readers.get()?;
        f(&conn)
    }
}

/// A cheap query proving the database answers (for `/healthz`).
pub fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT 1", [], |_| Ok(()))?;
    Ok(())
}

/// Runs `f` in one IMMEDIATE transaction on the writer connection; commits if it returns
/// `Ok`, rolls back otherwise.
fn commit_on<T, F>(
    writer: &Mutex<Connection>,
    checkpointer: &Checkpointer,
    f: F,
) -> Result<T, StoreError>
where
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
{
    // A panic while holding the lock cannot leave a transaction open (the Transaction
    // rolls back on drop), so a poisoned lock is still a usable connection.
    let mut conn = writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    checkpointer.committed();
    Ok(value)
}

fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Applies every migration newer than `PRAGMA user_version`, each in its own transaction
/// together with the version bump, so a crash leaves either the old or the new schema.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration { name, source })?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(migration = name, version, "migrated database");
    }
    Ok(())
}

/// Milliseconds since the epoch, the unit of every time column.
pub fn to_ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("test.db"), 2).unwrap();
        (dir, store)
    }

    /// A user named `name` with one feed source, for tests that need rows to hang items on.
    pub(crate) fn user_with_feed(
        store: &Store,
        name: &str,
    ) -> (crate::model::UserId, crate::model::SourceId) {
        store
            .write_blocking(|tx| {
                let user = users::create(
                    tx,
                    &users::NewUser {
                        name,
                        display_name: name,
                        password_hash: "x",
                        is_admin: false,
                    },
                    chrono::Utc::now(),
                )?;
                let params = serde_json::json!({"url": format!("https://{name}.example/feed")});
                let source = sources::insert(
                    tx,
                    &sources::NewSource::feed(user, &params),
                    chrono::Utc::now(),
                )?;
                Ok((user, source))
            })
            .unwrap()
    }

    #[test]
    fn open_sets_wal_and_foreign_keys_and_migrates() {
        let (_dir, store) = temp_store();
        let conn = store.writer.lock().unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |row| row.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    /// Writes queued behind a busy writer commit as one group; one that fails or panics
    /// rolls back only its own rows, and every caller gets its own answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_writes_fail_alone() {
        use std::future::Future;
        use std::pin::Pin;
        type Pending<'a> = Pin<Box<dyn Future<Output = Result<i64, StoreError>> + Send + 'a>>;

        let (_dir, store) = temp_store();
        store
            .write_blocking(|tx| Ok(tx.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .unwrap();
        let insert = |tx: &Transaction<'_>, x: i64| -> Result<i64, StoreError> {
            tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
            Ok(x)
        };
        // The first write holds the writer until the others are queued behind it.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocker: Pending = Box::pin(store.write(move |tx| {
            released.recv().unwrap();
            insert(tx, 0)
        }));
        let writes: Vec<Pending> = vec![
            Box::pin(store.write(move |tx| insert(tx, 1))),
            Box::pin(store.write(move |tx| {
                insert(tx, 2)?;
                Err(StoreError::Conflict("two".into()))
            })),
            Box::pin(store.write(move |tx| {
                insert(tx, 3)?;
                panic!("a write that panics");
            })),
            Box::pin(store.write(move |tx| insert(tx, 4))),
        ];
        // Each future sends its job when first polled.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut writes = writes;
        let mut blocker = blocker;
        assert!(blocker.as_mut().poll(&mut cx).is_pending());
        for write in &mut writes {
            assert!(write.as_mut().poll(&mut cx).is_pending());
        }
        release.send(()).unwrap();
        assert_eq!(blocker.await.unwrap(), 0);
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await);
        }
        assert!(matches!(answers[0], Ok(1)));
        assert!(matches!(&answers[1], Err(StoreError::Conflict(m)) if m == "two"));
        assert!(matches!(answers[2], Err(StoreError::Task(_))));
        assert!(matches!(answers[3], Ok(4)));
        let kept: Vec<i64> = store
            .read_blocking(|conn| {
                let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x")?;
                let rows = stmt.query_map([], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert_eq!(kept, vec![0, 1, 4]);
    }

    #[test]
    fn reopening_runs_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        drop(Store::open(&path, 1).unwrap());
        Store::open(&path, 1).unwrap();
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        drop(Store::open(&path, 1).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&path, 1),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
