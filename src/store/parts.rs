//! The `parts` table: every part of an item's multipart upload, planned or finished.
//!
//! Parts may differ in size (the engine sizes each to the measured link), so each row holds
//! its byte range. A range is written when it is chosen, before its first byte is sent; it is
//! marked finished in one transaction the moment the server acknowledged it (and its CRC-64
//! was checked), so a crash loses at most the parts that were in flight, and the next run
//! sends exactly those ranges again under the same numbers.

use rusqlite::params;

use super::{Store, StoreError};
use crate::model::ItemId;

/// One finished part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    /// 1..=10000.
    pub number: u32,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// The ETag as the server sent it, quotes included.
    pub etag: String,
    /// Bytes.
    pub size: u64,
    /// CRC-64/XZ of the part's bytes.
    pub crc64: u64,
}

/// A part's range, chosen and not (yet) acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedPart {
    /// 1..=10000.
    pub number: u32,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// Bytes.
    pub size: u64,
}

fn to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Records the range of a part about to be sent.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn plan_part(&self, item_id: ItemId, part: PlannedPart) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT OR REPLACE INTO parts (item_id, number, etag, size, crc64, offset, done)
             VALUES (?1, ?2, '', ?3, '0', ?4, 0)",
            params![item_id, part.number, to_sql(part.size), to_sql(part.offset)],
        )?;
        Ok(())
    }

    /// The ranges chosen and not acknowledged, ascending.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn planned_parts(&self, item_id: ItemId) -> Result<Vec<PlannedPart>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(
            "SELECT number, offset, size FROM parts WHERE item_id = ?1 AND done = 0 ORDER BY number",
        )?;
        let rows = statement.query_map([item_id], |row| {
            let offset: i64 = row.get(1)?;
            let size: i64 = row.get(2)?;
            Ok(PlannedPart {
                number: row.get(0)?,
                offset: u64::try_from(offset).unwrap_or(0),
                size: u64::try_from(size).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a finished part, in one transaction that also touches the item.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_part(&self, item_id: ItemId, part: &PartRecord) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO parts (item_id, number, etag, size, crc64, offset, done)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
            params![
                item_id,
                part.number,
                part.etag,
                to_sql(part.size),
                // SQLite integers are signed; the CRC is kept as decimal text to stay exact.
                part.crc64.to_string(),
                to_sql(part.offset)
            ],
        )?;
        tx.execute(
            "UPDATE items SET updated_at = ?2 WHERE id = ?1",
            params![item_id, super::unix_now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// An item's finished parts, ascending. A row from before ranges were recorded takes its
    /// offset from the session's uniform part size.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn parts(&self, item_id: ItemId) -> Result<Vec<PartRecord>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(
            "SELECT p.number, p.etag, p.size, p.crc64,
                    CASE WHEN p.offset >= 0 THEN p.offset
                         ELSE (p.number - 1) * COALESCE(s.part_size, 0) END
             FROM parts p LEFT JOIN sessions s ON s.item_id = p.item_id
             WHERE p.item_id = ?1 AND p.done = 1 ORDER BY p.number",
        )?;
        let rows = statement.query_map([item_id], |row| {
            let size: i64 = row.get(2)?;
            let crc: String = row.get(3)?;
            let offset: i64 = row.get(4)?;
            Ok(PartRecord {
                number: row.get(0)?,
                offset: u64::try_from(offset).unwrap_or(0),
                etag: row.get(1)?,
                size: u64::try_from(size).unwrap_or(0),
                crc64: crc.parse().unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets one part (the server does not have it).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_part(&self, item_id: ItemId, number: u32) -> Result<(), StoreError> {
        self.conn()?.execute(
            "DELETE FROM parts WHERE item_id = ?1 AND number = ?2",
            params![item_id, number],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Destination, ItemOptions, UploadFlow};
    use crate::store::SessionRecord;

    #[test]
    fn parts_belong_to_their_upload() {
        let store = Store::open_in_memory().unwrap();
        let item = store
            .insert_item(
                std::path::Path::new("/a.mp4"),
                3 << 20,
                1,
                Destination::Vod,
                &ItemOptions::default(),
            )
            .unwrap();
        store
            .put_session(&SessionRecord {
                item_id: item.id,
                flow: UploadFlow::ServerApi,
                vod_session_key: "k".into(),
                bucket: "b".into(),
                region: "r".into(),
                media_key: "m".into(),
                cover_key: None,
                cover_done: false,
                media_done: false,
                certificate: Some(crate::tencent::Credentials::new("i", "s")),
                cert_issued_at: 1,
                cert_expires_at: 2,
                upload_id: None,
                part_size: 0,
                created_at: 3,
            })
            .unwrap();
        store.set_upload_id(item.id, Some("u1"), 1 << 20).unwrap();
        store
            .plan_part(
                item.id,
                PlannedPart {
                    number: 3,
                    offset: 2 << 20,
                    size: 1 << 20,
                },
            )
            .unwrap();
        let part = PartRecord {
            number: 2,
            offset: 1 << 20,
            etag: "\"e\"".into(),
            size: 1 << 20,
            crc64: u64::MAX,
        };
        store.put_part(item.id, &part).unwrap();
        assert_eq!(store.parts(item.id).unwrap(), vec![part]);
        assert_eq!(
            store.planned_parts(item.id).unwrap(),
            vec![PlannedPart {
                number: 3,
                offset: 2 << 20,
                size: 1 << 20
            }]
        );
        let session = store.session(item.id).unwrap().unwrap();
        assert_eq!(session.upload_id.as_deref(), Some("u1"));
        assert_eq!(session.certificate.unwrap().secret_key(), "s");
        // A new upload id invalidates the old parts.
        store.set_upload_id(item.id, Some("u2"), 1 << 20).unwrap();
        assert!(store.parts(item.id).unwrap().is_empty());
        store.delete_item(item.id).unwrap();
        assert!(store.session(item.id).unwrap().is_none());
    }
}
