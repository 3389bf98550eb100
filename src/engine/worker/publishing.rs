//! The worker's side of WeChat publishing: publish, follow the review (also after a restart),
//! suspend/restore, delete, refresh, and the library of the account's media.
//!
//! Service calls run in background tasks (a review can take hours); they report back through
//! the job channel, and the worker persists and announces every change of state.

use std::time::Duration;

use super::Worker;
use crate::engine::api::{
    Destination, Event, ItemId, ItemState, LibraryAction, LibraryEntry, PublishState, UserError,
};
use crate::engine::errors::plain;
use crate::engine::job::JobMsg;
use crate::engine::publish::ReviewOutcome;
use crate::engine::publisher::{MediaStatus, Publisher, library_entry, reconcile, refused};
use crate::store::unix_now;
use crate::tencent::vod::VodClient;

type Reply = tokio::sync::mpsc::Sender<JobMsg>;

/// Follows a review to its end and says what the publication became.
async fn follow_review(
    publisher: &Publisher,
    file_id: &str,
    task_id: &str,
    definition: i64,
    elapsed: Duration,
) -> PublishState {
    match publisher.wait_review(task_id, elapsed).await {
        Ok(ReviewOutcome::Passed) => match publisher.published_url(file_id, definition).await {
            Ok(url) => PublishState::Published { url, definition },
            Err(err) => PublishState::Rejected(UserError {
                message: format!(
                    "The review passed, but the publishing URL could not be read: {}. Refresh the item to read it again.",
                    err.message
                ),
                ..err
            }),
        },
        Ok(ReviewOutcome::Refused { result, message }) => refused(&result, &message),
        Ok(ReviewOutcome::Pending) => PublishState::UnderReview {
            task_id: task_id.to_owned(),
            since: unix_now(),
            definition,
        },
        Err(err) => PublishState::Rejected(err),
    }
}

fn deleted_entry(file_id: &str) -> LibraryEntry {
    LibraryEntry {
        file_id: file_id.to_owned(),
        name: String::new(),
        status: "Deleted".to_owned(),
        create_time: String::new(),
        category: String::new(),
        media_url: String::new(),
        cover_url: String::new(),
        publish: PublishState::Deleted,
    }
}

impl Worker {
    fn publisher(&self) -> Result<Publisher, UserError> {
        let service = &self.shared.service;
        let credentials = service.credentials.clone().ok_or_else(|| {
            plain(
                "No API key is configured: add one in the settings (or set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY).",
                false,
            )
        })?;
        let vod = VodClient::new(
            self.shared.http.clone(),
            &service.endpoints.vod,
            &service.region,
            credentials,
            self.shared.clock.clone(),
        )
        .map_err(|err| plain(err.to_string(), false))?
        .with_retry(self.shared.retry);
        Ok(Publisher::new(vod, service.sub_app_id))
    }

