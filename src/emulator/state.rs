//! The emulator's durable state: one SQLite database (WAL) in the data directory, next to the
//! object, part and WeCom media files it describes.
//!
//! Every query is short, so a plain mutex around one connection is enough; handlers never hold
//! it across an `.await`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

mod objects;

/// Schema, applied at every start (`IF NOT EXISTS`), so an old data directory keeps working.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS certs(
    secret_id TEXT PRIMARY KEY, secret_key TEXT NOT NULL, token TEXT NOT NULL,
    expires INTEGER NOT NULL, session_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    session_key TEXT PRIMARY KEY, flow TEXT NOT NULL, media_type TEXT NOT NULL,
    media_name TEXT NOT NULL, media_path TEXT NOT NULL, cover_type TEXT, cover_path TEXT,
    procedure TEXT, class_id INTEGER NOT NULL DEFAULT 0, source_context TEXT,
    storage_region TEXT NOT NULL, expire_time TEXT, file_id TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS media(
    file_id TEXT PRIMARY KEY, name TEXT NOT NULL, media_type TEXT NOT NULL,
    media_key TEXT NOT NULL, cover_key TEXT, size INTEGER NOT NULL, status TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,
    class_id INTEGER NOT NULL DEFAULT 0, source_context TEXT, procedure TEXT,
    storage_region TEXT NOT NULL, expire_time TEXT, source_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
    task_id TEXT PRIMARY KEY, kind TEXT NOT NULL, file_id TEXT,
    definition INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, finish_ms INTEGER,
    result TEXT NOT NULL DEFAULT '', err_code INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', source_url TEXT);
CREATE TABLE IF NOT EXISTS objects(
    key TEXT PRIMARY KEY, file TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    crc TEXT NOT NULL, content_type TEXT NOT NULL, modified INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads(
    upload_id TEXT PRIMARY KEY, key TEXT NOT NULL, content_type TEXT NOT NULL,
    initiated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS parts(
    upload_id TEXT NOT NULL, number INTEGER NOT NULL, file TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, crc TEXT NOT NULL, modified INTEGER NOT NULL,
    PRIMARY KEY(upload_id, number));
CREATE TABLE IF NOT EXISTS used_signatures(
    mac TEXT PRIMARY KEY, session_key TEXT NOT NULL, used_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wecom_tokens(token TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wecom_media(
    media_id TEXT PRIMARY KEY, media_type TEXT NOT NULL, file TEXT NOT NULL,
    filename TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL);
";

/// A temporary certificate handed out for one upload session.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub secret_id: String,
    pub secret_key: String,
    pub token: String,
    pub expires: i64,
    pub session_key: String,
}

/// An upload session of either flow.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    pub session_key: String,
    /// `api` (ApplyUpload) or `ugc` (ApplyUploadUGC).
    pub flow: String,
    pub media_type: String,
    pub media_name: String,
    pub media_path: String,
    pub cover_type: Option<String>,
    pub cover_path: Option<String>,
    pub procedure: Option<String>,
    pub class_id: i64,
    pub source_context: Option<String>,
    pub storage_region: String,
    pub expire_time: Option<String>,
    pub file_id: Option<String>,
    pub created: i64,
}

/// A media file of the VOD library.
#[derive(Debug, Clone, Default)]
pub(crate) struct Media {
    pub file_id: String,
    pub name: String,
    pub media_type: String,
    pub media_key: String,
    pub cover_key: Option<String>,
    pub size: i64,
    /// `Normal` or `Forbidden`.
    pub status: String,
    pub deleted: bool,
    pub created: i64,
    pub class_id: i64,
    pub source_context: Option<String>,
    pub procedure: Option<String>,
    pub storage_region: String,
    pub expire_time: Option<String>,
    /// `Upload`, `ClientUpload` or `PullUpload`.
    pub source_type: String,
}

/// A publish or pull task.
#[derive(Debug, Clone, Default)]
pub(crate) struct Task {
    pub task_id: String,
    /// `WechatMiniProgramPublish` or `PullUpload`.
    pub kind: String,
    pub file_id: Option<String>,
    pub definition: i64,
    pub created_ms: i64,
    /// When it finishes (publish) or finished (pull); `None` while a pull runs.
    pub finish_ms: Option<i64>,
    pub result: String,
    pub err_code: i64,
    pub message: String,
    pub source_url: Option<String>,
}

/// A stored COS object.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub key: String,
    pub file: String,
    pub size: u64,
    pub etag: String,
    pub crc: u64,
    pub content_type: String,
    pub modified: i64,
}

/// A stored part of a multipart upload.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub number: u32,
    pub file: String,
    pub size: u64,
    pub etag: String,
    pub crc: u64,
    pub modified: i64,
}

/// An open multipart upload.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub upload_id: String,
    pub key: String,
    pub content_type: String,
    pub initiated: i64,
}

