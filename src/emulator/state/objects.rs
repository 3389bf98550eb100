//! The emulator's COS objects, multipart uploads and parts, and its WeCom tokens and media,
//! as rows of the same database.

use super::*;

impl Db {
    // --- COS objects and multipart uploads ---------------------------------------------------

    fn object_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Object> {
        let crc: String = row.get(4)?;
        Ok(Object {
            key: row.get(0)?,
            file: row.get(1)?,
            size: to_u64(row.get(2)?),
            etag: row.get(3)?,
            crc: crc.parse().unwrap_or_default(),
            content_type: row.get(5)?,
            modified: row.get(6)?,
        })
    }

    pub(crate) fn object(&self, key: &str) -> rusqlite::Result<Option<Object>> {
        self.lock()
            .query_row(
                "SELECT key, file, size, etag, crc, content_type, modified FROM objects WHERE key=?1",
                params![key],
                Self::object_row,
            )
            .optional()
    }

    /// Stores an object row; returns the file of the object it replaced, to delete.
    pub(crate) fn put_object(&self, o: &Object) -> rusqlite::Result<Option<String>> {
        let conn = self.lock();
        let old: Option<String> = conn
            .query_row(
                "SELECT file FROM objects WHERE key=?1",
                params![o.key],
                |row| row.get(0),
            )
            .optional()?;
        conn.execute(
            "INSERT OR REPLACE INTO objects(key, file, size, etag, crc, content_type, modified)
             VALUES(?1,?2,?3,?4,?5,?6,?7)",
            params![
                o.key,
                o.file,
                to_i64(o.size),
                o.etag,
                o.crc.to_string(),
                o.content_type,
                o.modified
            ],
        )?;
        Ok(old.filter(|file| *file != o.file))
    }

    /// Removes an object row; returns its file, to delete.
    pub(crate) fn delete_object(&self, key: &str) -> rusqlite::Result<Option<String>> {
        let conn = self.lock();
        let old: Option<String> = conn
            .query_row(
                "SELECT file FROM objects WHERE key=?1",
                params![key],
                |row| row.get(0),
            )
            .optional()?;
        conn.execute("DELETE FROM objects WHERE key=?1", params![key])?;
        Ok(old)
    }

    pub(crate) fn insert_upload(&self, u: &Upload) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO uploads(upload_id, key, content_type, initiated) VALUES(?1,?2,?3,?4)",
            params![u.upload_id, u.key, u.content_type, u.initiated],
        )?;
        Ok(())
    }

    pub(crate) fn upload(&self, upload_id: &str) -> rusqlite::Result<Option<Upload>> {
        self.lock()
            .query_row(
                "SELECT upload_id, key, content_type, initiated FROM uploads WHERE upload_id=?1",
                params![upload_id],
                |row| {
                    Ok(Upload {
                        upload_id: row.get(0)?,
                        key: row.get(1)?,
                        content_type: row.get(2)?,
                        initiated: row.get(3)?,
                    })
                },
            )
            .optional()
    }

    /// Open uploads whose key starts with `prefix`, ordered by key then initiation.
    pub(crate) fn uploads(&self, prefix: &str) -> rusqlite::Result<Vec<Upload>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT upload_id, key, content_type, initiated FROM uploads
             WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key, initiated, rowid",
        )?;
        let rows = stmt.query_map(params![prefix], |row| {
            Ok(Upload {
                upload_id: row.get(0)?,
                key: row.get(1)?,
                content_type: row.get(2)?,
                initiated: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Removes an upload and its part rows; returns the part files, to delete.
    pub(crate) fn delete_upload(&self, upload_id: &str) -> rusqlite::Result<Vec<String>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let files = {
            let mut stmt = tx.prepare("SELECT file FROM parts WHERE upload_id=?1")?;
            let rows = stmt.query_map(params![upload_id], |row| row.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.execute("DELETE FROM parts WHERE upload_id=?1", params![upload_id])?;
        tx.execute("DELETE FROM uploads WHERE upload_id=?1", params![upload_id])?;
        tx.commit()?;
        Ok(files)
    }

    /// Stores a part row (replacing one of the same number); returns the replaced part's file.
    /// `None` as the outer value means the upload no longer exists.
    pub(crate) fn put_part(
        &self,
        upload_id: &str,
        part: &Part,
    ) -> rusqlite::Result<Option<Option<String>>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM uploads WHERE upload_id=?1",
                params![upload_id],
                |row| row.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let old: Option<String> = tx
            .query_row(
                "SELECT file FROM parts WHERE upload_id=?1 AND number=?2",
                params![upload_id, part.number],
                |row| row.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT OR REPLACE INTO parts(upload_id, number, file, size, etag, crc, modified)
             VALUES(?1,?2,?3,?4,?5,?6,?7)",
            params![
                upload_id,
                part.number,
                part.file,
                to_i64(part.size),
                part.etag,
                part.crc.to_string(),
                part.modified
            ],
        )?;
        tx.commit()?;
        Ok(Some(old))
    }

    pub(crate) fn parts(&self, upload_id: &str) -> rusqlite::Result<Vec<Part>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT number, file, size, etag, crc, modified FROM parts WHERE upload_id=?1 ORDER BY number",
        )?;
        let rows = stmt.query_map(params![upload_id], |row| {
            let crc: String = row.get(4)?;
            Ok(Part {
                number: row.get(0)?,
                file: row.get(1)?,
                size: to_u64(row.get(2)?),
                etag: row.get(3)?,
                crc: crc.parse().unwrap_or_default(),
                modified: row.get(5)?,
            })
        })?;
        rows.collect()
    }

    // --- WeCom -------------------------------------------------------------------------------

    /// A token that is still valid at `now`, if one was issued.
    pub(crate) fn live_wecom_token(&self, now: i64) -> rusqlite::Result<Option<(String, i64)>> {
        self.lock()
            .query_row(
                "SELECT token, expires FROM wecom_tokens WHERE expires > ?1 ORDER BY expires DESC LIMIT 1",
                params![now],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
    }

    pub(crate) fn insert_wecom_token(&self, token: &str, expires: i64) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO wecom_tokens(token, expires) VALUES(?1,?2)",
            params![token, expires],
        )?;
        Ok(())
    }

    pub(crate) fn wecom_token(&self, token: &str) -> rusqlite::Result<Option<i64>> {
        self.lock()
            .query_row(
                "SELECT expires FROM wecom_tokens WHERE token=?1",
                params![token],
                |row| row.get(0),
            )
            .optional()
    }

    pub(crate) fn insert_wecom_media(&self, m: &WeComMedia) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO wecom_media(media_id, media_type, file, filename, size, created)
             VALUES(?1,?2,?3,?4,?5,?6)",
            params![
                m.media_id,
                m.media_type,
                m.file,
                m.filename,
                to_i64(m.size),
                m.created
            ],
        )?;
        Ok(())
    }

    pub(crate) fn wecom_media(&self, media_id: &str) -> rusqlite::Result<Option<WeComMedia>> {
        self.lock()
            .query_row(
                "SELECT media_id, media_type, file, filename, size, created FROM wecom_media WHERE media_id=?1",
                params![media_id],
                |row| {
                    Ok(WeComMedia {
                        media_id: row.get(0)?,
                        media_type: row.get(1)?,
                        file: row.get(2)?,
                        filename: row.get(3)?,
                        size: to_u64(row.get(4)?),
                        created: row.get(5)?,
                    })
                },
            )
            .optional()
    }
}