    /// Runs `work` in the background until it ends or the engine stops.
    fn spawn_publishing<F>(&self, work: impl FnOnce(Publisher, Reply) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let publisher = match self.publisher() {
            Ok(publisher) => publisher,
            Err(err) => {
                let tx = self.job_tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(JobMsg::Event(Event::LibraryError(err))).await;
                });
                return;
            }
        };
        let token = self.root.child_token();
        let task = work(publisher, self.job_tx.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = task => {}
                () = token.cancelled() => {}
            }
        });
    }

    /// Loads the persisted publication states and resumes following unfinished reviews.
    pub(super) fn load_publications(&mut self) {
        match self.shared.store.publications() {
            Ok(list) => {
                for (id, state) in list {
                    if let Some(entry) = self.entries.get_mut(&id) {
                        entry.publish = state;
                    }
                }
            }
            Err(err) => tracing::error!("cannot load publication states: {err:#}"),
        }
        let reviews: Vec<(ItemId, String, String, i64, i64)> = self
            .entries
            .values()
            .filter_map(|entry| match (&entry.record.state, &entry.publish) {
                (
                    ItemState::Done { file_id, .. },
                    PublishState::UnderReview {
                        task_id,
                        since,
                        definition,
                    },
                ) => Some((
                    entry.record.id,
                    file_id.clone(),
                    task_id.clone(),
                    *since,
                    *definition,
                )),
                _ => None,
            })
            .collect();
        if reviews.is_empty() || self.shared.service.credentials.is_none() {
            return;
        }
        for (id, file_id, task_id, since, definition) in reviews {
            let elapsed = Duration::from_secs(u64::try_from(unix_now() - since).unwrap_or(0));
            tracing::info!(
                item = id,
                task_id,
                "following a WeChat review again after a restart"
            );
            self.spawn_publishing(move |publisher, tx| async move {
                let state =
                    follow_review(&publisher, &file_id, &task_id, definition, elapsed).await;
                let _ = tx.send(JobMsg::Publish(id, state)).await;
            });
        }
    }

    /// Records and announces an item's new publication state.
    pub(super) async fn set_publish(&mut self, id: ItemId, state: PublishState) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if entry.publish == state {
            return;
        }
        entry.publish = state.clone();
        if let Err(err) = self.shared.store.set_publication(id, &state) {
            tracing::error!(item = id, "cannot persist a publication state: {err:#}");
        }
        self.emit(Event::PublishChanged { id, publish: state })
            .await;
    }

    /// Passes a publishing task's event on; a library update also updates queue items of the
    /// same file, so both views agree.
    pub(super) async fn forward(&mut self, event: Event) {
        if let Event::LibraryUpdated(entry) = &event {
            let items: Vec<(ItemId, PublishState)> = self
                .entries
                .values()
                .filter(|e| {
                    matches!(&e.record.state, ItemState::Done { file_id, .. } if *file_id == entry.file_id)
                })
                .map(|e| (e.record.id, e.publish.clone()))
                .collect();
            for (id, current) in items {
                let next = match (&current, &entry.publish) {
                    (
                        PublishState::UnderReview { .. } | PublishState::Rejected(_),
                        PublishState::NotPublished,
                    ) => current.clone(),
                    _ => entry.publish.clone(),
                };
                self.set_publish(id, next).await;
            }
        }
        self.emit(event).await;
    }

    async fn refuse(&self, id: ItemId, message: String) {
        self.emit(Event::Notice { id, message }).await;
    }

    /// The FileId of a finished VOD item, or why there is none.
    fn file_of(&self, id: ItemId) -> Result<(String, PublishState), String> {
        let entry = self
            .entries
            .get(&id)
            .ok_or_else(|| "That item is no longer in the queue.".to_owned())?;
        if matches!(entry.record.destination, Destination::WeCom(_)) {
            return Err(
                "WeChat Work media cannot be published to WeChat Mini Programs.".to_owned(),
            );
        }
        match &entry.record.state {
            ItemState::Done { file_id, .. } if !file_id.is_empty() => {
                Ok((file_id.clone(), entry.publish.clone()))
            }
            _ => Err(
                "Only a finished VOD upload can be published or managed; wait for it to finish."
                    .to_owned(),
            ),
        }
    }

    pub(super) async fn publish(&mut self, id: ItemId, definition: Option<i64>) {
        let (file_id, current) = match self.file_of(id) {
            Ok(found) => found,
            Err(message) => return self.refuse(id, message).await,
        };
        match current {
            PublishState::UnderReview { .. } => {
                return self
                    .refuse(id, "It is already under review.".to_owned())
                    .await;
            }
            PublishState::Deleted => {
                return self
                    .refuse(
                        id,
                        "It was deleted from VOD and cannot be published.".to_owned(),
                    )
                    .await;
            }
            _ => {}
        }
        self.spawn_publishing(move |publisher, tx| async move {
            let submitted = match publisher.submit(&file_id, definition).await {
                Ok(submitted) => submitted,
                Err(err) => {
                    let _ = tx
                        .send(JobMsg::Publish(id, PublishState::Rejected(err)))
                        .await;
                    return;
                }
            };
            let _ = tx
                .send(JobMsg::Publish(
                    id,
                    PublishState::UnderReview {
                        task_id: submitted.task_id.clone(),
                        since: unix_now(),
                        definition: submitted.definition,
                    },
                ))
                .await;
            let state = follow_review(
                &publisher,
                &file_id,
                &submitted.task_id,
                submitted.definition,
                Duration::ZERO,
            )
            .await;
            let _ = tx.send(JobMsg::Publish(id, state)).await;
        });
    }

    /// Runs one service action for a finished item in the background; its result becomes the
    /// item's publication state, a failure a notice on the item.
    async fn item_task<F, Fut>(&mut self, id: ItemId, action: F)
    where
        F: FnOnce(Publisher, String, PublishState) -> Fut + Send + 'static,
        Fut: Future<Output = Result<PublishState, UserError>> + Send + 'static,
    {
        let (file_id, current) = match self.file_of(id) {
            Ok(found) => found,
            Err(message) => return self.refuse(id, message).await,
        };
        self.spawn_publishing(move |publisher, tx| async move {
            let message = match action(publisher, file_id, current).await {
                Ok(state) => JobMsg::Publish(id, state),
                Err(err) => JobMsg::Event(Event::Notice {
                    id,
                    message: err.to_string(),
                }),
            };
            let _ = tx.send(message).await;
        });
    }

    pub(super) async fn suspend(&mut self, id: ItemId, suspend: bool) {
        self.item_task(id, move |publisher, file_id, current| async move {
            publisher.set_suspended(&file_id, suspend).await?;
            let status = publisher.status(&file_id).await?;
            Ok(reconcile(&current, &status))
        })
        .await;
    }

    pub(super) async fn delete_media(&mut self, id: ItemId) {
        self.item_task(id, |publisher, file_id, _| async move {
            publisher.delete(&file_id).await?;
            Ok(PublishState::Deleted)
        })
        .await;
    }

    pub(super) async fn refresh(&mut self, id: ItemId) {
        self.item_task(id, |publisher, file_id, current| async move {
            let status = publisher.status(&file_id).await?;
            Ok(reconcile(&current, &status))
        })
        .await;
    }

    pub(super) async fn search_library(&mut self, name: Option<String>, offset: u64, limit: u64) {
        self.spawn_publishing(move |publisher, tx| async move {
            let event = match publisher.search(name.as_deref(), offset, limit).await {
                Ok(page) => Event::Library(page),
                Err(err) => Event::LibraryError(err),
            };
            let _ = tx.send(JobMsg::Event(event)).await;
        });
    }

    pub(super) async fn library_action(&mut self, file_id: String, action: LibraryAction) {
        self.spawn_publishing(move |publisher, tx| async move {
            let send = |event: Event| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(JobMsg::Event(event)).await;
                }
            };
            let current_entry = |publish: PublishState| async {
                match publisher.status(&file_id).await {
                    Ok(MediaStatus::Present { info }) => {
                        let mut entry = library_entry(&info);
                        if !matches!(publish, PublishState::NotPublished) {
                            entry.publish = publish;
                        }
                        Ok(entry)
                    }
                    Ok(MediaStatus::Deleted) => Ok(deleted_entry(&file_id)),
                    Err(err) => Err(err),
                }
            };
            let result: Result<LibraryEntry, UserError> = match action {
                LibraryAction::Publish(definition) => {
                    match publisher.submit(&file_id, definition).await {
                        Ok(submitted) => {
                            let review = PublishState::UnderReview {
                                task_id: submitted.task_id.clone(),
                                since: unix_now(),
                                definition: submitted.definition,
                            };
                            if let Ok(entry) = current_entry(review).await {
                                send(Event::LibraryUpdated(Box::new(entry))).await;
                            }
                            let state = follow_review(
                                &publisher,
                                &file_id,
                                &submitted.task_id,
                                submitted.definition,
                                Duration::ZERO,
                            )
                            .await;
                            current_entry(state).await
                        }
                        Err(err) => Err(err),
                    }
                }
                LibraryAction::Suspend | LibraryAction::Restore => {
                    match publisher
                        .set_suspended(&file_id, action == LibraryAction::Suspend)
                        .await
                    {
                        Ok(()) => current_entry(PublishState::NotPublished).await,
                        Err(err) => Err(err),
                    }
                }
                LibraryAction::Delete => publisher
                    .delete(&file_id)
                    .await
                    .map(|()| deleted_entry(&file_id)),
                LibraryAction::Refresh => current_entry(PublishState::NotPublished).await,
            };
            match result {
                Ok(entry) => send(Event::LibraryUpdated(Box::new(entry))).await,
                Err(err) => send(Event::LibraryError(err)).await,
            }
        });
    }
}
