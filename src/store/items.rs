//! The `items` table: one row per queued file, with its state and results.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, unix_now};
use crate::model::{Destination, ItemId, ItemOptions, ItemState};

/// One stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRecord {
    /// Row id.
    pub id: ItemId,
    /// The file.
    pub path: PathBuf,
    /// Size at queueing.
    pub size: u64,
    /// Modification time at queueing, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Where it goes.
    pub destination: Destination,
    /// Its options.
    pub options: ItemOptions,
    /// Its state.
    pub state: ItemState,
    /// Bytes that were already on the server when the last run of the item started.
    pub resumed_bytes: u64,
    /// Unix seconds.
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, path, size, mtime_ns, destination, options, state, resumed_bytes, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(ItemRecordRaw, i64)> {
    Ok((
        ItemRecordRaw {
            id: row.get(0)?,
            path: row.get(1)?,
            size: row.get(2)?,
            mtime_ns: row.get(3)?,
            destination: row.get(4)?,
            options: row.get(5)?,
            state: row.get(6)?,
            resumed_bytes: row.get(7)?,
        },
        row.get(8)?,
    ))
}

struct ItemRecordRaw {
    id: i64,
    path: String,
    size: i64,
    mtime_ns: i64,
    destination: String,
    options: String,
    state: String,
    resumed_bytes: i64,
}

fn decode((raw, created_at): (ItemRecordRaw, i64)) -> Result<ItemRecord, StoreError> {
    Ok(ItemRecord {
        id: raw.id,
        path: PathBuf::from(raw.path),
        size: u64::try_from(raw.size).unwrap_or(0),
        mtime_ns: raw.mtime_ns,
        destination: serde_json::from_str(&raw.destination)?,
        options: serde_json::from_str(&raw.options)?,
        state: serde_json::from_str(&raw.state)?,
        resumed_bytes: u64::try_from(raw.resumed_bytes).unwrap_or(0),
        created_at,
    })
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// An item to insert (see [`Store::insert_items`]).
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// The file.
    pub path: &'a std::path::Path,
    /// Its size.
    pub size: u64,
    /// Its modification time, ns.
    pub mtime_ns: i64,
    /// Where it goes.
    pub destination: Destination,
    /// Its options.
    pub options: &'a ItemOptions,
}

