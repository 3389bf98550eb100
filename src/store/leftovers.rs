//! The `leftovers` table: multipart uploads that were to be aborted (a cancel, a remove, a
//! restart) when the service could not be reached. They are aborted again on a later start,
//! so that a cancel leaves nothing on the server even when the network was down at the time.
//! A cancel or remove records its leftover in the same transaction that marks the item, before
//! the abort is sent, so a crash between the two leaves nothing to resume and nothing behind.
//!
//! A row keeps what the abort needs: the session's COS object, its upload id, the VOD session
//! key (the client-upload flow renews its certificate with it) or the certificate (the server
//! API flow has no other), and the item's options (they go into the renewal's signature).
//! Nothing here is ever logged.

use rusqlite::params;

use super::{Store, StoreError, unix_now};
use crate::model::{ItemId, ItemOptions, ItemState};
use crate::store::SessionRecord;

/// A multipart upload still to abort.
#[derive(Clone)]
pub struct Leftover {
    /// Row id.
    pub id: i64,
    /// The session it belonged to (its item may be gone: `item_id` is 0).
    pub session: SessionRecord,
    /// The item's options.
    pub options: ItemOptions,
    /// When the abort first failed, Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leftover")
            .field("id", &self.id)
            .field("session", &self.session)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What becomes of an item whose upload is given up (see [`Store::retire_session`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// It stays in the queue, cancelled.
    Cancel,
    /// It stays in the queue, queued to start over.
    Restart,
    /// It leaves the queue.
    Remove,
}

/// Inserts `session`'s multipart upload as a leftover; its row id, or `None` when the
/// session has no multipart upload.
fn insert_leftover(
    conn: &rusqlite::Connection,
    session: &SessionRecord,
    options: &ItemOptions,
) -> Result<Option<i64>, StoreError> {
    let Some(upload_id) = &session.upload_id else {
        return Ok(None);
    };
    let cert = session.certificate.as_ref();
    conn.execute(
        "INSERT INTO leftovers (flow, vod_session_key, bucket, region, media_key, upload_id,
             options, cert_secret_id, cert_secret_key, cert_token, cert_expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            super::sessions::flow_text(session.flow),
            session.vod_session_key,
            session.bucket,
            session.region,
            session.media_key,
            upload_id,
            serde_json::to_string(options)?,
            cert.map(|c| c.secret_id.clone()),
            cert.map(|c| c.secret_key().to_owned()),
            cert.and_then(|c| c.token.clone()),
            session.cert_expires_at,
            unix_now(),
        ],
    )?;
    Ok(Some(conn.last_insert_rowid()))
}

impl Store {
    /// Remembers `session`'s multipart upload to abort later; nothing when it has none.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn add_leftover(
        &self,
        session: &SessionRecord,
        options: &ItemOptions,
    ) -> Result<(), StoreError> {
        insert_leftover(&*self.conn()?, session, options)?;
        Ok(())
    }

