//! The editors' tokens: one per editor, kept only as SHA-256 hashes in
//! `DATA_DIR/sign-server/tokens.sqlite3`.
//!
//! The server reads the table on every request, so `token revoke` (another process) takes
//! effect at the next request without a restart; SQLite in WAL mode lets both write.

use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The table's file inside the server's directory.
pub const TOKENS_FILE: &str = "tokens.sqlite3";
/// What every token starts with, so that secret scanners and people can tell one.
pub const TOKEN_PREFIX: &str = "vds_";
/// The longest token name.
pub const MAX_NAME_CHARS: usize = 64;

/// Errors of the token table. None of them carries a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// SQLite reported an error.
    #[error("the token database cannot be used: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The directory could not be made.
    #[error("cannot create the sign server's directory ({detail}): {path}")]
    Io {
        /// What went wrong.
        detail: String,
        /// The directory.
        path: String,
    },
    /// A name that cannot be told apart in a list or a log.
    #[error(
        "a token name is 1 to {MAX_NAME_CHARS} letters, digits or . _ - @ (such as alice or video-team), not {0:?}"
    )]
    BadName(String),
    /// The name is in use by a token that was not revoked.
    #[error("a token named {0:?} exists; revoke it first (voddesk sign-server token revoke {0})")]
    NameTaken(String),
    /// A lock was poisoned by a panic elsewhere.
    #[error("the token database lock was poisoned")]
    Poisoned,
}

/// What a token's signatures carry; each field set here overrides the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Constraints {
    /// Task flow.
    pub procedure: Option<String>,
    /// Media category.
    pub class_id: Option<i64>,
    /// Text echoed in the upload callback.
    pub source_context: Option<String>,
    /// The longest validity of each signature, in seconds.
    pub valid: Option<i64>,
}

/// One token as `token list` shows it: never the token itself, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The editor's name.
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds of the last signature handed out, if any.
    pub last_used: Option<i64>,
    /// Signatures handed out.
    pub uses: u64,
    /// Unix seconds of the revocation, if revoked.
    pub revoked: Option<i64>,
    /// What its signatures carry.
    #[serde(flatten)]
    pub constraints: Constraints,
}

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A live token.
    Valid(TokenInfo),
    /// A token that was revoked (its name, for the audit log).
    Revoked(String),
    /// No token has this value.
    Unknown,
}

/// The token table.
#[derive(Debug)]
pub struct TokenStore {
    conn: Mutex<Connection>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&count)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// A new token: 256 random bits, URL-safe Base64 after [`TOKEN_PREFIX`].
