//! The queue as the UI sees it: events applied to rows, filters, sorting, totals and the
//! formatting of sizes, speeds and times. Pure (no egui, no I/O), so it is unit-tested and cheap
//! enough to run with 10,000 items in every frame.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::engine::api::{Destination, Event, ItemId, ItemSnapshot, ItemState, PublishState};
use crate::gui::files::{FileKind, kind_of};
use crate::gui::i18n::REFUSED_CODE;

mod actions;
mod text;

pub use actions::{Actions, actions_for, row_actions};
pub use text::{
    counts_text, format_bytes, format_eta, format_speed, kind_text, publish_text, state_text,
    window_title,
};

/// The queue's filter tabs. Each item is under exactly one tab besides "All".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every item.
    #[default]
    All,
    /// Moving now: starting, uploading or finishing.
    Active,
    /// Waiting for a free slot.
    Queued,
    /// Paused by the user.
    Paused,
    /// Finished.
    Done,
    /// Failed, or refused before it was queued.
    Failed,
    /// Cancelled by the user.
    Cancelled,
}

impl Filter {
    /// Whether `state` belongs under this tab.
    #[must_use]
    pub fn matches(self, state: &ItemState) -> bool {
        match self {
            Self::All => true,
            Self::Active => is_moving(state),
            Self::Queued => matches!(state, ItemState::Queued),
            Self::Paused => matches!(state, ItemState::Paused),
            Self::Done => matches!(state, ItemState::Done { .. }),
            Self::Failed => matches!(state, ItemState::Failed(_)),
            Self::Cancelled => matches!(state, ItemState::Cancelled),
        }
    }
}

/// Whether an item in `state` is moving now (not merely waiting for a slot).
#[must_use]
pub fn is_moving(state: &ItemState) -> bool {
    matches!(
        state,
        ItemState::Applying | ItemState::Uploading { .. } | ItemState::Committing
    )
}

/// Sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Queue order (when added).
    #[default]
    Added,
    /// File name.
    Name,
    /// File size.
    Size,
    /// Upload state.
    State,
    /// Fraction done.
    Progress,
}

/// One row: the engine's snapshot plus what the UI derives once instead of every frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The engine's view of the item.
    pub snap: ItemSnapshot,
    /// The file name, for display.
    pub name: String,
    /// Video, audio, …
    pub kind: FileKind,
    /// The highest acknowledged byte count seen in this attempt; the bar shows this so it never
    /// goes backwards, even if a late progress event arrives out of order.
    pub shown_done: u64,
    /// The last notice the engine gave about this item.
    pub notice: Option<String>,
}

impl Row {
    fn new(snap: ItemSnapshot) -> Self {
        let name = snap.path.file_name().map_or_else(
            || snap.path.to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let kind = kind_of(&snap.path);
        let shown_done = snap.progress.bytes_done;
        Self {
            snap,
            name,
            kind,
            shown_done,
            notice: None,
        }
    }

    /// Fraction done in 0..=1 (1 when finished).
    #[must_use]
    pub fn fraction(&self) -> f32 {
        if matches!(self.snap.state, ItemState::Done { .. }) {
            return 1.0;
        }
        let total = self.total_bytes();
        if total == 0 {
            return 0.0;
        }
        (self.shown_done.min(total) as f64 / total as f64) as f32
    }

    /// Fraction acknowledged or on the way in 0..=1: the bar's lighter segment past
    /// [`Self::fraction`]. Bytes on the way may still be thrown away (a pause, a crash), so
    /// they are never counted as done.
    #[must_use]
    pub fn wire_fraction(&self) -> f32 {
        let total = self.total_bytes();
        if total == 0 || !self.is_running() {
            return self.fraction();
        }
        let wire = self.shown_done.saturating_add(self.snap.progress.in_flight);
        (wire.min(total) as f64 / total as f64) as f32
    }

    /// Bytes in all: the engine's total once known, the file size before.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        if self.snap.progress.bytes_total > 0 {
            self.snap.progress.bytes_total
        } else {
            self.snap.size
        }
    }

    /// Whether the item is moving or will move by itself.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.snap.state.is_active()
    }

    /// Whether this row is a file the engine refused: it is not in the queue, and only the
    /// window knows of it.
    #[must_use]
    pub fn is_refused(&self) -> bool {
        self.snap.id < 0
    }
}

