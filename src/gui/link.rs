//! The UI's end of the engine's channels, and the bridge that wakes the UI when events arrive.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::engine::api::{Command, Event};

/// How many commands may wait for the worker before `try_send` reports it busy.
pub const COMMAND_CAPACITY: usize = 256;
/// How many events may wait for the UI before the bridge pushes back on the engine.
pub const EVENT_CAPACITY: usize = 8192;
/// The longest the UI waits before painting progress: at most ten repaints a second.
pub const PROGRESS_REPAINT_INTERVAL: Duration = Duration::from_millis(100);

/// The UI's ends of the engine's two channels.
#[derive(Debug)]
pub struct EngineLink {
    /// UI → worker (bounded; the UI only ever `try_send`s).
    pub commands: mpsc::Sender<Command>,
    /// Worker → UI, drained in `App::logic`.
    pub events: mpsc::Receiver<Event>,
}

/// Forwards the engine's events to the UI and asks egui to repaint: at once for transitions,
/// coalesced to [`PROGRESS_REPAINT_INTERVAL`] for progress, so an upload costs at most ten
/// frames a second and an idle queue none.
#[must_use]
pub fn bridge(
    handle: &tokio::runtime::Handle,
    mut from_engine: mpsc::Receiver<Event>,
    ctx: egui::Context,
) -> mpsc::Receiver<Event> {
    let (to_ui, events) = mpsc::channel(EVENT_CAPACITY);
    handle.spawn(async move {
        let mut last_repaint: Option<Instant> = None;
        while let Some(event) = from_engine.recv().await {
            let progress_only = matches!(event, Event::Progress { .. });
            if to_ui.send(event).await.is_err() {
                break;
            }
            let now = Instant::now();
            let since = last_repaint.map_or(PROGRESS_REPAINT_INTERVAL, |at| now - at);
            if !progress_only || since >= PROGRESS_REPAINT_INTERVAL {
                ctx.request_repaint();
                last_repaint = Some(now);
            } else {
                // egui keeps the earliest of several pending deadlines, so a burst of progress
                // events still makes one repaint.
                ctx.request_repaint_after(PROGRESS_REPAINT_INTERVAL - since);
            }
        }
        // The engine ended: one more frame lets the UI notice and say so.
        ctx.request_repaint();
    });
    events
}
