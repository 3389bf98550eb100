//! A stand-in worker that simulates uploads in memory.
//!
//! The app falls back to it only when the engine cannot start (a banner says so), so the window
//! still opens and explains itself. It speaks the same [`Command`]/[`Event`] contract, moves
//! progress at a fixed rate and never touches the network or a database.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::api::{
    Command, EngineTuning, Event, ItemId, ItemSnapshot, ItemState, Progress, PublishState,
};
use crate::gui::files::{FileKind, kind_of};
use crate::gui::link::{COMMAND_CAPACITY, EVENT_CAPACITY};

/// Simulated bytes per second per file.
const SPEED: u64 = 6 * 1024 * 1024;
/// Simulated part size.
const PART: u64 = 4 * 1024 * 1024;

/// Starts the simulated worker on `handle`; returns its command sender and event receiver.
#[must_use]
pub fn spawn(handle: &tokio::runtime::Handle) -> (mpsc::Sender<Command>, mpsc::Receiver<Event>) {
    let (commands, mut command_rx) = mpsc::channel::<Command>(COMMAND_CAPACITY);
    let (event_tx, events) = mpsc::channel::<Event>(EVENT_CAPACITY);
    handle.spawn(async move {
        let mut sim = Sim::default();
        let _ = event_tx.send(Event::Loaded(Vec::new())).await;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let out = if sim.any_running() {
                tokio::select! {
                    command = command_rx.recv() => match command {
                        Some(Command::Shutdown) | None => break,
                        Some(command) => sim.handle(command).await,
                    },
                    _ = tick.tick() => sim.step(0.1),
                }
            } else {
                match command_rx.recv().await {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => {
                        tick.reset();
                        sim.handle(command).await
                    }
                }
            };
            for event in out {
                if event_tx.send(event).await.is_err() {
                    return;
                }
            }
        }
    });
    (commands, events)
}

#[derive(Default)]
struct Sim {
    items: BTreeMap<ItemId, ItemSnapshot>,
    next_id: ItemId,
    tuning: EngineTuning,
}

impl Sim {
    fn any_running(&self) -> bool {
        self.items.values().any(|item| item.state.is_active())
    }

    async fn handle(&mut self, command: Command) -> Vec<Event> {
        let mut out = Vec::new();
        match command {
            Command::Add(new_items) => {
                for new in new_items {
                    if !matches!(kind_of(&new.path), FileKind::Video | FileKind::Audio) {
                        out.push(Event::Rejected {
                            path: new.path,
                            reason: "VOD does not take this file type".into(),
                        });
                        continue;
                    }
                    let size = match tokio::fs::metadata(&new.path).await {
                        Ok(meta) => meta.len(),
                        Err(err) => {
                            out.push(Event::Rejected {
                                path: new.path,
                                reason: format!("cannot read the file: {err}"),
                            });
                            continue;
                        }
                    };
                    self.next_id += 1;
                    let snap = ItemSnapshot {
                        id: self.next_id,
                        path: new.path,
                        size,
                        destination: new.destination,
                        options: new.options,
                        state: ItemState::Queued,
                        progress: Progress {
                            bytes_total: size,
                            ..Progress::default()
                        },
                        publish: PublishState::NotPublished,
                        created_at: chrono::Utc::now().timestamp(),
                    };
                    out.push(Event::Added(Box::new(snap.clone())));
                    self.items.insert(snap.id, snap);
                }
            }
            Command::Pause(id) => self.set(id, ItemState::Paused, |s| s.is_active(), &mut out),
            Command::Resume(id) => {
                self.set(id, ItemState::Queued, |s| *s == ItemState::Paused, &mut out);
            }
            Command::Cancel(id) => {
                self.set(id, ItemState::Cancelled, |s| !s.is_terminal(), &mut out);
            }
            Command::Retry(id) => {
                if let Some(item) = self.items.get_mut(&id)
                    && matches!(item.state, ItemState::Cancelled)
                {
                    item.progress.bytes_done = 0;
                }
                self.set(
                    id,
                    ItemState::Queued,
                    |s| matches!(s, ItemState::Failed(_) | ItemState::Cancelled),
                    &mut out,
                );
            }
            Command::Remove(id) => {
                if self.items.get(&id).is_some_and(|i| !i.state.is_active()) {
                    self.items.remove(&id);
                    out.push(Event::Removed(id));
                }
            }
            Command::PauseAll => {
                let ids: Vec<_> = self.items.keys().copied().collect();
                for id in ids {
                    self.set(id, ItemState::Paused, |s| s.is_active(), &mut out);
                }
            }
            Command::ResumeAll => {
                let ids: Vec<_> = self.items.keys().copied().collect();
                for id in ids {
                    self.set(id, ItemState::Queued, |s| *s == ItemState::Paused, &mut out);
                }
            }
            Command::UpdateOptions(id, options) => {
                if let Some(item) = self.items.get_mut(&id) {
                    item.options = options;
                    out.push(Event::Added(Box::new(item.clone())));
                }
            }
            Command::Tune(tuning) => self.tuning = tuning,
            // The simulator has no media library.
            Command::SearchLibrary { .. } | Command::Library { .. } => {}
            Command::Publish { id, .. }
            | Command::Suspend { id, .. }
            | Command::DeleteMedia(id)
            | Command::Refresh(id) => out.push(Event::Notice {
                id,
                message: "Publishing is not available in the simulation.".into(),
            }),
            Command::Shutdown => {}
        }
        out
    }

