//! The `sessions` table: the VOD upload session of an item and its COS multipart upload.
//!
//! The temporary certificate is stored only for the server API flow, which cannot renew it and
//! needs it to resume after a restart; the client-upload flow renews on resume and stores none.
//! Nothing here is ever logged.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::model::{ItemId, UploadFlow};
use crate::tencent::Credentials;

/// One stored session.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The item.
    pub item_id: ItemId,
    /// Which flow made it.
    pub flow: UploadFlow,
    /// The VOD session to commit.
    pub vod_session_key: String,
    /// Full COS bucket name.
    pub bucket: String,
    /// COS region.
    pub region: String,
    /// COS key of the media (no leading `/`).
    pub media_key: String,
    /// COS key of the cover.
    pub cover_key: Option<String>,
    /// Whether the cover is stored.
    pub cover_done: bool,
    /// Whether the media object is complete on COS (only the commit is left).
    pub media_done: bool,
    /// The temporary certificate, when kept (server API flow).
    pub certificate: Option<Credentials>,
    /// When the certificate was issued, server Unix seconds.
    pub cert_issued_at: i64,
    /// When it runs out, Unix seconds.
    pub cert_expires_at: i64,
    /// The multipart upload, once initiated.
    pub upload_id: Option<String>,
    /// The part size the upload was planned with.
    pub part_size: u64,
    /// When the session was applied for, Unix seconds (for the 1-day rule).
    pub created_at: i64,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session key and certificate authorise uploads: keep them out of logs.
        f.debug_struct("SessionRecord")
            .field("item_id", &self.item_id)
            .field("flow", &self.flow)
            .field("bucket", &self.bucket)
            .field("media_key", &self.media_key)
            .field("upload_id", &self.upload_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

pub(super) fn flow_text(flow: UploadFlow) -> &'static str {
    match flow {
        UploadFlow::ClientUpload => "client",
        UploadFlow::ServerApi => "server",
    }
}

/// A stored certificate, when both halves are there.
pub(super) fn certificate(
    id: Option<String>,
    key: Option<String>,
    token: Option<String>,
) -> Option<Credentials> {
    Some(Credentials::new(id?, key?).with_token(token))
}

pub(super) fn flow_from_text(text: &str) -> UploadFlow {
    if text == "server" {
        UploadFlow::ServerApi
    } else {
        UploadFlow::ClientUpload
    }
}

/// An item's session, read on a connection (or a transaction).
pub(super) fn read_session(
    conn: &rusqlite::Connection,
    item_id: ItemId,
) -> rusqlite::Result<Option<SessionRecord>> {
    conn.query_row(
        "SELECT flow, vod_session_key, bucket, region, media_key, cover_key, cover_done,
                 cert_secret_id, cert_secret_key, cert_token, cert_issued_at, cert_expires_at,
                 upload_id, part_size, created_at, media_done
             FROM sessions WHERE item_id = ?1",
        [item_id],
        |row| {
            let flow: String = row.get(0)?;
            let id: Option<String> = row.get(7)?;
            let key: Option<String> = row.get(8)?;
            let token: Option<String> = row.get(9)?;
            let part_size: i64 = row.get(13)?;
            Ok(SessionRecord {
                item_id,
                flow: flow_from_text(&flow),
                vod_session_key: row.get(1)?,
                bucket: row.get(2)?,
                region: row.get(3)?,
                media_key: row.get(4)?,
                cover_key: row.get(5)?,
                cover_done: row.get(6)?,
                certificate: certificate(id, key, token),
                cert_issued_at: row.get(10)?,
                cert_expires_at: row.get(11)?,
                upload_id: row.get(12)?,
                part_size: u64::try_from(part_size).unwrap_or(0),
                created_at: row.get(14)?,
                media_done: row.get(15)?,
            })
        },
    )
    .optional()
}

impl Store {
    /// Stores (replacing) an item's session; its parts are cleared, as they belong to the
    /// previous session.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM parts WHERE item_id = ?1", [session.item_id])?;
        let cert = session.certificate.as_ref();
        tx.execute(
            "INSERT OR REPLACE INTO sessions (item_id, flow, vod_session_key, bucket, region,
                 media_key, cover_key, cover_done, cert_secret_id, cert_secret_key, cert_token,
                 cert_issued_at, cert_expires_at, upload_id, part_size, created_at, media_done)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                session.item_id,
                flow_text(session.flow),
                session.vod_session_key,
                session.bucket,
                session.region,
                session.media_key,
                session.cover_key,
                session.cover_done,
                cert.map(|c| c.secret_id.clone()),
                cert.map(|c| c.secret_key().to_owned()),
                cert.and_then(|c| c.token.clone()),
                session.cert_issued_at,
                session.cert_expires_at,
                session.upload_id,
                i64::try_from(session.part_size).unwrap_or(i64::MAX),
                session.created_at,
                session.media_done,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// An item's session.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn session(&self, item_id: ItemId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(read_session(&*self.conn()?, item_id)?)
    }

    /// Persists a new multipart upload id the moment it exists (parts of an older one go).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_upload_id(
        &self,
        item_id: ItemId,
        upload_id: Option<&str>,
        part_size: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM parts WHERE item_id = ?1", [item_id])?;
        tx.execute(
            "UPDATE sessions SET upload_id = ?2, part_size = ?3 WHERE item_id = ?1",
            params![
                item_id,
                upload_id,
                i64::try_from(part_size).unwrap_or(i64::MAX)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks the media object complete on COS.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_media_done(&self, item_id: ItemId) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM parts WHERE item_id = ?1", [item_id])?;
        tx.execute(
            "UPDATE sessions SET media_done = 1, upload_id = NULL WHERE item_id = ?1",
            [item_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks the cover stored.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_cover_done(&self, item_id: ItemId) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE sessions SET cover_done = 1 WHERE item_id = ?1",
            [item_id],
        )?;
        Ok(())
    }

    /// Records a renewed certificate's times (and the certificate itself when `keep`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_certificate(
        &self,
        item_id: ItemId,
        certificate: Option<&Credentials>,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE sessions SET cert_secret_id = ?2, cert_secret_key = ?3, cert_token = ?4,
                 cert_issued_at = ?5, cert_expires_at = ?6 WHERE item_id = ?1",
            params![
                item_id,
                certificate.map(|c| c.secret_id.clone()),
                certificate.map(|c| c.secret_key().to_owned()),
                certificate.and_then(|c| c.token.clone()),
                issued_at,
                expires_at
            ],
        )?;
        Ok(())
    }

    /// Forgets an item's session and parts.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_session(&self, item_id: ItemId) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        delete_session_rows(&tx, item_id)?;
        tx.commit()?;
        Ok(())
    }
}

/// Deletes an item's session and its parts, inside the caller's transaction.
pub(super) fn delete_session_rows(
    conn: &rusqlite::Connection,
    item_id: ItemId,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM parts WHERE item_id = ?1", [item_id])?;
    conn.execute("DELETE FROM sessions WHERE item_id = ?1", [item_id])?;
    Ok(())
}
