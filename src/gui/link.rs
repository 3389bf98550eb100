//! The UI's end of the engine's channels, and the bridge that wakes the UI when events arrive.

use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, watch};

use crate::engine::api::{Command, Event};
use crate::gui::backend::{BackendMode, BackendStatus, Connected, EVENT_CAPACITY, WeComRoute};

/// How many commands may wait for the worker before `try_send` reports it busy.
pub const COMMAND_CAPACITY: usize = 256;
/// The longest the UI waits before painting progress: at most ten repaints a second.
pub const PROGRESS_REPAINT_INTERVAL: Duration = Duration::from_millis(100);

/// The UI's ends of the backend: its status (which carries the command sender once the queue
/// is open), its events, and the button that tries again at once.
#[derive(Debug)]
pub struct EngineLink {
    /// Worker → UI, drained in `App::logic`.
    pub events: mpsc::Receiver<Event>,
    /// Starting, running (with the UI → worker sender) or unavailable and why.
    pub status: watch::Receiver<BackendStatus>,
    /// Notified by "Try again now".
    pub retry: Arc<Notify>,
}

impl EngineLink {
    /// A link to a worker that is already running (tests and fake workers): `commands` in,
    /// `events` out, talking to `mode` with WeChat Work items going to `wecom`.
    #[must_use]
    pub fn connected(
        commands: mpsc::Sender<Command>,
        events: mpsc::Receiver<Event>,
        mode: BackendMode,
        wecom: WeComRoute,
    ) -> Self {
        let (_, status) = watch::channel(BackendStatus::Running(Connected {
            commands,
            mode,
            wecom,
        }));
        Self {
            events,
            status,
            retry: Arc::new(Notify::new()),
        }
    }
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