    fn set(
        &mut self,
        id: ItemId,
        state: ItemState,
        allowed: impl Fn(&ItemState) -> bool,
        out: &mut Vec<Event>,
    ) {
        if let Some(item) = self.items.get_mut(&id)
            && allowed(&item.state)
        {
            item.state = state.clone();
            item.progress.speed = 0.0;
            item.progress.eta = None;
            out.push(Event::StateChanged { id, state });
        }
    }

    fn step(&mut self, dt: f64) -> Vec<Event> {
        let mut out = Vec::new();
        let mut slots = self.tuning.parallel_files.max(1);
        for (id, item) in &mut self.items {
            if slots == 0 {
                break;
            }
            if !item.state.is_active() {
                continue;
            }
            slots -= 1;
            let total = item.size.max(1);
            let parts_total = u32::try_from(total.div_ceil(PART)).unwrap_or(u32::MAX);
            match item.state {
                ItemState::Queued => {
                    item.state = ItemState::Applying;
                    out.push(Event::StateChanged {
                        id: *id,
                        state: item.state.clone(),
                    });
                }
                ItemState::Applying | ItemState::Uploading { .. } => {
                    let step = (SPEED as f64 * dt) as u64;
                    item.progress.bytes_done = (item.progress.bytes_done + step).min(total);
                    item.progress.bytes_total = total;
                    item.progress.speed = SPEED as f64;
                    item.progress.eta = Some(Duration::from_secs_f64(
                        (total - item.progress.bytes_done) as f64 / SPEED as f64,
                    ));
                    let parts_done =
                        u32::try_from(item.progress.bytes_done / PART).unwrap_or(u32::MAX);
                    let state = if item.progress.bytes_done >= total {
                        ItemState::Committing
                    } else {
                        ItemState::Uploading {
                            parts_done,
                            parts_total,
                        }
                    };
                    if std::mem::discriminant(&state) != std::mem::discriminant(&item.state) {
                        out.push(Event::StateChanged {
                            id: *id,
                            state: state.clone(),
                        });
                    }
                    item.state = state;
                    out.push(Event::Progress {
                        id: *id,
                        progress: item.progress.clone(),
                    });
                }
                ItemState::Committing => {
                    let file_id = format!("5285890{id:012}");
                    item.state = ItemState::Done {
                        media_url: format!("http://127.0.0.1/sim/{file_id}.mp4"),
                        cover_url: item
                            .options
                            .cover
                            .as_ref()
                            .map(|_| format!("http://127.0.0.1/sim/{file_id}.jpg")),
                        file_id,
                        expires_at: None,
                    };
                    item.progress.speed = 0.0;
                    item.progress.eta = None;
                    out.push(Event::StateChanged {
                        id: *id,
                        state: item.state.clone(),
                    });
                }
                _ => {}
            }
        }
        if !out.is_empty() && !self.any_running() {
            out.push(Event::Idle);
        }
        out
    }
}
