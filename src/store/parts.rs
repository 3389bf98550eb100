//! The `parts` table: every finished part of an item's multipart upload.
//!
//! A part is written in one transaction the moment the server acknowledged it (and its MD5 and
//! CRC-64 were checked), so a crash loses at most the parts that were in flight.

use rusqlite::params;

use super::{Store, StoreError};
use crate::engine::api::ItemId;

/// One finished part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    /// 1..=10000.
    pub number: u32,
    /// The ETag as the server sent it, quotes included.
    pub etag: String,
    /// Bytes.
    pub size: u64,
    /// CRC-64/XZ of the part's bytes.
    pub crc64: u64,
}

impl Store {
    /// Records a finished part, in one transaction that also touches the item.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_part(&self, item_id: ItemId, part: &PartRecord) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO parts (item_id, number, etag, size, crc64)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                item_id,
                part.number,
                part.etag,
                i64::try_from(part.size).unwrap_or(i64::MAX),
                // SQLite integers are signed; the CRC is kept as decimal text to stay exact.
                part.crc64.to_string()
            ],
        )?;
        tx.execute(
            "UPDATE items SET updated_at = ?2 WHERE id = ?1",
            params![item_id, super::unix_now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// An item's finished parts, ascending.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn parts(&self, item_id: ItemId) -> Result<Vec<PartRecord>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(
            "SELECT number, etag, size, crc64 FROM parts WHERE item_id = ?1 ORDER BY number",
        )?;
        let rows = statement.query_map([item_id], |row| {
            let size: i64 = row.get(2)?;
            let crc: String = row.get(3)?;
            Ok(PartRecord {
                number: row.get(0)?,
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
    use crate::engine::api::{Destination, ItemOptions, UploadFlow};
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
        let part = PartRecord {
            number: 2,
            etag: "\"e\"".into(),
            size: 1 << 20,
            crc64: u64::MAX,
        };
        store.put_part(item.id, &part).unwrap();
        assert_eq!(store.parts(item.id).unwrap(), vec![part]);
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