impl Store {
    /// Inserts a queued item; returns it with its id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn insert_item(
        &self,
        path: &std::path::Path,
        size: u64,
        mtime_ns: i64,
        destination: Destination,
        options: &ItemOptions,
    ) -> Result<ItemRecord, StoreError> {
        let mut records = self.insert_items(&[NewRecord {
            path,
            size,
            mtime_ns,
            destination,
            options,
        }])?;
        records
            .pop()
            .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Inserts queued items in one transaction (a dropped folder of thousands is one write);
    /// returns them with their ids, in order.
    ///
    /// # Errors
    /// SQLite errors; then nothing is inserted.
    pub fn insert_items(&self, items: &[NewRecord<'_>]) -> Result<Vec<ItemRecord>, StoreError> {
        let now = unix_now();
        let state = ItemState::Queued;
        let state_json = serde_json::to_string(&state)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut records = Vec::with_capacity(items.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO items (path, size, mtime_ns, destination, options, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?;
            for item in items {
                insert.execute(params![
                    item.path.to_string_lossy(),
                    to_i64(item.size),
                    item.mtime_ns,
                    serde_json::to_string(&item.destination)?,
                    serde_json::to_string(item.options)?,
                    state_json,
                    now
                ])?;
                records.push(ItemRecord {
                    id: tx.last_insert_rowid(),
                    path: item.path.to_path_buf(),
                    size: item.size,
                    mtime_ns: item.mtime_ns,
                    destination: item.destination,
                    options: item.options.clone(),
                    state: state.clone(),
                    resumed_bytes: 0,
                    created_at: now,
                });
            }
        }
        tx.commit()?;
        Ok(records)
    }

    /// Every item, oldest first.
    ///
    /// # Errors
    /// SQLite errors and unreadable rows.
    pub fn items(&self) -> Result<Vec<ItemRecord>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(&format!("SELECT {COLUMNS} FROM items ORDER BY id"))?;
        let rows = statement.query_map([], from_row)?;
        let mut items = Vec::new();
        for row in rows {
            items.push(decode(row?)?);
        }
        Ok(items)
    }

    /// One item.
    ///
    /// # Errors
    /// SQLite errors and unreadable rows.
    pub fn item(&self, id: ItemId) -> Result<Option<ItemRecord>, StoreError> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM items WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?;
        row.map(decode).transpose()
    }

    /// Records a new state (and, for `Done`, the FileId and URLs; for `Failed`, the error).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_item_state(&self, id: ItemId, state: &ItemState) -> Result<(), StoreError> {
        write_state(&*self.conn()?, id, state)
    }

    /// Replaces an item's options.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_item_options(&self, id: ItemId, options: &ItemOptions) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE items SET options = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, serde_json::to_string(options)?, unix_now()],
        )?;
        Ok(())
    }

    /// Records the file's size and modification time (when it is queued again after a change).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_item_file(&self, id: ItemId, size: u64, mtime_ns: i64) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE items SET size = ?2, mtime_ns = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, to_i64(size), mtime_ns, unix_now()],
        )?;
        Ok(())
    }

    /// Records how many bytes were already on the server when the item's last run started.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_item_resumed_bytes(&self, id: ItemId, bytes: u64) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE items SET resumed_bytes = ?2 WHERE id = ?1",
            params![id, to_i64(bytes)],
        )?;
        Ok(())
    }

    /// Deletes an item with its session and parts.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_item(&self, id: ItemId) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        super::sessions::delete_session_rows(&tx, id)?;
        tx.execute("DELETE FROM items WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }
}

/// [`Store::set_item_state`] on a connection (or a transaction).
pub(super) fn write_state(
    conn: &rusqlite::Connection,
    id: ItemId,
    state: &ItemState,
) -> Result<(), StoreError> {
    let (file_id, media_url, cover_url) = match state {
        ItemState::Done {
            file_id,
            media_url,
            cover_url,
            ..
        } => (
            Some(file_id.as_str()),
            Some(media_url.as_str()),
            cover_url.as_deref(),
        ),
        _ => (None, None, None),
    };
    let error = match state {
        ItemState::Failed(err) => Some(serde_json::to_string(err)?),
        _ => None,
    };
    conn.execute(
        "UPDATE items SET state = ?2, error = ?3,
             file_id = COALESCE(?4, file_id), media_url = COALESCE(?5, media_url),
             cover_url = COALESCE(?6, cover_url), updated_at = ?7
         WHERE id = ?1",
        params![
            id,
            serde_json::to_string(state)?,
            error,
            file_id,
            media_url,
            cover_url,
            unix_now()
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserError;

    #[test]
    fn round_trips_states() {
        let store = Store::open_in_memory().unwrap();
        let options = ItemOptions {
            media_name: Some("讲座 one".into()),
            ..ItemOptions::default()
        };
        let item = store
            .insert_item(
                std::path::Path::new("/tmp/a b.mp4"),
                10,
                5,
                Destination::Vod,
                &options,
            )
            .unwrap();
        let done = ItemState::Done {
            file_id: "f".into(),
            media_url: "m".into(),
            cover_url: None,
            expires_at: Some(1_700_259_200),
        };
        store.set_item_state(item.id, &done).unwrap();
        let loaded = store.item(item.id).unwrap().unwrap();
        assert_eq!(loaded.state, done);
        assert_eq!(loaded.options, options);
        let failed = ItemState::Failed(UserError {
            message: "x".into(),
            code: Some("C".into()),
            request_id: None,
            retryable: true,
        });
        store.set_item_state(item.id, &failed).unwrap();
        assert_eq!(store.items().unwrap()[0].state, failed);
        store.delete_item(item.id).unwrap();
        assert!(store.item(item.id).unwrap().is_none());
    }
}