#[must_use]
pub fn new_token() -> String {
    // rand's thread generator is a CSPRNG seeded from the OS.
    let bytes: [u8; 32] = rand::random();
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl TokenStore {
    /// Opens (or creates) the table in `dir`, the server's directory.
    ///
    /// # Errors
    /// When the directory or the database cannot be made.
    pub fn open(dir: &Path) -> Result<Self, TokenError> {
        super::create_private_dir(dir).map_err(|err| TokenError::Io {
            detail: err.to_string(),
            path: dir.display().to_string(),
        })?;
        let conn = Connection::open(dir.join(TOKENS_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tokens (
                name TEXT PRIMARY KEY,
                hash BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER,
                last_used_at INTEGER,
                uses INTEGER NOT NULL DEFAULT 0,
                procedure TEXT,
                class_id INTEGER,
                source_context TEXT,
                valid INTEGER
            );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, TokenError> {
        self.conn.lock().map_err(|_| TokenError::Poisoned)
    }

    /// Adds a token for `name` and returns it: the only time it exists outside the caller.
    /// A revoked token's name may be given again.
    ///
    /// # Errors
    /// A bad or taken name, or the database.
    pub fn add(
        &self,
        name: &str,
        constraints: &Constraints,
        now: i64,
    ) -> Result<String, TokenError> {
        if !valid_name(name) {
            return Err(TokenError::BadName(name.to_owned()));
        }
        let token = new_token();
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let live: Option<Option<i64>> = tx
            .query_row(
                "SELECT revoked_at FROM tokens WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?;
        if matches!(live, Some(None)) {
            return Err(TokenError::NameTaken(name.to_owned()));
        }
        tx.execute(
            "INSERT OR REPLACE INTO tokens
                (name, hash, created_at, revoked_at, last_used_at, uses, procedure, class_id, source_context, valid)
             VALUES (?1, ?2, ?3, NULL, NULL, 0, ?4, ?5, ?6, ?7)",
            params![
                name,
                hash(&token).as_slice(),
                now,
                constraints.procedure,
                constraints.class_id,
                constraints.source_context,
                constraints.valid,
            ],
        )?;
        tx.commit()?;
        Ok(token)
    }

    /// Every token, live and revoked, by name.
    ///
    /// # Errors
    /// The database.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.rows()?.into_iter().map(|(info, _)| info).collect())
    }

    fn rows(&self) -> Result<Vec<(TokenInfo, Vec<u8>)>, TokenError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare_cached(
            "SELECT name, created_at, last_used_at, uses, revoked_at, procedure, class_id, source_context, valid, hash
             FROM tokens ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                TokenInfo {
                    name: row.get(0)?,
                    created: row.get(1)?,
                    last_used: row.get(2)?,
                    uses: row.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    revoked: row.get(4)?,
                    constraints: Constraints {
                        procedure: row.get(5)?,
                        class_id: row.get(6)?,
                        source_context: row.get(7)?,
                        valid: row.get(8)?,
                    },
                },
                row.get::<_, Vec<u8>>(9)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many tokens are live.
    ///
    /// # Errors
    /// The database.
    pub fn live_count(&self) -> Result<usize, TokenError> {
        let conn = self.conn()?;
        let count: i64 = conn.query_row(
            "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Revokes `name`'s token; the server refuses it from its next request. `false` when there
    /// is no live token of that name.
    ///
    /// # Errors
    /// The database.
    pub fn revoke(&self, name: &str, now: i64) -> Result<bool, TokenError> {
        let conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now],
        )?;
        Ok(changed > 0)
    }

    /// Finds the token `presented` is. Its hash is compared with every stored one in constant
    /// time, all of them, so neither the answer's time nor its path says how close a guess was.
    ///
    /// # Errors
    /// The database.
    pub fn check(&self, presented: &str) -> Result<Presented, TokenError> {
        let wanted = hash(presented);
        let mut found = None;
        for (info, stored) in self.rows()? {
            let same: bool = stored.as_slice().ct_eq(wanted.as_slice()).into();
            if same {
                found = Some(info);
            }
        }
        Ok(match found {
            Some(info) if info.revoked.is_some() => Presented::Revoked(info.name),
            Some(info) => Presented::Valid(info),
            None => Presented::Unknown,
        })
    }

    /// Counts a signature handed out under `name`.
    ///
    /// # Errors
    /// The database.
    pub fn record_use(&self, name: &str, now: i64) -> Result<(), TokenError> {
        let conn = self.conn()?;
        conn.execute(
            "UPDATE tokens SET uses = uses + 1, last_used_at = ?2 WHERE name = ?1",
            params![name, now],
        )?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_stored_as_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let token = store.add("alice", &Constraints::default(), 100).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 43);
        assert!(
            token[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(token, new_token());
        let raw = std::fs::read(dir.path().join(TOKENS_FILE)).unwrap();
        let needle = token.as_bytes();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
        assert!(matches!(store.check(&token).unwrap(), Presented::Valid(i) if i.name == "alice"));
        assert_eq!(store.check("vds_wrong").unwrap(), Presented::Unknown);
    }

    #[test]
    fn names_revocation_and_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        for bad in ["", "has space", "a/b", &"x".repeat(65)] {
            assert!(matches!(
                store.add(bad, &Constraints::default(), 1),
                Err(TokenError::BadName(_))
            ));
        }
        let first = store.add("张三", &Constraints::default(), 1).unwrap();
        assert!(matches!(
            store.add("张三", &Constraints::default(), 2),
            Err(TokenError::NameTaken(_))
        ));
        assert!(store.revoke("张三", 3).unwrap());
        assert!(!store.revoke("张三", 4).unwrap());
        assert_eq!(
            store.check(&first).unwrap(),
            Presented::Revoked("张三".into())
        );
        assert_eq!(store.live_count().unwrap(), 0);
        let second = store.add("张三", &Constraints::default(), 5).unwrap();
        assert_eq!(store.check(&first).unwrap(), Presented::Unknown);
        assert!(matches!(store.check(&second).unwrap(), Presented::Valid(_)));
        store.record_use("张三", 9).unwrap();
        let list = store.list().unwrap();
        assert_eq!((list[0].uses, list[0].last_used), (1, Some(9)));
    }
}
