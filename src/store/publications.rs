//! The `publications` table: each item's WeChat publication state, so that a review being
//! followed, a publishing URL or a deletion outlives the process.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, unix_now};
use crate::engine::api::{ItemId, PublishState};

impl Store {
    /// Records an item's publication state (replacing the previous one).
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn set_publication(&self, item_id: ItemId, state: &PublishState) -> Result<(), StoreError> {
        let json = serde_json::to_string(state)?;
        self.conn()?.execute(
            "INSERT OR REPLACE INTO publications (item_id, state, updated_at) VALUES (?1, ?2, ?3)",
            params![item_id, json, unix_now()],
        )?;
        Ok(())
    }

    /// An item's publication state (`NotPublished` when none was recorded).
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn publication(&self, item_id: ItemId) -> Result<PublishState, StoreError> {
        let json: Option<String> = self
            .conn()?
            .query_row(
                "SELECT state FROM publications WHERE item_id = ?1",
                params![item_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(match json {
            Some(json) => serde_json::from_str(&json)?,
            None => PublishState::NotPublished,
        })
    }

    /// Every recorded publication state.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn publications(&self) -> Result<Vec<(ItemId, PublishState)>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare("SELECT item_id, state FROM publications")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, ItemId>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            out.push((id, serde_json::from_str(&json)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::{Destination, ItemOptions};

    #[test]
    fn round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let id = store
            .insert_item(
                std::path::Path::new("/tmp/a.mp4"),
                10,
                0,
                Destination::Vod,
                &ItemOptions::default(),
            )
            .unwrap()
            .id;
        assert_eq!(store.publication(id).unwrap(), PublishState::NotPublished);
        let review = PublishState::UnderReview {
            task_id: "t-1".into(),
            since: 1_700_000_000,
            definition: 100_030,
        };
        store.set_publication(id, &review).unwrap();
        drop(store);
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.publication(id).unwrap(), review);
        assert_eq!(store.publications().unwrap(), vec![(id, review)]);
        store.delete_item(id).unwrap();
        assert!(store.publications().unwrap().is_empty());
    }
}
