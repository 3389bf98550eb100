//! The worker task: owns the queue, turns commands into job starts and stops, turns job
//! reports into events, and persists every state transition.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::EngineConfig;
use super::api::{
    Command, Destination, Event, ItemId, ItemOptions, ItemSnapshot, ItemState, Progress,
    PublishState, UploadFlow,
};
use super::job::{self, AfterAbort, Job, JobMsg, JobResult, Shared};
use super::validate;
use crate::store::{ItemRecord, Retire};

mod adding;
mod items;
mod publishing;
mod reports;
mod service;

/// Why a running job is being stopped; recorded before its token is cancelled.
/// Files checked and queued at a time when many are added at once: the first show up after
/// a batch rather than after all of them.
const ADD_BATCH: usize = 500;

/// Why a job is being stopped. Declared weakest first: a stronger reason replaces a weaker
/// one while the job stops, never the other way (quitting right after a pause or a cancel
/// must not turn it into "continue on the next start").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    Shutdown,
    Pause,
    Cancel,
    Remove,
}

struct Running {
    token: CancellationToken,
    /// Asks the job to stop after letting parts about to finish finish (pause, quit).
    drain: CancellationToken,
    stop: Option<Stop>,
}

/// How long a pause or quit waits for parts about to finish before it stops them.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

struct Entry {
    record: ItemRecord,
    progress: Progress,
    /// Whether this engine may start it when it is queued (a CLI run only starts its own).
    eligible: bool,
    running: Option<Running>,
    aborting: bool,
    /// WeChat publication state (persisted in the `publications` table).
    publish: PublishState,
}

impl Entry {
    /// Whether the item still stands for its file: adding the file again queues it again
    /// rather than a second item.
    fn unfinished(&self) -> bool {
        !matches!(
            self.record.state,
            ItemState::Done { .. } | ItemState::Cancelled
        ) && !self.aborting
    }

    fn snapshot(&self) -> ItemSnapshot {
        ItemSnapshot {
            id: self.record.id,
            path: self.record.path.clone(),
            size: self.record.size,
            destination: self.record.destination,
            options: self.record.options.clone(),
            state: self.record.state.clone(),
            progress: self.progress.clone(),
            publish: self.publish.clone(),
            created_at: self.record.created_at,
        }
    }
}

pub(crate) struct Worker {
    /// The data directory's lock, let go once no job runs after a shutdown.
    lock: Option<super::DirLock>,
    pub shared: Arc<Shared>,
    pub config: EngineConfig,
    pub events: mpsc::Sender<Event>,
    pub notify: Arc<dyn Fn() + Send + Sync>,
    pub job_tx: mpsc::Sender<JobMsg>,
    pub root: CancellationToken,
    entries: BTreeMap<ItemId, Entry>,
    busy: bool,
    shutting_down: bool,
    /// Whether a [`job::sweep_leftovers`] is running.
    sweeping: Arc<AtomicBool>,
    /// When the last one began.
    last_sweep: Option<std::time::Instant>,
}

/// Sweeps after a finished upload come at most this often (the first, at start, always).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

