//! The commands on one item: pause, resume, cancel, remove, forget and new options.

use super::*;

impl Worker {
    pub(super) async fn pause(&mut self, id: ItemId) {
        if self.stop_job(id, Stop::Pause) {
            return;
        }
        if let Some(entry) = self.entries.get(&id)
            && entry.record.state == ItemState::Queued
        {
            self.set_state(id, ItemState::Paused).await;
        }
    }

    pub(super) async fn resume(&mut self, id: ItemId) {
        if let Some(entry) = self.entries.get_mut(&id)
            && entry.record.state == ItemState::Paused
        {
            entry.eligible = true;
            self.set_state(id, ItemState::Queued).await;
        }
    }

    pub(super) async fn cancel(&mut self, id: ItemId) {
        if self.stop_job(id, Stop::Cancel) {
            // Killed before the job has stopped, the next start finds it cancelled (and
            // aborts its upload, see `load`) instead of resuming it.
            self.persist(id, &ItemState::Cancelled);
            return;
        }
        if let Some(entry) = self.entries.get(&id)
            && !entry.record.state.is_terminal()
            && !entry.aborting
        {
            self.spawn_abort(id, AfterAbort::Cancel);
        }
    }

    pub(super) async fn remove(&mut self, id: ItemId) {
        if self.stop_job(id, Stop::Remove) {
            // As for a cancel: never resumed after a crash now.
            self.persist(id, &ItemState::Cancelled);
            return;
        }
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        if entry.aborting {
            return;
        }
        if entry.record.state.is_terminal() {
            self.forget(id).await;
        } else {
            self.spawn_abort(id, AfterAbort::Remove);
        }
    }

    pub(super) async fn forget(&mut self, id: ItemId) {
        if let Err(err) = self.shared.store.delete_item(id) {
            tracing::error!(item = id, "cannot delete an item: {err:#}");
        }
        self.entries.remove(&id);
        self.emit(Event::Removed(id)).await;
    }

    pub(super) async fn update_options(&mut self, id: ItemId, mut options: ItemOptions) {
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        if matches!(entry.record.destination, Destination::WeCom(_)) {
            let message = "WeChat Work media has no upload options.".to_owned();
            return self.emit(Event::Notice { id, message }).await;
        }
        let started = self.shared.store.session(id).ok().flatten().is_some();
        let editable = entry.running.is_none()
            && !started
            && matches!(
                entry.record.state,
                ItemState::Queued | ItemState::Paused | ItemState::Failed(_) | ItemState::Cancelled
            );
        let message = if editable {
            if options.cover.is_none() {
                options.cover = validate::paired_cover(&entry.record.path);
            }
            match validate::check_options(&options) {
                Ok(()) => match self.shared.store.set_item_options(id, &options) {
                    Ok(()) => {
                        if let Some(entry) = self.entries.get_mut(&id) {
                            entry.record.options = options;
                        }
                        return;
                    }
                    Err(err) => format!("The options could not be saved ({err:#})."),
                },
                Err(reason) => format!("The options were not changed: {reason}."),
            }
        } else {
            "Options can only change before the upload starts.".to_owned()
        };
        self.emit(Event::Notice { id, message }).await;
    }
}
