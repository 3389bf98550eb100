//! The `publications` table: each item's WeChat publication state, so that a review being
//! followed, a publishing URL or a deletion outlives the process.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, unix_now};
use crate::model::{ItemId, PublishState};

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

/// A WeChat review the service may still be running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReview {
    /// The review task.
    pub task_id: String,
    /// The definition submitted.
    pub definition: i64,
    /// When it was submitted, Unix seconds.
    pub since: i64,
}

impl Store {
    /// The queue's finished items that hold `file_id`, with their publication states.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn publications_of_file(
        &self,
        file_id: &str,
    ) -> Result<Vec<(ItemId, PublishState)>, StoreError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(
            "SELECT items.id, publications.state FROM items
             LEFT JOIN publications ON publications.item_id = items.id
             WHERE items.file_id = ?1 ORDER BY items.id",
        )?;
        let rows = statement.query_map(params![file_id], |row| {
            Ok((row.get::<_, ItemId>(0)?, row.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            let state = match json {
                Some(json) => serde_json::from_str(&json)?,
                None => PublishState::NotPublished,
            };
            out.push((id, state));
        }
        Ok(out)
    }

    /// Sets the publication state of every queue item holding `file_id`.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn set_publication_of_file(
        &self,
        file_id: &str,
        state: &PublishState,
    ) -> Result<(), StoreError> {
        for (id, _) in self.publications_of_file(file_id)? {
            self.set_publication(id, state)?;
        }
        Ok(())
    }

    /// Remembers a review started for `file_id`; queue items holding it show it too.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn record_review(&self, file_id: &str, review: &PendingReview) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT OR REPLACE INTO reviews (file_id, task_id, definition, since)
             VALUES (?1, ?2, ?3, ?4)",
            params![file_id, review.task_id, review.definition, review.since],
        )?;
        self.set_publication_of_file(
            file_id,
            &PublishState::UnderReview {
                task_id: review.task_id.clone(),
                since: review.since,
                definition: review.definition,
            },
        )
    }

    /// The review last started for `file_id` and not yet seen to end, by `voddesk publish` or
    /// by the app.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn pending_review(&self, file_id: &str) -> Result<Option<PendingReview>, StoreError> {
        let recorded = self
            .conn()?
            .query_row(
                "SELECT task_id, definition, since FROM reviews WHERE file_id = ?1",
                params![file_id],
                |row| {
                    Ok(PendingReview {
                        task_id: row.get(0)?,
                        definition: row.get(1)?,
                        since: row.get(2)?,
                    })
                },
            )
            .optional()?;
        if recorded.is_some() {
            return Ok(recorded);
        }
        Ok(self
            .publications_of_file(file_id)?
            .into_iter()
            .find_map(|(_, state)| match state {
                PublishState::UnderReview {
                    task_id,
                    since,
                    definition,
                } => Some(PendingReview {
                    task_id,
                    definition,
                    since,
                }),
                _ => None,
            }))
    }

    /// Records how the publication of `file_id` ended (or changed): the pending review is
    /// forgotten and queue items holding the file take `state`.
    ///
    /// # Errors
    /// SQLite and JSON errors.
    pub fn end_review(&self, file_id: &str, state: &PublishState) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM reviews WHERE file_id = ?1", params![file_id])?;
        self.set_publication_of_file(file_id, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Destination, ItemOptions};

    fn store_with_item(dir: &std::path::Path) -> (Store, ItemId) {
        let store = Store::open_in(dir).unwrap();
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
        (store, id)
    }

    #[test]
    fn round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = store_with_item(dir.path());
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

    #[test]
    fn a_review_by_file_id_reaches_the_queue_items_of_that_file() {
        let dir = tempfile::tempdir().unwrap();
        let (store, item) = store_with_item(dir.path());
        let done = crate::model::ItemState::Done {
            file_id: "F1".into(),
            media_url: "http://m".into(),
            cover_url: None,
            expires_at: None,
        };
        store.set_item_state(item, &done).unwrap();
        assert_eq!(store.pending_review("F1").unwrap(), None);
        assert_eq!(
            store.publications_of_file("F1").unwrap(),
            vec![(item, PublishState::NotPublished)]
        );

        // A file the queue does not hold is remembered by its FileId alone.
        let review = PendingReview {
            task_id: "t-2".into(),
            definition: 0,
            since: 1_700_000_000,
        };
        store.record_review("F2", &review).unwrap();
        assert_eq!(store.pending_review("F2").unwrap(), Some(review.clone()));
        store.record_review("F1", &review).unwrap();
        assert!(matches!(
            store.publication(item).unwrap(),
            PublishState::UnderReview { ref task_id, .. } if task_id == "t-2"
        ));
        drop(store);
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.pending_review("F1").unwrap(), Some(review));

        store.end_review("F1", &PublishState::Deleted).unwrap();
        assert_eq!(store.pending_review("F1").unwrap(), None);
        assert_eq!(store.publication(item).unwrap(), PublishState::Deleted);

        // A review the app started (kept only on its item) is found by FileId too.
        let by_app = PublishState::UnderReview {
            task_id: "t-app".into(),
            since: 5,
            definition: 100_030,
        };
        store.set_publication(item, &by_app).unwrap();
        assert_eq!(
            store.pending_review("F1").unwrap().map(|r| r.task_id),
            Some("t-app".into())
        );
    }
}
