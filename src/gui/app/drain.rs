//! Once per frame (and alone while the window is hidden): the backend's status, engine events
//! and finished background jobs are taken in, and the window title follows the queue.

use tokio::sync::mpsc::error::TryRecvError;

use super::dialog::with_restart;
use super::{Job, NoteAction, ScanReport, Secret, Settings, Thumbnail, VodDeskApp};
use crate::engine::api::{Command, Event, ItemOptions, ItemState};
use crate::gui::Resolved;
use crate::gui::backend::BackendStatus;
use crate::gui::files::Collected;
use crate::gui::view_model::Happening;

/// Most events applied per frame; the rest wait for the next frame so a flood (a restart with a
/// long queue) cannot freeze the window.
const MAX_EVENTS_PER_FRAME: usize = 20_000;

impl VodDeskApp {
    /// Drains engine events and finished jobs; runs before every `ui`, and alone while the
    /// window is hidden.
    pub fn drain(&mut self, ctx: &egui::Context) {
        self.take_status();
        self.send_due(ctx, false);
        self.take_events(ctx);
        while let Ok(job) = self.jobs_rx.try_recv() {
            self.on_job(ctx, job);
        }
        let totals = self.model.totals();
        let title = crate::gui::view_model::window_title(&totals, self.t());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The backend's status as last published; a queue that opens after it could not is said.
    fn take_status(&mut self) {
        if self.link.status.has_changed().unwrap_or(false) {
            let status = self.link.status.borrow_and_update().clone();
            if matches!(status, BackendStatus::Running(_))
                && !matches!(
                    self.status,
                    BackendStatus::Running(_) | BackendStatus::Starting
                )
            {
                self.say(self.t().queue_opened.to_owned());
            }
            self.status = status;
        }
    }

    /// Applies the engine's events, at most [`MAX_EVENTS_PER_FRAME`] of them.
    fn take_events(&mut self, ctx: &egui::Context) {
        for applied in 0..=MAX_EVENTS_PER_FRAME {
            if applied == MAX_EVENTS_PER_FRAME {
                // More are waiting: take them in the next frame.
                ctx.request_repaint();
                break;
            }
            match self.link.events.try_recv() {
                Ok(event) => {
                    if let Some(event) = self.library_event(ctx, event) {
                        self.on_event(event);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if self.engine_alive {
                        self.engine_alive = false;
                        tracing::error!("the engine's event channel closed");
                    }
                    break;
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        let event = match event {
            Event::ConnectionTested(result) => {
                self.dialog.testing = false;
                self.dialog.test_result = Some(self.tested(result));
                return;
            }
            Event::CopySaved { result, .. } => {
                match result {
                    Ok(path) => self.say(format!("{} {}", self.t().copy_saved, path.display())),
                    Err(err) => self.say_error(format!(
                        "{} {}",
                        self.t().copy_failed,
                        crate::gui::i18n::error_text(&err, self.lang)
                    )),
                }
                return;
            }
            event => event,
        };
        if let Event::Removed(id) = &event
            && self.selected == Some(*id)
        {
            self.select(None);
        }
        if let Some(happening) = self.model.apply(event) {
            self.notify(happening);
        }
    }

    /// A desktop notification of what the user should hear about outside the window.
    fn notify(&self, happening: Happening) {
        match happening {
            Happening::Failed { name, error } => {
                let message = crate::gui::i18n::error_text(&error, self.lang);
                (self.notifier)(&format!("VodDesk: {name}"), &message);
            }
            Happening::QueueFinished {
                done,
                failed,
                cancelled,
                paused,
            } => {
                let t = self.t();
                let body = [
                    (done, t.done),
                    (failed, t.failed),
                    (cancelled, t.cancelled),
                    (paused, t.paused),
                ]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, word)| format!("{n} {word}"))
                .collect::<Vec<_>>()
                .join(t.list_separator);
                (self.notifier)("VodDesk", &body);
            }
        }
    }

    fn on_job(&mut self, ctx: &egui::Context, job: Job) {
        match job {
            Job::Scanned(found) => self.scanned(found),
            Job::Picked {
                purpose,
                paths,
                quick,
            } => {
                if paths.is_empty() && quick {
                    // Nothing showed: this system has no working dialog.
                    self.builtin_browser_only = true;
                    self.browse(ctx, purpose);
                    self.say(self.t().dialog_fell_back.to_owned());
                } else {
                    self.chosen(ctx, purpose, paths);
                }
            }
            Job::Listed {
                generation,
                dir,
                result,
            } => {
                if generation == self.browse_generation
                    && let Some(browser) = &mut self.browser
                {
                    browser.listed(&dir, result);
                }
            }
            Job::QrSaved(Ok(path)) => {
                self.say(format!("{} {}", self.t().qr_saved_to, path.display()));
            }
            Job::QrSaved(Err(err)) => {
                self.say_error(format!("{}: {err}", self.t().qr_save_failed));
            }
            Job::Opened { url, result } => match result {
                Ok(()) => self.say(self.t().browser_opened.to_owned()),
                Err(err) => self.say_with(
                    format!("{} ({err})", self.t().browser_not_opened),
                    NoteAction::Copy(url),
                    true,
                ),
            },
            Job::Thumbnail { path, image } => {
                let thumb = match image {
                    Some(image) => Thumbnail::Ready(ctx.load_texture(
                        format!("cover:{}", path.display()),
                        image,
                        egui::TextureOptions::LINEAR,
                    )),
                    None => Thumbnail::Undecodable,
                };
                self.thumbnails.insert(path, thumb);
            }
            Job::SettingsSaved {
                settings,
                new_secret,
                result,
            } => self.settings_saved(*settings, new_secret, result),
            Job::Forgotten { what, result } => self.forgotten(what, result),
        }
    }

    /// The folder walk is done: what it found goes to the engine, what it skipped is reported.
    fn scanned(&mut self, mut found: Collected) {
        self.scans_running = self.scans_running.saturating_sub(1);
        let added = found.items.len();
        // A file dropped again while it is still in the queue continues as it was:
        // the settings' defaults are not new options for it (they would start its
        // upload over).
        let unfinished: std::collections::HashSet<&std::path::Path> = self
            .model
            .rows()
            .iter()
            .filter(|row| {
                !matches!(
                    row.snap.state,
                    ItemState::Done { .. } | ItemState::Cancelled
                )
            })
            .map(|row| row.snap.path.as_path())
            .collect();
        for item in &mut found.items {
            let path = std::path::absolute(&item.path).unwrap_or_else(|_| item.path.clone());
            if unfinished.contains(path.as_path()) {
                item.options = ItemOptions::default();
            }
        }
        if !found.items.is_empty() {
            self.send(Command::Add(found.items));
        }
        if found.skipped.is_empty() {
            self.report = None;
        } else {
            self.report = Some(ScanReport {
                added,
                skipped: found.skipped,
                expanded: false,
            });
        }
    }

    /// Settings (and maybe new secrets) were saved, or why not: the dialog says which.
    fn settings_saved(
        &mut self,
        settings: Settings,
        new_secret: bool,
        result: Result<Box<Resolved>, String>,
    ) {
        self.dialog.saving = false;
        match result {
            Ok(resolved) => {
                let restart = self.take_resolved(*resolved, new_secret);
                let tuning_changed = settings.tuning() != self.settings.tuning();
                self.lang = settings.language.unwrap_or(self.lang);
                self.settings = settings;
                if tuning_changed {
                    self.send(Command::Tune(self.settings.tuning()));
                }
                let t = self.t();
                self.dialog.status = Some(Ok(with_restart(t.saved, restart, t)));
                self.dialog.form.secret_id.clear();
                self.dialog.form.secret_key.clear();
                self.dialog.form.wecom_secret.clear();
                self.dialog.form.signature_token.clear();
            }
            Err(err) => self.dialog.status = Some(Err(err)),
        }
    }

    /// A saved secret was forgotten, or why not: the dialog says which.
    fn forgotten(&mut self, what: Secret, result: Result<Box<Resolved>, String>) {
        self.dialog.saving = false;
        match result {
            Ok(resolved) => {
                let restart = self.take_resolved(*resolved, false);
                let t = self.t();
                let done = match what {
                    Secret::ApiKey => t.key_forgotten,
                    Secret::WeComSecret => t.wecom_secret_forgotten,
                };
                self.dialog.status = Some(Ok(with_restart(done, restart, t)));
            }
            Err(err) => self.dialog.status = Some(Err(err)),
        }
    }
}