/// A WeCom temporary media file.
#[derive(Debug, Clone)]
pub(crate) struct WeComMedia {
    pub media_id: String,
    pub media_type: String,
    pub file: String,
    pub filename: String,
    pub size: u64,
    pub created: i64,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// The database.
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (and creates) the database in WAL mode.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL keeps readers and the writer apart; NORMAL is durable across a process crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (each statement is
        // atomic), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // --- certificates and sessions -----------------------------------------------------------

    pub(crate) fn insert_cert(&self, cert: &Cert) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO certs(secret_id, secret_key, token, expires, session_key) VALUES(?1,?2,?3,?4,?5)",
            params![cert.secret_id, cert.secret_key, cert.token, cert.expires, cert.session_key],
        )?;
        Ok(())
    }

    pub(crate) fn cert(&self, secret_id: &str) -> rusqlite::Result<Option<Cert>> {
        self.lock()
            .query_row(
                "SELECT secret_id, secret_key, token, expires, session_key FROM certs WHERE secret_id=?1",
                params![secret_id],
                |row| {
                    Ok(Cert {
                        secret_id: row.get(0)?,
                        secret_key: row.get(1)?,
                        token: row.get(2)?,
                        expires: row.get(3)?,
                        session_key: row.get(4)?,
                    })
                },
            )
            .optional()
    }

    pub(crate) fn insert_session(&self, s: &Session) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO sessions(session_key, flow, media_type, media_name, media_path, cover_type,
                cover_path, procedure, class_id, source_context, storage_region, expire_time, file_id, created)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            params![
                s.session_key, s.flow, s.media_type, s.media_name, s.media_path, s.cover_type,
                s.cover_path, s.procedure, s.class_id, s.source_context, s.storage_region,
                s.expire_time, s.file_id, s.created
            ],
        )?;
        Ok(())
    }

    pub(crate) fn session(&self, key: &str) -> rusqlite::Result<Option<Session>> {
        self.lock()
            .query_row(
                "SELECT session_key, flow, media_type, media_name, media_path, cover_type, cover_path,
                    procedure, class_id, source_context, storage_region, expire_time, file_id, created
                 FROM sessions WHERE session_key=?1",
                params![key],
                |row| {
                    Ok(Session {
                        session_key: row.get(0)?,
                        flow: row.get(1)?,
                        media_type: row.get(2)?,
                        media_name: row.get(3)?,
                        media_path: row.get(4)?,
                        cover_type: row.get(5)?,
                        cover_path: row.get(6)?,
                        procedure: row.get(7)?,
                        class_id: row.get(8)?,
                        source_context: row.get(9)?,
                        storage_region: row.get(10)?,
                        expire_time: row.get(11)?,
                        file_id: row.get(12)?,
                        created: row.get(13)?,
                    })
                },
            )
            .optional()
    }

    pub(crate) fn set_session_file(&self, key: &str, file_id: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE sessions SET file_id=?2 WHERE session_key=?1",
            params![key, file_id],
        )?;
        Ok(())
    }

    /// Records a one-time signature; false when it was already used for another session.
    pub(crate) fn use_signature(
        &self,
        mac: &str,
        session_key: &str,
        now: i64,
    ) -> rusqlite::Result<bool> {
        let conn = self.lock();
        let existing: Option<String> = conn
            .query_row(
                "SELECT session_key FROM used_signatures WHERE mac=?1",
                params![mac],
                |row| row.get(0),
            )
            .optional()?;
        match existing {
            Some(owner) => Ok(owner == session_key),
            None => {
                conn.execute(
                    "INSERT INTO used_signatures(mac, session_key, used_at) VALUES(?1,?2,?3)",
                    params![mac, session_key, now],
                )?;
                Ok(true)
            }
        }
    }

    pub(crate) fn signature_used(&self, mac: &str) -> rusqlite::Result<Option<String>> {
        self.lock()
            .query_row(
                "SELECT session_key FROM used_signatures WHERE mac=?1",
                params![mac],
                |row| row.get(0),
            )
            .optional()
    }

    // --- media and tasks ---------------------------------------------------------------------

    pub(crate) fn insert_media(&self, m: &Media) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO media(file_id, name, media_type, media_key, cover_key, size, status, deleted,
                created, class_id, source_context, procedure, storage_region, expire_time, source_type)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            params![
                m.file_id, m.name, m.media_type, m.media_key, m.cover_key, m.size, m.status,
                m.deleted, m.created, m.class_id, m.source_context, m.procedure, m.storage_region,
                m.expire_time, m.source_type
            ],
        )?;
        Ok(())
    }

    const MEDIA_COLUMNS: &'static str =
        "file_id, name, media_type, media_key, cover_key, size, status, deleted,
        created, class_id, source_context, procedure, storage_region, expire_time, source_type";

    fn media_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Media> {
        Ok(Media {
            file_id: row.get(0)?,
            name: row.get(1)?,
            media_type: row.get(2)?,
            media_key: row.get(3)?,
            cover_key: row.get(4)?,
            size: row.get(5)?,
            status: row.get(6)?,
            deleted: row.get(7)?,
            created: row.get(8)?,
            class_id: row.get(9)?,
            source_context: row.get(10)?,
            procedure: row.get(11)?,
            storage_region: row.get(12)?,
            expire_time: row.get(13)?,
            source_type: row.get(14)?,
        })
    }

    /// A media row, deleted ones included (they answer 410 on the publishing page).
    pub(crate) fn media(&self, file_id: &str) -> rusqlite::Result<Option<Media>> {
        self.lock()
            .query_row(
                &format!("SELECT {} FROM media WHERE file_id=?1", Self::MEDIA_COLUMNS),
                params![file_id],
                Self::media_row,
            )
            .optional()
    }

    /// Every media file that is not deleted, oldest first.
    pub(crate) fn all_media(&self) -> rusqlite::Result<Vec<Media>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM media WHERE deleted=0 ORDER BY created, rowid",
            Self::MEDIA_COLUMNS
        ))?;
        let rows = stmt.query_map([], Self::media_row)?;
        rows.collect()
    }

    pub(crate) fn set_media_status(&self, file_id: &str, status: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE media SET status=?2 WHERE file_id=?1",
            params![file_id, status],
        )?;
        Ok(())
    }

    pub(crate) fn set_media_expiry(
        &self,
        file_id: &str,
        expire_time: &str,
    ) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE media SET expire_time=?2 WHERE file_id=?1",
            params![file_id, expire_time],
        )?;
        Ok(())
    }

    pub(crate) fn mark_media_deleted(&self, file_id: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE media SET deleted=1 WHERE file_id=?1",
            params![file_id],
        )?;
        Ok(())
    }

    pub(crate) fn insert_task(&self, t: &Task) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO tasks(task_id, kind, file_id, definition, created_ms, finish_ms, result,
                err_code, message, source_url) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            params![
                t.task_id,
                t.kind,
                t.file_id,
                t.definition,
                t.created_ms,
                t.finish_ms,
                t.result,
                t.err_code,
                t.message,
                t.source_url
            ],
        )?;
        Ok(())
    }

    pub(crate) fn finish_task(
        &self,
        task_id: &str,
        finish_ms: i64,
        file_id: Option<&str>,
        err_code: i64,
        message: &str,
    ) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE tasks SET finish_ms=?2, file_id=COALESCE(?3, file_id), err_code=?4, message=?5,
                result=CASE WHEN ?4=0 THEN 'SUCCESS' ELSE 'FAIL' END WHERE task_id=?1",
            params![task_id, finish_ms, file_id, err_code, message],
        )?;
        Ok(())
    }

    fn task_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
        Ok(Task {
            task_id: row.get(0)?,
            kind: row.get(1)?,
            file_id: row.get(2)?,
            definition: row.get(3)?,
            created_ms: row.get(4)?,
            finish_ms: row.get(5)?,
            result: row.get(6)?,
            err_code: row.get(7)?,
            message: row.get(8)?,
            source_url: row.get(9)?,
        })
    }

    pub(crate) fn task(&self, task_id: &str) -> rusqlite::Result<Option<Task>> {
        self.lock()
            .query_row(
                "SELECT task_id, kind, file_id, definition, created_ms, finish_ms, result, err_code,
                    message, source_url FROM tasks WHERE task_id=?1",
                params![task_id],
                Self::task_row,
            )
            .optional()
    }

    /// Publish tasks of one media file, oldest first.
    pub(crate) fn publish_tasks(&self, file_id: &str) -> rusqlite::Result<Vec<Task>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT task_id, kind, file_id, definition, created_ms, finish_ms, result, err_code,
                message, source_url FROM tasks
             WHERE file_id=?1 AND kind='WechatMiniProgramPublish' ORDER BY created_ms, rowid",
        )?;
        let rows = stmt.query_map(params![file_id], Self::task_row)?;
        rows.collect()
    }

    /// Pull tasks that were running when the emulator stopped: they cannot resume, so they end
    /// with the service's "internal error, retry" code.
    pub(crate) fn fail_unfinished_pulls(&self, now_ms: i64) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE tasks SET finish_ms=?1, err_code=70000, result='FAIL',
                message='the emulator restarted while pulling; submit the pull again'
             WHERE kind='PullUpload' AND finish_ms IS NULL",
            params![now_ms],
        )?;
        Ok(())
    }
}
