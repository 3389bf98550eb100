//! The audit log: one JSON line per request at `DATA_DIR/sign-server/audit.jsonl`, appended
//! and flushed as it happens. It names the token (never its value) and what was signed
//! (never the signature).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

/// The log's file inside the server's directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A signature was handed out.
    Signed,
    /// No `Authorization: Bearer` header.
    MissingToken,
    /// A token no one was given.
    UnknownToken,
    /// A revoked token.
    RevokedToken,
    /// Over the token's rate.
    RateLimited,
    /// Not `GET /signature` (or `GET /`), or a request with a body.
    BadRequest,
    /// The server could not sign or read its tokens.
    Error,
}

/// One line.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    /// The token's name, when the token was known.
    pub token: Option<String>,
    /// The peer's address (the proxy's, behind one).
    pub remote: String,
    /// `X-Forwarded-For` as the proxy sent it, with `--behind-proxy` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The HTTP status answered.
    pub status: u16,
    /// What was signed: task flow.
    pub procedure: Option<String>,
    /// What was signed: class.
    pub class_id: Option<i64>,
    /// What was signed: source context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_context: Option<String>,
    /// When the signature stops being valid (Unix seconds).
    pub expires_at: Option<i64>,
}

/// The open log.
#[derive(Debug)]
pub struct AuditLog {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl AuditLog {
    /// Opens `dir/audit.jsonl` for appending, readable by the user alone.
    ///
    /// # Errors
    /// When it cannot be opened.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(AUDIT_FILE);
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        Ok(Self {
            file: Mutex::new(options.open(&path)?),
            path,
        })
    }

    /// Where it is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it. A line that cannot be written is said on stderr once
    /// per failure; the request is still answered.
    pub fn write(&self, entry: &Entry) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write call per line: with O_APPEND the line lands whole even beside another writer.
        if let Err(err) = file.write_all(&line).and_then(|()| file.flush()) {
            eprintln!(
                "warning: cannot write the audit log ({err}): {}",
                self.path.display()
            );
        }
    }
}