/// What changed in a way the user should hear about outside the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    /// An item failed.
    Failed {
        /// The file name.
        name: String,
        /// The error.
        error: crate::engine::api::UserError,
    },
    /// Every item finished (after some were running).
    QueueFinished {
        /// Items done.
        done: usize,
        /// Items failed.
        failed: usize,
        /// Items cancelled.
        cancelled: usize,
        /// Items paused (still to do).
        paused: usize,
    },
}

/// Queue totals for the status bar and the window title.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Items in the queue.
    pub count: usize,
    /// Items moving now.
    pub active: usize,
    /// Items waiting for a slot.
    pub queued: usize,
    /// Paused items.
    pub paused: usize,
    /// Finished items.
    pub done: usize,
    /// Failed (or refused) items.
    pub failed: usize,
    /// Cancelled items.
    pub cancelled: usize,
    /// Bytes acknowledged over the unfinished items (moving, queued or paused).
    pub bytes_done: u64,
    /// Bytes in all over the unfinished items.
    pub bytes_total: u64,
    /// Summed speed of the running items, bytes per second.
    pub speed: f64,
}

impl Totals {
    /// Fraction of the unfinished work done, when there is some.
    #[must_use]
    pub fn fraction(&self) -> Option<f32> {
        (self.bytes_total > 0).then(|| (self.bytes_done as f64 / self.bytes_total as f64) as f32)
    }

    /// Time left for the whole queue at the current speed.
    #[must_use]
    pub fn eta(&self) -> Option<Duration> {
        if self.speed < 1.0 || self.bytes_total <= self.bytes_done {
            return None;
        }
        Some(Duration::from_secs_f64(
            (self.bytes_total - self.bytes_done) as f64 / self.speed,
        ))
    }
}

/// The queue: rows in queue order, an index by id, and the filtered, sorted view cached until
/// something changes.
#[derive(Debug, Default)]
pub struct QueueModel {
    rows: Vec<Row>,
    index: HashMap<ItemId, usize>,
    filter: Filter,
    sort: SortKey,
    descending: bool,
    view: Vec<usize>,
    view_dirty: bool,
    totals: Totals,
    totals_dirty: bool,
    was_running: bool,
    /// Items waiting out their undo time before they are removed or cancelled: out of the
    /// view and the totals meanwhile.
    hidden: HashSet<ItemId>,
    /// The id the next refused file's row takes (negative, so never an engine item's).
    next_refused: ItemId,
}

impl QueueModel {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one engine event; returns what the user should be told about.
    pub fn apply(&mut self, event: Event) -> Option<Happening> {
        self.totals_dirty = true;
        match event {
            Event::Loaded(snaps) => {
                self.load(snaps);
                None
            }
            Event::Added(snap) => {
                self.upsert(*snap);
                self.was_running = true;
                None
            }
            Event::StateChanged { id, state } => self.state_changed(id, state),
            Event::Progress { id, progress } => {
                let row = self.row_mut(id)?;
                row.shown_done = row.shown_done.max(progress.bytes_done);
                row.snap.progress = progress;
                if self.sort == SortKey::Progress {
                    self.view_dirty = true;
                }
                None
            }
            Event::PublishChanged { id, publish } => {
                self.row_mut(id)?.snap.publish = publish;
                None
            }
            Event::Notice { id, message } => {
                self.row_mut(id)?.notice = Some(message);
                None
            }
            Event::Removed(id) => {
                self.remove_row(id);
                None
            }
            Event::Rejected { path, reason } => {
                self.refuse(path, reason);
                None
            }
            // The library has its own model; the app answers the rest.
            Event::Library(_)
            | Event::LibraryUpdated(_)
            | Event::LibraryError(_)
            | Event::ConnectionTested(_)
            | Event::CopySaved { .. } => None,
            Event::Idle => self.idle(),
        }
    }