    /// Gives up an item's upload in one transaction: its multipart upload (when it has one)
    /// becomes a leftover, its session and parts go, and the item is marked cancelled or
    /// deleted as `retire` says. The caller then aborts the leftover: killed before that
    /// abort is done, the app finds a cancelled (or removed) item and an upload still to
    /// abort on its next start, never an upload to resume.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn retire_session(
        &self,
        item_id: ItemId,
        options: &ItemOptions,
        retire: Retire,
    ) -> Result<Option<Leftover>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let leftover = match super::sessions::read_session(&tx, item_id)? {
            Some(session) => insert_leftover(&tx, &session, options)?.map(|id| Leftover {
                id,
                session,
                options: options.clone(),
                created_at: unix_now(),
            }),
            None => None,
        };
        super::sessions::delete_session_rows(&tx, item_id)?;
        match retire {
            Retire::Cancel => super::items::write_state(&tx, item_id, &ItemState::Cancelled)?,
            Retire::Restart => super::items::write_state(&tx, item_id, &ItemState::Queued)?,
            Retire::Remove => {
                tx.execute("DELETE FROM items WHERE id = ?1", [item_id])?;
            }
        }
        tx.commit()?;
        Ok(leftover)
    }

    /// Every upload still to abort, oldest first.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn leftovers(&self) -> Result<Vec<Leftover>, StoreError> {
        let conn = self.conn()?;
        let mut select = conn.prepare(
            "SELECT id, flow, vod_session_key, bucket, region, media_key, upload_id, options,
                 cert_secret_id, cert_secret_key, cert_token, cert_expires_at, created_at
             FROM leftovers ORDER BY id",
        )?;
        let rows = select.query_map([], |row| {
            let flow: String = row.get(1)?;
            let id: Option<String> = row.get(8)?;
            let key: Option<String> = row.get(9)?;
            let token: Option<String> = row.get(10)?;
            let options: String = row.get(7)?;
            let created_at: i64 = row.get(12)?;
            let session = SessionRecord {
                item_id: 0,
                flow: super::sessions::flow_from_text(&flow),
                vod_session_key: row.get(2)?,
                bucket: row.get(3)?,
                region: row.get(4)?,
                media_key: row.get(5)?,
                cover_key: None,
                cover_done: false,
                media_done: false,
                certificate: super::sessions::certificate(id, key, token),
                cert_issued_at: 0,
                cert_expires_at: row.get(11)?,
                upload_id: row.get(6)?,
                part_size: 0,
                created_at,
            };
            Ok((row.get::<_, i64>(0)?, session, options, created_at))
        })?;
        let mut leftovers = Vec::new();
        for row in rows {
            let (id, session, options, created_at) = row?;
            leftovers.push(Leftover {
                id,
                session,
                options: serde_json::from_str(&options)?,
                created_at,
            });
        }
        Ok(leftovers)
    }

    /// Forgets a leftover (aborted, or past saving).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_leftover(&self, id: i64) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM leftovers WHERE id = ?1", [id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UploadFlow;
    use crate::tencent::Credentials;

    #[test]
    fn leftovers_round_trip_with_their_certificate_and_options() {
        let store = Store::open_in_memory().unwrap();
        let options = ItemOptions {
            class_id: Some(7),
            source_context: Some("编辑=张三".into()),
            ..ItemOptions::default()
        };
        let mut session = SessionRecord {
            item_id: 3,
            flow: UploadFlow::ServerApi,
            vod_session_key: "session".into(),
            bucket: "bucket-1250000000".into(),
            region: "ap-guangzhou".into(),
            media_key: "a/b 视频.mp4".into(),
            cover_key: None,
            cover_done: false,
            media_done: false,
            certificate: Some(Credentials::new("AKIDtmp", "tmpkey").with_token(Some("tok".into()))),
            cert_issued_at: 1,
            cert_expires_at: 2,
            upload_id: None,
            part_size: 1 << 20,
            created_at: 1,
        };
        // No multipart upload: nothing to remember.
        store.add_leftover(&session, &options).unwrap();
        assert!(store.leftovers().unwrap().is_empty());
        session.upload_id = Some("upload".into());
        store.add_leftover(&session, &options).unwrap();
        let all = store.leftovers().unwrap();
        assert_eq!(all.len(), 1);
        let left = &all[0];
        assert_eq!(left.session.flow, UploadFlow::ServerApi);
        assert_eq!(left.session.media_key, "a/b 视频.mp4");
        assert_eq!(left.session.upload_id.as_deref(), Some("upload"));
        assert_eq!(left.session.cert_expires_at, 2);
        let cert = left.session.certificate.as_ref().unwrap();
        assert_eq!(
            (cert.secret_id.as_str(), cert.secret_key()),
            ("AKIDtmp", "tmpkey")
        );
        assert_eq!(cert.token.as_deref(), Some("tok"));
        assert_eq!(left.options, options);
        // The key stays out of Debug output.
        assert!(!format!("{left:?}").contains("tmpkey"));
        store.delete_leftover(left.id).unwrap();
        assert!(store.leftovers().unwrap().is_empty());
    }
}
