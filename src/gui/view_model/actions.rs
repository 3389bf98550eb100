//! Which per-row buttons an item offers in each state.

use super::Row;
use crate::engine::api::ItemState;

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