    /// The whole queue as the engine loaded it.
    fn load(&mut self, snaps: Vec<ItemSnapshot>) {
        // Refused files stay: they were never the engine's.
        let refused: Vec<Row> = self.rows.drain(..).filter(Row::is_refused).collect();
        self.rows = snaps.into_iter().map(Row::new).collect();
        self.rows.extend(refused);
        self.rebuild_index();
        self.was_running = self.rows.iter().any(Row::is_running);
    }

    /// An item moved to `state`; a failure is a happening.
    fn state_changed(&mut self, id: ItemId, state: ItemState) -> Option<Happening> {
        let row = self.row_mut(id)?;
        // Cancelling aborts the server-side upload, so the next attempt starts from
        // zero; only then may the bar go back.
        if matches!(row.snap.state, ItemState::Cancelled) && !state.is_terminal() {
            row.shown_done = 0;
        }
        let happening = match &state {
            ItemState::Failed(err) => Some(Happening::Failed {
                name: row.name.clone(),
                error: err.clone(),
            }),
            _ => None,
        };
        let active = state.is_active();
        row.snap.state = state;
        if active {
            self.was_running = true;
        }
        self.view_dirty = true;
        happening
    }

    /// The engine has nothing left to do: the end of the queue, once after something ran.
    fn idle(&mut self) -> Option<Happening> {
        if !std::mem::take(&mut self.was_running) {
            return None;
        }
        let totals = self.totals();
        Some(Happening::QueueFinished {
            done: totals.done,
            failed: totals.failed,
            cancelled: totals.cancelled,
            paused: totals.paused,
        })
    }

    /// Adds a row for a file the engine refused, naming the rule (`reason`); a refusal of
    /// the same file again replaces the earlier one.
    fn refuse(&mut self, path: std::path::PathBuf, reason: String) {
        if let Some(old) = self
            .rows
            .iter()
            .find(|row| row.is_refused() && row.snap.path == path)
            .map(|row| row.snap.id)
        {
            self.remove_row(old);
        }
        self.next_refused -= 1;
        let size = 0;
        let snap = ItemSnapshot {
            id: self.next_refused,
            path,
            size,
            destination: Destination::Vod,
            options: crate::engine::api::ItemOptions::default(),
            state: ItemState::Failed(crate::engine::api::UserError {
                message: reason,
                code: Some(REFUSED_CODE.to_owned()),
                request_id: None,
                retryable: false,
            }),
            progress: crate::engine::api::Progress::default(),
            publish: PublishState::NotPublished,
            created_at: chrono::Utc::now().timestamp(),
        };
        self.upsert(snap);
    }

    /// Takes a row out (an engine item removed, or a refused file dismissed).
    pub fn remove_row(&mut self, id: ItemId) {
        self.totals_dirty = true;
        self.hidden.remove(&id);
        if let Some(at) = self.index.get(&id).copied() {
            self.rows.remove(at);
            self.rebuild_index();
        }
    }

    /// Takes `id` out of the view and the totals (while its removal can be undone).
    pub fn hide(&mut self, id: ItemId) {
        if self.hidden.insert(id) {
            self.view_dirty = true;
            self.totals_dirty = true;
        }
    }

    /// Puts a hidden item back.
    pub fn unhide(&mut self, id: ItemId) {
        if self.hidden.remove(&id) {
            self.view_dirty = true;
            self.totals_dirty = true;
        }
    }

    fn upsert(&mut self, snap: ItemSnapshot) {
        if let Some(at) = self.index.get(&snap.id).copied() {
            let notice = self.rows[at].notice.take();
            self.rows[at] = Row::new(snap);
            self.rows[at].notice = notice;
        } else {
            self.index.insert(snap.id, self.rows.len());
            self.rows.push(Row::new(snap));
        }
        self.view_dirty = true;
    }

