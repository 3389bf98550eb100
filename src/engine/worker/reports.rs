//! What running jobs report: state changes, progress and notices as they happen, and how
//! each job ended.

use super::*;

impl Worker {
    pub(super) async fn job_message(&mut self, message: JobMsg) {
        match message {
            JobMsg::State(id, state) => {
                // A job being stopped may still report; its stop decides the final state.
                let stopping = self
                    .entries
                    .get(&id)
                    .and_then(|e| e.running.as_ref())
                    .is_some_and(|r| r.stop.is_some());
                if !stopping {
                    self.set_state(id, state).await;
                }
            }
            JobMsg::Progress(id, progress) => {
                if let Some(entry) = self.entries.get_mut(&id) {
                    // Bytes acknowledged never go backwards within a run.
                    let mut progress = progress;
                    if entry.running.is_some() && progress.bytes_total == entry.progress.bytes_total
                    {
                        progress.bytes_done = progress.bytes_done.max(entry.progress.bytes_done);
                    }
                    entry.progress = progress.clone();
                    if self
                        .events
                        .try_send(Event::Progress { id, progress })
                        .is_ok()
                    {
                        (self.notify)();
                    }
                }
            }
            JobMsg::Notice(id, message) => self.emit(Event::Notice { id, message }).await,
            JobMsg::Finished(id, result) => self.finished(id, result).await,
            JobMsg::Publish(id, state) => self.set_publish(id, state).await,
            JobMsg::Event(event) => self.forward(event).await,
            JobMsg::Aborted(id, then, error) => {
                if let Some(err) = &error {
                    tracing::warn!(item = id, "abort: {err}");
                    self.emit(Event::Notice {
                        id,
                        message: format!(
                            "The unfinished upload could not be removed from the server: {err}"
                        ),
                    })
                    .await;
                }
                if let Err(err) = self.shared.store.delete_session(id) {
                    tracing::error!(item = id, "cannot delete a session: {err:#}");
                }
                if let Some(entry) = self.entries.get_mut(&id) {
                    entry.aborting = false;
                    entry.progress.bytes_done = 0;
                }
                match then {
                    AfterAbort::Cancel => self.set_state(id, ItemState::Cancelled).await,
                    AfterAbort::Remove => self.forget(id).await,
                }
            }
        }
    }

    pub(super) async fn finished(&mut self, id: ItemId, result: JobResult) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let stop = entry.running.take().and_then(|r| r.stop);
        // The job may have recorded a new size and modification time for a changed file.
        if let Ok(Some(stored)) = self.shared.store.item(id) {
            entry.record.size = stored.size;
            entry.record.mtime_ns = stored.mtime_ns;
            entry.record.resumed_bytes = stored.resumed_bytes;
        }
        match (result, stop) {
            (JobResult::Done(state), _) => self.set_state(id, state).await,
            (_, Some(Stop::Pause)) => self.set_state(id, ItemState::Paused).await,
            (_, Some(Stop::Cancel)) => self.spawn_abort(id, AfterAbort::Cancel),
            (_, Some(Stop::Remove)) => self.spawn_abort(id, AfterAbort::Remove),
            (_, Some(Stop::Shutdown)) | (JobResult::Stopped, None) => {
                // Continues on the next start.
                self.persist(id, &ItemState::Queued);
            }
            (JobResult::Failed(err), None) => {
                tracing::warn!(item = id, "failed: {err}");
                self.set_state(id, ItemState::Failed(err)).await;
            }
        }
    }
}