fn same_kind(a: &ItemState, b: &ItemState) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: EngineConfig,
        events: mpsc::Sender<Event>,
        notify: Arc<dyn Fn() + Send + Sync>,
        job_tx: mpsc::Sender<JobMsg>,
        root: CancellationToken,
        lock: Option<super::DirLock>,
    ) -> Self {
        Self {
            lock,
            shared,
            config,
            events,
            notify,
            job_tx,
            root,
            entries: BTreeMap::new(),
            busy: true,
            shutting_down: false,
            sweeping: Arc::new(AtomicBool::new(false)),
            last_sweep: None,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut jobs: mpsc::Receiver<JobMsg>,
    ) {
        self.load().await;
        loop {
            self.schedule();
            self.check_idle().await;
            if self.shutting_down && self.running_count() == 0 {
                // No job writes any more: another engine may take the directory (aborts that
                // are still under way are leftovers it would sweep too).
                self.lock = None;
            }
            if self.shutting_down && self.quiet() {
                break;
            }
            tokio::select! {
                command = commands.recv(), if !self.shutting_down => match command {
                    Some(command) => self.command(command).await,
                    // Every handle is gone: stop as on Shutdown.
                    None => self.shutdown(),
                },
                Some(message) = jobs.recv() => self.job_message(message).await,
                () = self.root.cancelled(), if !self.shutting_down => self.shutdown(),
            }
        }
        tracing::debug!("engine worker stopped");
    }

    async fn emit(&self, event: Event) {
        if self.events.send(event).await.is_ok() {
            (self.notify)();
        }
    }

    fn persist(&self, id: ItemId, state: &ItemState) {
        if let Err(err) = self.shared.store.set_item_state(id, state) {
            tracing::error!(item = id, "cannot persist a state change: {err:#}");
        }
    }

    /// Sets, persists and announces a state.
    async fn set_state(&mut self, id: ItemId, state: ItemState) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        // Part counts change often; the database keeps the kind of state only.
        if !same_kind(&entry.record.state, &state) || !matches!(state, ItemState::Uploading { .. })
        {
            self.persist(id, &state);
        }
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.record.state = state.clone();
            if let ItemState::Done { .. } = state {
                entry.progress.bytes_done = entry.progress.bytes_total.max(entry.record.size);
                entry.progress.bytes_total = entry.progress.bytes_done;
                entry.progress.speed = 0.0;
                entry.progress.eta = None;
                entry.progress.stalled = None;
            }
        }
        if let ItemState::Done { .. } = state {
            // The service is reachable again: a good time for aborts that failed before.
            self.sweep();
        }
        self.emit(Event::StateChanged { id, state }).await;
    }

    /// Aborts, in the background, the uploads that earlier aborts left on the server (see
    /// [`job::sweep_leftovers`]); one sweep at a time, at most every [`SWEEP_EVERY`] after the
    /// first, and only when there are some.
    fn sweep(&mut self) {
        if self.sweeping.load(Ordering::Acquire)
            || self
                .last_sweep
                .is_some_and(|last| last.elapsed() < SWEEP_EVERY)
            || self
                .shared
                .store
                .leftovers()
                .map_or(true, |leftovers| leftovers.is_empty())
        {
            return;
        }
        self.sweeping.store(true, Ordering::Release);
        self.last_sweep = Some(std::time::Instant::now());
        let shared = Arc::clone(&self.shared);
        let sweeping = Arc::clone(&self.sweeping);
        tokio::spawn(async move {
            job::sweep_leftovers(&shared).await;
            sweeping.store(false, Ordering::Release);
        });
    }

    async fn load(&mut self) {
        let records = match self.shared.store.items() {
            Ok(records) => records,
            Err(err) => {
                tracing::error!("cannot load the queue: {err:#}");
                Vec::new()
            }
        };
        for mut record in records {
            // Items that were moving when the last run ended continue from their session.
            if matches!(
                record.state,
                ItemState::Applying | ItemState::Uploading { .. } | ItemState::Committing
            ) {
                record.state = ItemState::Queued;
                self.persist(record.id, &record.state);
            }
            // Cancelled (or removed) while its job was stopping, and the app ended before
            // the abort: its upload joins those the sweep below aborts.
            if record.state == ItemState::Cancelled
                && matches!(self.shared.store.session(record.id), Ok(Some(_)))
                && let Err(err) =
                    self.shared
                        .store
                        .retire_session(record.id, &record.options, Retire::Cancel)
            {
                tracing::warn!(
                    item = record.id,
                    "cannot give up a cancelled upload: {err:#}"
                );
            }
            let done_bytes = match &record.state {
                ItemState::Done { .. } => record.size,
                _ => self
                    .shared
                    .store
                    .parts(record.id)
                    .map(|parts| parts.iter().map(|p| p.size).sum())
                    .unwrap_or(0),
            };
            let eligible = self.config.auto_resume;
            self.entries.insert(
                record.id,
                Entry {
                    progress: Progress {
                        bytes_done: done_bytes,
                        bytes_total: record.size,
                        ..Progress::default()
                    },
                    record,
                    eligible,
                    running: None,
                    aborting: false,
                    publish: PublishState::NotPublished,
                },
            );
        }
        self.load_publications();
        let snapshots = self.entries.values().map(Entry::snapshot).collect();
        self.emit(Event::Loaded(snapshots)).await;
        self.sweep();
    }

    fn running_count(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.running.is_some())
            .count()
    }

    fn quiet(&self) -> bool {
        self.entries
            .values()
            .all(|e| e.running.is_none() && !e.aborting)
    }

    async fn check_idle(&mut self) {
        let busy = !self.quiet()
            || (!self.shutting_down
                && self
                    .entries
                    .values()
                    .any(|e| e.eligible && e.record.state == ItemState::Queued));
        if self.busy && !busy {
            self.emit(Event::Idle).await;
        }
        self.busy = busy;
    }

    fn flow_for(&self, options: &ItemOptions) -> UploadFlow {
        // A signature service means signature mode: the client-upload flow, whatever else.
        if self.shared.service.signature_url.is_some() {
            return UploadFlow::ClientUpload;
        }
        if let Some(flow) = options.flow {
            return flow;
        }
        // Without an API key only the client-upload flow (with a signature service) works.
        if self.shared.service.credentials.is_none() {
            return UploadFlow::ClientUpload;
        }
        // An expiry time goes with ApplyUpload in the server API flow, and by ModifyMediaInfo
        // after the commit in the client-upload flow: either works with the API key.
        self.config.default_flow
    }

    fn schedule(&mut self) {
        if self.shutting_down {
            return;
        }
        let parallel = match self.config.tuning.parallel_files {
            // Automatic: enough files to keep every slot of the budget busy while some of them
            // apply for sessions and commit (those steps send no data), and no more.
            0 => (self.shared.budget.controller().slots() * 2 + 2).min(super::api::MAX_AUTO_FILES),
            files => files,
        };
        while self.running_count() < parallel {
            let next = self
                .entries
                .values()
                .find(|e| {
                    e.eligible
                        && e.running.is_none()
                        && !e.aborting
                        && e.record.state == ItemState::Queued
                })
                .map(|e| e.record.id);
            let Some(id) = next else {
                return;
            };
            self.start_job(id);
        }
    }

    fn start_job(&mut self, id: ItemId) {
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        let flow = self.flow_for(&entry.record.options);
        let token = self.root.child_token();
        let drain = CancellationToken::new();
        let job = Job::new(
            Arc::clone(&self.shared),
            entry.record.clone(),
            flow,
            token.clone(),
            drain.clone(),
            self.job_tx.clone(),
        );
        tokio::spawn(job.run());
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.running = Some(Running {
                token,
                drain,
                stop: None,
            });
        }
    }

    fn stop_job(&mut self, id: ItemId, stop: Stop) -> bool {
        match self.entries.get_mut(&id).and_then(|e| e.running.as_mut()) {
            Some(running) => {
                // Why it stops is recorded before the token fires.
                running.stop = running.stop.max(Some(stop));
                match running.stop {
                    // Parts that finish within a second are kept; the rest stop at once, and
                    // whatever still runs after the limit is stopped.
                    Some(Stop::Pause | Stop::Shutdown) => {
                        running.drain.cancel();
                        let token = running.token.clone();
                        tokio::spawn(async move {
                            tokio::select! {
                                () = tokio::time::sleep(DRAIN_LIMIT) => token.cancel(),
                                () = token.cancelled() => {}
                            }
                        });
                    }
                    _ => running.token.cancel(),
                }
                true
            }
            None => false,
        }
    }

    fn shutdown(&mut self) {
        self.shutting_down = true;
        let ids: Vec<ItemId> = self.entries.keys().copied().collect();
        for id in ids {
            self.stop_job(id, Stop::Shutdown);
        }
    }

    fn spawn_abort(&mut self, id: ItemId, then: AfterAbort) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.aborting = true;
        let shared = Arc::clone(&self.shared);
        let record = entry.record.clone();
        let tx = self.job_tx.clone();
        tokio::spawn(async move {
            let retire = match then {
                AfterAbort::Cancel => Retire::Cancel,
                AfterAbort::Remove => Retire::Remove,
            };
            let result = job::retire_item(&shared, &record, retire).await.err();
            let _ = tx.send(JobMsg::Aborted(record.id, then, result)).await;
        });
    }

    // ----- commands ------------------------------------------------------------------------

    async fn command(&mut self, command: Command) {
        match command {
            Command::Add(items) => self.add(items).await,
            Command::Pause(id) => self.pause(id).await,
            Command::Resume(id) => self.resume(id).await,
            Command::Cancel(id) => self.cancel(id).await,
            Command::Retry(id) => {
                if let Some(entry) = self.entries.get_mut(&id)
                    && entry.running.is_none()
                    && matches!(
                        entry.record.state,
                        ItemState::Failed(_) | ItemState::Cancelled
                    )
                {
                    entry.eligible = true;
                    self.set_state(id, ItemState::Queued).await;
                }
            }
            Command::Remove(id) => self.remove(id).await,
            Command::PauseAll => {
                let ids: Vec<ItemId> = self
                    .entries
                    .values()
                    .filter(|e| e.record.state.is_active())
                    .map(|e| e.record.id)
                    .collect();
                for id in ids {
                    self.pause(id).await;
                }
            }
            Command::ResumeAll => {
                let ids: Vec<ItemId> = self
                    .entries
                    .values()
                    .filter(|e| e.record.state == ItemState::Paused)
                    .map(|e| e.record.id)
                    .collect();
                for id in ids {
                    self.resume(id).await;
                }
            }
            Command::UpdateOptions(id, options) => self.update_options(id, options).await,
            Command::Tune(tuning) => {
                self.shared.budget.set_cap(tuning.parallel_parts.max(1));
                self.shared.limiter.set_limit(tuning.bandwidth_limit);
                self.config.tuning = tuning;
            }
            Command::Publish { id, definition } => self.publish(id, definition).await,
            Command::Suspend { id, suspend } => self.suspend(id, suspend).await,
            Command::DeleteMedia(id) => self.delete_media(id).await,
            Command::Refresh(id) => self.refresh(id).await,
            Command::SearchLibrary {
                name,
                offset,
                limit,
            } => self.search_library(name, offset, limit).await,
            Command::Library { file_id, action } => self.library_action(file_id, action).await,
            Command::TestConnection(probe) => self.test_connection(probe),
            Command::SaveWeComCopy { media_id, target } => self.save_wecom_copy(media_id, target),
            Command::Shutdown => self.shutdown(),
        }
    }
}
