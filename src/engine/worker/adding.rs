//! Adding files: each checked off the async threads, refused with the rule it broke, queued
//! as a new item, or (unfinished, the same file) queued again with the options given now.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{ADD_BATCH, Entry, Worker};
use crate::engine::api::{
    Destination, Event, ItemId, ItemOptions, ItemState, NewItem, Progress, PublishState,
};
use crate::engine::{job, validate};
use crate::store::{ItemRecord, NewRecord, Retire};

/// A checked file: its destination, the options as given, and the check's outcome.
type Checked = (
    Destination,
    ItemOptions,
    Result<validate::Validated, String>,
);

/// What becomes of one added file.
enum Fate {
    Rejected(String),
    /// An unfinished item, with the options given now.
    Existing(ItemId, ItemOptions),
    /// Index into `fresh`.
    New(usize),
}

impl Worker {
    /// Validates and queues `items`, answering for each in order: rejected, added, or an
    /// unfinished item of the same file queued again.
    pub(super) async fn add(&mut self, items: Vec<NewItem>) {
        // Unfinished items by path: the same file, unfinished, is resumed rather than queued
        // twice (a changed file is detected by the job).
        let mut unfinished: HashMap<(PathBuf, Destination), ItemId> = self
            .entries
            .values()
            .filter(|e| e.unfinished())
            .map(|e| ((e.record.path.clone(), e.record.destination), e.record.id))
            .collect();
        // A dropped folder of thousands shows up a batch at a time.
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let batch: Vec<NewItem> = items.by_ref().take(ADD_BATCH).collect();
            self.add_batch(batch, &mut unfinished).await;
        }
    }

    async fn add_batch(
        &mut self,
        items: Vec<NewItem>,
        unfinished: &mut HashMap<(PathBuf, Destination), ItemId>,
    ) {
        let paths: Vec<PathBuf> = items.iter().map(|item| item.path.clone()).collect();
        let checked = self.check_batch(items).await;
        let (fates, fresh) = self.sort_out(checked, unfinished);
        let inserting: Vec<NewRecord<'_>> = fresh
            .iter()
            .map(|(destination, valid)| NewRecord {
                path: &valid.path,
                size: valid.size,
                mtime_ns: valid.mtime_ns,
                destination: *destination,
                options: &valid.options,
            })
            .collect();
        let inserted = self
            .shared
            .store
            .insert_items(&inserting)
            .map_err(|err| format!("it could not be saved in the queue ({err:#})"));
        drop(inserting);
        if let Ok(records) = &inserted {
            unfinished.extend(
                records
                    .iter()
                    .map(|record| ((record.path.clone(), record.destination), record.id)),
            );
        }
        let mut added: Vec<Option<ItemId>> = vec![None; fresh.len()];

        for (fate, path) in fates.into_iter().zip(paths) {
            match fate {
                Fate::Rejected(reason) => self.emit(Event::Rejected { path, reason }).await,
                Fate::Existing(id, given) => self.add_again(id, &given, path).await,
                // A file named twice in one batch: the second time it is already queued.
                Fate::New(index) if added[index].is_some() => {
                    if let Some(id) = added[index] {
                        self.queue_again(id).await;
                    }
                }
                Fate::New(index) => match &inserted {
                    Ok(records) => {
                        if let Some(record) = records.get(index) {
                            added[index] = Some(record.id);
                            self.add_new(record.clone()).await;
                        }
                    }
                    Err(reason) => {
                        let reason = reason.clone();
                        self.emit(Event::Rejected { path, reason }).await;
                    }
                },
            }
        }
    }

    /// An unfinished item of a file added again: the options given now apply (a begun
    /// upload with other options starts over, said in a notice), and it is queued again.
    async fn add_again(&mut self, id: ItemId, given: &ItemOptions, path: PathBuf) {
        match self.apply_options_again(id, given) {
            Err(reason) => self.emit(Event::Rejected { path, reason }).await,
            Ok(restarted) => {
                if restarted {
                    let message = format!(
                        "New options were given for {}, so its upload starts over with them.",
                        path.display()
                    );
                    self.emit(Event::Notice { id, message }).await;
                }
                self.queue_again(id).await;
            }
        }
    }

    /// A new item, saved in the store as `record`: in the queue, and said.
    async fn add_new(&mut self, record: ItemRecord) {
        let entry = Entry {
            progress: Progress {
                bytes_total: record.size,
                ..Progress::default()
            },
            record,
            eligible: true,
            running: None,
            aborting: false,
            publish: PublishState::NotPublished,
        };
        let snapshot = entry.snapshot();
        self.entries.insert(snapshot.id, entry);
        self.emit(Event::Added(Box::new(snapshot))).await;
    }

    /// Refuses a destination this engine has no credentials for.
    fn check_destination(&self, destination: Destination) -> Result<(), String> {
        if matches!(destination, Destination::WeCom(_)) && self.shared.wecom.is_none() {
            return Err(
                "WeChat Work needs its application's CorpID and secret (in the app's settings, or WECOM_CORP_ID and WECOM_CORP_SECRET)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Refuses options that cannot be carried out here (rather than dropping them silently).
    fn check_flow(&self, options: &ItemOptions) -> Result<(), String> {
        if options.expire_time.is_some() && self.shared.service.credentials.is_none() {
            return Err(
                "an expiry time needs the API key (SecretId and SecretKey): neither an upload signature nor the client-upload API can set one".to_owned(),
            );
        }
        Ok(())
    }

    /// An unfinished item whose file was added again with options: those given now replace
    /// the stored ones (the rest stay). When they change anything, an upload already begun
    /// starts over with them (its session was made with the old ones): returns whether it
    /// did. A running upload keeps its options, and the new ones are refused.
    fn apply_options_again(&mut self, id: ItemId, given: &ItemOptions) -> Result<bool, String> {
        let Some(entry) = self.entries.get(&id) else {
            return Ok(false);
        };
        let mut merged = entry.record.options.clone();
        overlay(&mut merged, given);
        if merged == entry.record.options {
            return Ok(false);
        }
        if entry.running.is_some() || entry.aborting {
            return Err(format!(
                "{} is uploading now with the options it was queued with; pause it (or wait for it to finish) before giving new ones",
                entry.record.path.display()
            ));
        }
        validate::check_options(&merged)?;
        self.check_flow(&merged)?;
        let started = matches!(self.shared.store.session(id), Ok(Some(_)));
        if started {
            // Its upload was begun with the old options: give it up (aborted in the
            // background, or by a later sweep) and start over.
            match self
                .shared
                .store
                .retire_session(id, &entry.record.options, Retire::Restart)
            {
                Ok(Some(leftover)) => {
                    job::abort_leftover_later(Arc::clone(&self.shared), leftover);
                }
                Ok(None) => {}
                Err(err) => return Err(format!("the queue could not be updated ({err:#})")),
            }
        }
        self.shared
            .store
            .set_item_options(id, &merged)
            .map_err(|err| format!("the options could not be saved ({err:#})"))?;
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.record.options = merged;
            if started {
                entry.progress.bytes_done = 0;
                entry.record.resumed_bytes = 0;
            }
        }
        Ok(started)
    }

    /// An unfinished item whose file was added again: queued (again) if it is not running.
    async fn queue_again(&mut self, id: ItemId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.eligible = true;
        if entry.running.is_none() && entry.record.state != ItemState::Queued {
            self.set_state(id, ItemState::Queued).await;
        } else {
            let state = entry.record.state.clone();
            self.emit(Event::StateChanged { id, state }).await;
        }
    }

    /// Checks each new file (and fills the options left to the settings) on the blocking
    /// pool; with the options as given, to compare with a stored item's.
    async fn check_batch(&self, items: Vec<NewItem>) -> Vec<Checked> {
        // Checking touches the disk (a stat and an open per file, a few more for covers): on
        // the blocking pool rather than this task.
        let defaults = self.config.defaults.clone();
        let count = items.len();
        tokio::task::spawn_blocking(move || {
            items
                .into_iter()
                .map(|mut item| {
                    let mut given = item.options.clone();
                    // Compared with the stored options, whose cover `validate` made absolute.
                    given.cover = given
                        .cover
                        .map(|cover| std::path::absolute(&cover).unwrap_or(cover));
                    fill_defaults(&mut item.options, &defaults);
                    let valid = validate::validate(&item);
                    (item.destination, given, valid)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|err| {
            tracing::error!(%err, "checking new files failed");
            let reason = "it could not be checked (an internal error; try again)".to_owned();
            (0..count)
                .map(|_| {
                    (
                        Destination::Vod,
                        ItemOptions::default(),
                        Err(reason.clone()),
                    )
                })
                .collect()
        })
    }

    /// What becomes of each checked file: refused, an unfinished item of the same file and
    /// destination, or a new item (named twice in one batch, one item); and the new ones.
    fn sort_out(
        &self,
        checked: Vec<Checked>,
        unfinished: &HashMap<(PathBuf, Destination), ItemId>,
    ) -> (Vec<Fate>, Vec<(Destination, validate::Validated)>) {
        let mut new_here: HashMap<(PathBuf, Destination), usize> = HashMap::new();
        let mut fates = Vec::with_capacity(checked.len());
        let mut fresh: Vec<(Destination, validate::Validated)> = Vec::new();
        for (destination, given, valid) in checked {
            let valid = valid.and_then(|valid| {
                self.check_destination(destination)?;
                self.check_flow(&valid.options).map(|()| valid)
            });
            let fate = match valid {
                Err(reason) => Fate::Rejected(reason),
                Ok(valid) => {
                    // One item per file and destination: the same file may go to VOD and to
                    // WeChat Work.
                    let key = (valid.path.clone(), destination);
                    // Still unfinished now (the map was made before the first batch).
                    let existing = unfinished
                        .get(&key)
                        .copied()
                        .filter(|id| self.entries.get(id).is_some_and(Entry::unfinished));
                    if let Some(id) = existing {
                        Fate::Existing(id, given)
                    } else if let Some(index) = new_here.get(&key) {
                        Fate::New(*index)
                    } else {
                        let index = fresh.len();
                        new_here.insert(key, index);
                        fresh.push((destination, valid));
                        Fate::New(index)
                    }
                }
            };
            fates.push(fate);
        }
        (fates, fresh)
    }
}

/// Sets the options given in `given` (those left out stay).
fn overlay(options: &mut ItemOptions, given: &ItemOptions) {
    macro_rules! given {
        ($($field:ident),*) => {$(
            if given.$field.is_some() {
                options.$field = given.$field.clone();
            }
        )*};
    }
    given!(
        media_name,
        cover,
        procedure,
        class_id,
        expire_time,
        source_context,
        storage_region,
        sub_app_id,
        part_size,
        flow
    );
}

/// Fills the options the user left to the settings.
fn fill_defaults(options: &mut ItemOptions, defaults: &ItemOptions) {
    let mut filled = defaults.clone();
    overlay(&mut filled, options);
    *options = filled;
}
