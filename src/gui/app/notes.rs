//! The note above the status bar, and Remove and Cancel that wait out their undo time: the row
//! leaves the view at once, the command goes to the engine only when "Undo" was not pressed.

use std::time::{Duration, Instant};

use super::{NOTE_TTL, Note, NoteAction, Pending, UNDO_TIME, VodDeskApp};
use crate::engine::api::{Command, ItemId};

/// Which of the two a pending action is.
enum CommandKind {
    Cancel,
    Remove,
}

impl VodDeskApp {
    /// Shows a short note above the status bar; it fades after a few seconds.
    pub(crate) fn say(&mut self, text: String) {
        self.note = Some(Note {
            text,
            at: Instant::now(),
            ttl: NOTE_TTL,
            error: false,
            action: None,
        });
    }

    /// [`Self::say`] for something that went wrong: it stays a little longer.
    pub(crate) fn say_error(&mut self, text: String) {
        self.note = Some(Note {
            text,
            at: Instant::now(),
            ttl: NOTE_TTL * 2,
            error: true,
            action: None,
        });
    }

    /// A note with a button.
    pub(crate) fn say_with(&mut self, text: String, action: NoteAction, error: bool) {
        self.note = Some(Note {
            text,
            at: Instant::now(),
            ttl: if error { NOTE_TTL * 2 } else { UNDO_TIME },
            error,
            action: Some(action),
        });
    }

    /// Removes or cancels `id` after [`UNDO_TIME`], unless "Undo" is pressed first; the row
    /// leaves the view at once.
    pub(crate) fn remove_or_cancel_later(&mut self, id: ItemId, command: Command) {
        let Some(row) = self.model.row(id) else {
            return;
        };
        let t = self.t();
        let word = if matches!(command, Command::Cancel(_)) {
            t.cancelled_note
        } else {
            t.removed_note
        };
        let text = format!("{word} {}", row.name);
        let command_kind = if matches!(command, Command::Cancel(_)) {
            CommandKind::Cancel
        } else {
            CommandKind::Remove
        };
        self.pending.retain(|p| p.id != id);
        self.pending.push(Pending {
            id,
            command,
            due: Instant::now() + self.undo_time,
        });
        // A removed row leaves at once; a cancelled one goes on until the cancel is sent.
        if matches!(command_kind, CommandKind::Remove) {
            self.model.hide(id);
            if self.selected == Some(id) {
                self.select(None);
            }
        }
        self.say_with(text, NoteAction::Undo(id), false);
    }

    /// How long Remove and Cancel can be undone (tests shorten it).
    pub fn set_undo_time(&mut self, time: Duration) {
        self.undo_time = time;
    }

    /// Takes back a pending removal or cancel.
    pub(crate) fn undo(&mut self, id: ItemId) {
        self.pending.retain(|p| p.id != id);
        self.model.unhide(id);
        self.note = None;
    }

    /// Sends the removals and cancels whose undo time is over (all of them when `all`).
    pub(super) fn send_due(&mut self, ctx: &egui::Context, all: bool) {
        let now = Instant::now();
        let (due, wait): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| all || p.due <= now);
        self.pending = wait;
        for pending in due {
            let cancel = matches!(pending.command, Command::Cancel(_));
            // A removed row stays hidden until the engine says it is gone.
            if !self.send(pending.command) || cancel {
                self.model.unhide(pending.id);
            }
        }
        if let Some(next) = self.pending.iter().map(|p| p.due).min() {
            ctx.request_repaint_after(next.saturating_duration_since(now));
        }
    }
}
