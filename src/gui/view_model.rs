//! The queue as the UI sees it: events applied to rows, filters, sorting, totals and the
//! formatting of sizes, speeds and times. Pure (no egui, no I/O), so it is unit-tested and cheap
//! enough to run with 10,000 items in every frame.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::engine::api::{
    Destination, Event, ItemId, ItemSnapshot, ItemState, PublishState, StallReason, WeComMediaType,
};
use crate::gui::files::{FileKind, kind_of};
use crate::gui::i18n::{REFUSED_CODE, Texts};

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
                // Refused files stay: they were never the engine's.
                let refused: Vec<Row> = self.rows.drain(..).filter(Row::is_refused).collect();
                self.rows = snaps.into_iter().map(Row::new).collect();
                self.rows.extend(refused);
                self.rebuild_index();
                self.was_running = self.rows.iter().any(Row::is_running);
                None
            }
            Event::Added(snap) => {
                self.upsert(*snap);
                self.was_running = true;
                None
            }
            Event::StateChanged { id, state } => {
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
            Event::Idle => {
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
        }
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

/// `1.5 MiB`: binary units, one decimal above bytes.
#[must_use]
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2.0 MiB/s`, or an empty string when not moving.
#[must_use]
pub fn format_speed(bytes_per_second: f64) -> String {
    if bytes_per_second < 1.0 || !bytes_per_second.is_finite() {
        return String::new();
    }
    format!("{}/s", format_bytes(bytes_per_second as u64))
}

/// `1:02:03`, `4:05`, or empty when unknown.
#[must_use]
pub fn format_eta(eta: Option<Duration>) -> String {
    let Some(eta) = eta else {
        return String::new();
    };
    let secs = eta.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The state in words, with the stall reason when there is one.
#[must_use]
pub fn state_text(row: &Row, t: &Texts) -> String {
    let base = match &row.snap.state {
        ItemState::Queued => t.state_queued,
        ItemState::Applying => t.state_applying,
        ItemState::Uploading { .. } => t.state_uploading,
        ItemState::Committing => t.state_committing,
        ItemState::Done { .. } => t.state_done,
        ItemState::Paused => t.state_paused,
        ItemState::Failed(_) => t.state_failed,
        ItemState::Cancelled => t.state_cancelled,
    };
    if row.is_refused() {
        return t.state_refused.to_owned();
    }
    if !row.is_running() {
        return base.to_owned();
    }
    match &row.snap.progress.stalled {
        None => base.to_owned(),
        Some(StallReason::Offline) => format!("{base} ({})", t.stalled_offline),
        Some(StallReason::Retrying { attempt, .. }) => {
            format!("{base} ({} #{attempt})", t.stalled_retrying)
        }
        Some(StallReason::WaitingForCredentials) => format!("{base} ({})", t.stalled_credentials),
        Some(StallReason::RateLimited) => format!("{base} ({})", t.stalled_rate_limited),
    }
}

/// The file type in words.
#[must_use]
pub fn kind_text(row: &Row, t: &Texts) -> &'static str {
    match (row.snap.destination, row.kind) {
        (Destination::WeCom(WeComMediaType::Image), _) => t.kind_wecom_image,
        (Destination::WeCom(WeComMediaType::Voice), _) => t.kind_wecom_voice,
        (Destination::WeCom(WeComMediaType::Video), _) => t.kind_wecom_video,
        (Destination::WeCom(WeComMediaType::File), _) => t.kind_wecom_file,
        (_, FileKind::Other) => t.kind_other,
        (_, FileKind::Video) => t.kind_video,
        (_, FileKind::Audio) => t.kind_audio,
        (_, FileKind::Cover) => t.kind_image,
    }
}

/// The publication state in words.
#[must_use]
pub fn publish_text(publish: &PublishState, t: &Texts) -> &'static str {
    match publish {
        PublishState::NotPublished => t.publish_not_published,
        PublishState::UnderReview { .. } => t.publish_under_review,
        PublishState::Published { .. } => t.publish_published,
        PublishState::Rejected(_) => t.publish_rejected,
        PublishState::Suspended { .. } => t.publish_suspended,
        PublishState::Deleted => t.publish_deleted,
    }
}

/// The counts that are not zero, in words: "1 uploading, 3 queued, 1 paused".
#[must_use]
pub fn counts_text(totals: &Totals, t: &Texts) -> String {
    [
        (totals.active, t.active),
        (totals.queued, t.queued),
        (totals.paused, t.paused),
        (totals.failed, t.failed),
        (totals.cancelled, t.cancelled),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect::<Vec<_>>()
    .join(t.list_separator)
}

/// The window title: the app name, plus overall progress while something moves or waits
/// for a slot, with what is moving counted apart from what waits.
#[must_use]
pub fn window_title(totals: &Totals, t: &Texts) -> String {
    match totals.fraction() {
        Some(fraction) if totals.active > 0 || totals.queued > 0 => {
            let counts = [
                (totals.active, t.active),
                (totals.queued, t.queued),
                (totals.paused, t.paused),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, word)| format!("{n} {word}"))
            .collect::<Vec<_>>()
            .join(t.list_separator);
            format!(
                "{} — {:.0}% ({counts})",
                t.app_name,
                f64::from(fraction) * 100.0,
            )
        }
        _ => t.app_name.to_owned(),
    }
}

/// Which per-row actions make sense in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actions {
    /// Pause.
    pub pause: bool,
    /// Resume.
    pub resume: bool,
    /// Cancel.
    pub cancel: bool,
    /// Retry.
    pub retry: bool,
    /// Remove.
    pub remove: bool,
}

/// The actions offered for `row`: a refused file can only be dismissed.
#[must_use]
pub fn row_actions(row: &Row) -> Actions {
    if row.is_refused() {
        return Actions {
            remove: true,
            ..Actions::default()
        };
    }
    actions_for(&row.snap.state)
}

/// The actions offered for an item in `state`.
#[must_use]
pub fn actions_for(state: &ItemState) -> Actions {
    match state {
        ItemState::Queued
        | ItemState::Applying
        | ItemState::Uploading { .. }
        | ItemState::Committing => Actions {
            pause: true,
            cancel: true,
            ..Actions::default()
        },
        ItemState::Paused => Actions {
            resume: true,
            cancel: true,
            remove: true,
            ..Actions::default()
        },
        ItemState::Failed(_) | ItemState::Cancelled => Actions {
            retry: true,
            remove: true,
            ..Actions::default()
        },
        ItemState::Done { .. } => Actions {
            remove: true,
            ..Actions::default()
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::api::{ItemOptions, Progress, UserError};
    use std::path::PathBuf;

    fn snap(id: ItemId, name: &str, state: ItemState) -> ItemSnapshot {
        ItemSnapshot {
            id,
            path: PathBuf::from(format!("/videos/{name}")),
            size: 1000,
            destination: Destination::Vod,
            options: ItemOptions::default(),
            state,
            progress: Progress::default(),
            publish: PublishState::NotPublished,
            created_at: id,
        }
    }

    fn progress(done: u64) -> Progress {
        Progress {
            bytes_done: done,
            in_flight: 0,
            bytes_total: 1000,
            speed: 100.0,
            eta: None,
            stalled: None,
        }
    }

    #[test]
    fn progress_never_goes_backwards_within_an_attempt() {
        let mut model = QueueModel::new();
        model.apply(Event::Added(Box::new(snap(1, "a.mp4", ItemState::Queued))));
        model.apply(Event::Progress {
            id: 1,
            progress: progress(600),
        });
        model.apply(Event::Progress {
            id: 1,
            progress: progress(400),
        });
        assert_eq!(model.row(1).unwrap().shown_done, 600);
        assert!((model.row(1).unwrap().fraction() - 0.6).abs() < 1e-6);
        // After a cancel the next attempt starts from zero, and the bar follows.
        model.apply(Event::StateChanged {
            id: 1,
            state: ItemState::Cancelled,
        });
        model.apply(Event::StateChanged {
            id: 1,
            state: ItemState::Queued,
        });
        model.apply(Event::Progress {
            id: 1,
            progress: progress(100),
        });
        assert_eq!(model.row(1).unwrap().shown_done, 100);
    }

    #[test]
    fn bytes_on_the_way_are_a_segment_apart_from_what_is_done() {
        let mut model = QueueModel::new();
        let uploading = ItemState::Uploading {
            parts_done: 1,
            parts_total: 4,
        };
        model.apply(Event::Added(Box::new(snap(1, "a.mp4", uploading))));
        model.apply(Event::Progress {
            id: 1,
            progress: Progress {
                in_flight: 300,
                ..progress(250)
            },
        });
        let row = model.row(1).unwrap();
        assert!((row.fraction() - 0.25).abs() < 1e-6);
        assert!((row.wire_fraction() - 0.55).abs() < 1e-6);
        // Paused: what was on the way is not shown at all.
        model.apply(Event::StateChanged {
            id: 1,
            state: ItemState::Paused,
        });
        let row = model.row(1).unwrap();
        assert!((row.wire_fraction() - row.fraction()).abs() < 1e-6);
    }

    #[test]
    fn filters_sorting_and_totals() {
        let mut model = QueueModel::new();
        model.apply(Event::Loaded(vec![
            snap(1, "b.mp4", ItemState::Queued),
            snap(
                2,
                "a.mp4",
                ItemState::Done {
                    file_id: "f".into(),
                    media_url: "u".into(),
                    cover_url: None,
                    expires_at: None,
                },
            ),
            snap(
                3,
                "c.mp4",
                ItemState::Failed(UserError {
                    message: "boom".into(),
                    code: None,
                    request_id: Some("r".into()),
                    retryable: true,
                }),
            ),
            snap(4, "d.mp4", ItemState::Paused),
        ]));
        assert_eq!(model.view(), [0, 1, 2, 3]);
        model.set_filter(Filter::Active);
        assert!(model.view().is_empty());
        model.set_filter(Filter::Queued);
        assert_eq!(model.view(), [0]);
        model.set_filter(Filter::Paused);
        assert_eq!(model.view(), [3]);
        model.set_filter(Filter::Failed);
        assert_eq!(model.view(), [2]);
        model.set_filter(Filter::All);
        model.sort_by(SortKey::Name);
        assert_eq!(model.view(), [1, 0, 2, 3]);
        model.sort_by(SortKey::Name);
        assert_eq!(model.view(), [3, 2, 0, 1]);
        let totals = model.totals();
        assert_eq!(
            (
                totals.count,
                totals.active,
                totals.queued,
                totals.paused,
                totals.done,
                totals.failed
            ),
            (4, 0, 1, 1, 1, 1)
        );
        model.apply(Event::Removed(2));
        assert_eq!(model.rows().len(), 3);
        assert!(model.row(2).is_none());
        assert_eq!(model.row(3).unwrap().name, "c.mp4");
    }

    #[test]
    fn failures_and_the_end_of_the_queue_are_reported_once() {
        let mut model = QueueModel::new();
        model.apply(Event::Added(Box::new(snap(1, "a.mp4", ItemState::Queued))));
        let failed = model.apply(Event::StateChanged {
            id: 1,
            state: ItemState::Failed(UserError {
                message: "no".into(),
                code: None,
                request_id: None,
                retryable: false,
            }),
        });
        assert!(matches!(failed, Some(Happening::Failed { .. })));
        assert_eq!(
            model.apply(Event::Idle),
            Some(Happening::QueueFinished {
                done: 0,
                failed: 1,
                cancelled: 0,
                paused: 0
            })
        );
        assert_eq!(model.apply(Event::Idle), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(format_speed(0.0), "");
        assert_eq!(format_speed(2.0 * 1024.0 * 1024.0), "2.0 MiB/s");
        assert_eq!(format_eta(Some(Duration::from_secs(3723))), "1:02:03");
        assert_eq!(format_eta(Some(Duration::from_secs(65))), "1:05");
        assert_eq!(format_eta(None), "");
    }
}