    fn rebuild_index(&mut self) {
        self.index = self
            .rows
            .iter()
            .enumerate()
            .map(|(at, row)| (row.snap.id, at))
            .collect();
        self.view_dirty = true;
    }

    fn row_mut(&mut self, id: ItemId) -> Option<&mut Row> {
        let at = *self.index.get(&id)?;
        self.rows.get_mut(at)
    }

    /// The row of `id`.
    #[must_use]
    pub fn row(&self, id: ItemId) -> Option<&Row> {
        self.rows.get(*self.index.get(&id)?)
    }

    /// Every row in queue order.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The current tab.
    #[must_use]
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// Switches tab.
    pub fn set_filter(&mut self, filter: Filter) {
        if self.filter != filter {
            self.filter = filter;
            self.view_dirty = true;
        }
    }

    /// The sort column and direction.
    #[must_use]
    pub fn sort(&self) -> (SortKey, bool) {
        (self.sort, self.descending)
    }

    /// Sorts by `key`; the same key again flips the direction.
    pub fn sort_by(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = false;
        }
        self.view_dirty = true;
    }

    /// The rows under the current tab in the current order (indices into [`Self::rows`]),
    /// recomputed only after a change.
    pub fn view(&mut self) -> &[usize] {
        if self.view_dirty || self.view.len() > self.rows.len() {
            self.recompute_view();
        }
        &self.view
    }

    fn recompute_view(&mut self) {
        let filter = self.filter;
        let rows = &self.rows;
        let hidden = &self.hidden;
        self.view.clear();
        self.view.extend((0..rows.len()).filter(|&at| {
            filter.matches(&rows[at].snap.state) && !hidden.contains(&rows[at].snap.id)
        }));
        match self.sort {
            SortKey::Added => self
                .view
                .sort_by_key(|&at| (rows[at].snap.created_at, rows[at].snap.id)),
            SortKey::Name => self.view.sort_by(|&a, &b| rows[a].name.cmp(&rows[b].name)),
            SortKey::Size => self.view.sort_by_key(|&at| rows[at].snap.size),
            SortKey::State => self
                .view
                .sort_by_key(|&at| state_rank(&rows[at].snap.state)),
            SortKey::Progress => self
                .view
                .sort_by(|&a, &b| rows[a].fraction().total_cmp(&rows[b].fraction())),
        }
        if self.descending {
            self.view.reverse();
        }
        self.view_dirty = false;
    }

    /// Counts, bytes and speed over the queue, recomputed only after a change.
    pub fn totals(&mut self) -> Totals {
        if self.totals_dirty {
            let mut totals = Totals::default();
            for row in self
                .rows
                .iter()
                .filter(|r| !self.hidden.contains(&r.snap.id))
            {
                totals.count += 1;
                let state = &row.snap.state;
                let unfinished = match state {
                    ItemState::Applying | ItemState::Uploading { .. } | ItemState::Committing => {
                        totals.active += 1;
                        totals.speed += row.snap.progress.speed.max(0.0);
                        true
                    }
                    ItemState::Queued => {
                        totals.queued += 1;
                        true
                    }
                    ItemState::Paused => {
                        totals.paused += 1;
                        true
                    }
                    ItemState::Done { .. } => {
                        totals.done += 1;
                        false
                    }
                    ItemState::Failed(_) => {
                        totals.failed += 1;
                        false
                    }
                    ItemState::Cancelled => {
                        totals.cancelled += 1;
                        false
                    }
                };
                if unfinished {
                    totals.bytes_done += row.shown_done.min(row.total_bytes());
                    totals.bytes_total += row.total_bytes();
                }
            }
            self.totals = totals;
            self.totals_dirty = false;
        }
        self.totals
    }
}

fn state_rank(state: &ItemState) -> u8 {
    match state {
        ItemState::Uploading { .. } => 0,
        ItemState::Committing => 1,
        ItemState::Applying => 2,
        ItemState::Queued => 3,
        ItemState::Paused => 4,
        ItemState::Failed(_) => 5,
        ItemState::Cancelled => 6,
        ItemState::Done { .. } => 7,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
