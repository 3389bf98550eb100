//! SQLite persistence of the queue: items, upload sessions and finished parts.
//!
//! One database file in the data directory, opened in WAL mode so the app and a CLI run can
//! read it at the same time. The schema is migrated forward with `PRAGMA user_version`; each
//! table has its own module.

pub mod items;
pub mod leftovers;
pub mod parts;
pub mod publications;
pub mod sessions;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

pub use items::{ItemRecord, NewRecord};
pub use leftovers::{Leftover, Retire};
pub use parts::{PartRecord, PlannedPart};
pub use publications::PendingReview;
pub use sessions::SessionRecord;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "queue.sqlite3";

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("queue database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column could not be read.
    #[error("queue database holds a value this version cannot read: {0}")]
    Json(#[from] serde_json::Error),
    /// The data directory could not be created.
    #[error("cannot create the data directory: {detail}: {path}")]
    Io {
        /// What went wrong.
        detail: String,
        /// The directory.
        path: String,
    },
    /// The database was written by a newer VodDesk.
    #[error(
        "the queue database has schema version {0}, newer than this VodDesk understands; update VodDesk"
    )]
    TooNew(i64),
    /// A lock was poisoned by a panic elsewhere.
    #[error("queue database lock poisoned")]
    Poisoned,
}

/// Migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: items, sessions, parts.
    "CREATE TABLE items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        destination TEXT NOT NULL,
        options TEXT NOT NULL,
        state TEXT NOT NULL,
        error TEXT,
        file_id TEXT,
        media_url TEXT,
        cover_url TEXT,
        resumed_bytes INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX items_path ON items(path);
    CREATE TABLE sessions (
        item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        flow TEXT NOT NULL,
        vod_session_key TEXT NOT NULL,
        bucket TEXT NOT NULL,
        region TEXT NOT NULL,
        media_key TEXT NOT NULL,
        cover_key TEXT,
        cover_done INTEGER NOT NULL DEFAULT 0,
        media_done INTEGER NOT NULL DEFAULT 0,
        cert_secret_id TEXT,
        cert_secret_key TEXT,
        cert_token TEXT,
        cert_issued_at INTEGER NOT NULL DEFAULT 0,
        cert_expires_at INTEGER NOT NULL DEFAULT 0,
        upload_id TEXT,
        part_size INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE parts (
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        etag TEXT NOT NULL,
        size INTEGER NOT NULL,
        crc64 TEXT NOT NULL,
        PRIMARY KEY (item_id, number)
    );",
    // 2: WeChat publication state per item (JSON of `PublishState`), so a review being
    // tracked survives a restart.
    "CREATE TABLE publications (
        item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );",
    // 3: multipart uploads whose abort failed, to abort on a later start (see `leftovers`).
    "CREATE TABLE leftovers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        flow TEXT NOT NULL,
        vod_session_key TEXT NOT NULL,
        bucket TEXT NOT NULL,
        region TEXT NOT NULL,
        media_key TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        options TEXT NOT NULL,
        cert_secret_id TEXT,
        cert_secret_key TEXT,
        cert_token TEXT,
        cert_expires_at INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );",
    // 4: WeChat reviews started by `voddesk publish`, by FileId (the file need not be in the
    // queue), so that running it again follows the review instead of starting another.
    "CREATE TABLE reviews (
        file_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        definition INTEGER NOT NULL,
        since INTEGER NOT NULL
    );",
    // 5: parts of different sizes. Every part's range is recorded the moment it is chosen,
    // before its first byte is sent (`done` 0), so that a crash leaves ranges a resume
    // sends again with the same numbers; `offset` -1 is a row of a uniform plan from before
    // (its range follows from the session's part size).
    "ALTER TABLE parts ADD COLUMN offset INTEGER NOT NULL DEFAULT -1;
     ALTER TABLE parts ADD COLUMN done INTEGER NOT NULL DEFAULT 1;",
];

/// The queue database. Cheap to share behind an `Arc`; calls are short and serialised.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating and migrating) the database in `data_dir`.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened or migrated.
    pub fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|err| StoreError::Io {
            detail: err.to_string(),
            path: data_dir.display().to_string(),
        })?;
        Self::open(&data_dir.join(DB_FILE))
    }

    /// Opens (creating and migrating) the database file at `path`.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        owner_only(path);
        Self::init(conn)
    }

    /// An in-memory database, for tests.
    ///
    /// # Errors
    /// When SQLite cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        // WAL lets a CLI read while the app writes; NORMAL sync is durable across process
        // crashes (kill -9), which is what resume needs; only a power cut may lose the last
        // transactions, and ListParts reconciliation covers that.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The connection, for the table modules.
    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

/// The database holds temporary certificates and session keys: readable by its owner only
/// (SQLite gives its `-wal` and `-shm` files the same mode).
fn owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(err) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(%err, "cannot make the queue database private");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew(version));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Unix seconds now.
#[must_use]
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        drop(store);
        let store = Store::open_in(dir.path()).unwrap();
        let conn = store.conn().unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_the_database() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        // One made by an older version, readable by all, is closed up too.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        store
            .conn()
            .unwrap()
            .execute_batch("CREATE TABLE probe (x); INSERT INTO probe VALUES (1);")
            .unwrap();
        for name in [DB_FILE.to_owned(), format!("{DB_FILE}-wal")] {
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew(99))));
    }
}
