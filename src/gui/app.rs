//! The desktop app: state, `logic` (events and finished background jobs in) and `ui` (panels).
//!
//! Everything slow — the folder walk, image decoding, the file dialog, the keyring, saving
//! settings, "Test connection" — runs on the runtime or a named thread and reports back through
//! [`Job`]s, drained in `logic` with the engine's events. The UI pass only reads memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

use crate::engine::api::{
    Command, ConnectionProbe, ConnectionReport, Event, ItemId, ItemOptions, ItemState, UserError,
};
use crate::gui::Resolved;
use crate::gui::backend::{BackendMode, BackendStatus, Connected, Launch, WeComRoute};
use crate::gui::browser::{Browser, Purpose};
use crate::gui::files::{Collected, Skipped};
use crate::gui::i18n::{Lang, Texts};
use crate::gui::link::EngineLink;
use crate::gui::settings_form::{Field, SettingsForm};
use crate::gui::view_model::{Happening, QueueModel};
use crate::settings::Settings;
use crate::settings::credentials::{CredentialStore, KeyLocation};
use crate::tencent::Credentials;

/// Most events applied per frame; the rest wait for the next frame so a flood (a restart with a
/// long queue) cannot freeze the window.
const MAX_EVENTS_PER_FRAME: usize = 20_000;
/// The longest side of a cover thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 256;
/// Pixels per module of a saved QR code PNG.
const PNG_SCALE: u32 = 12;

/// The API key as the UI may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    /// None saved.
    None,
    /// Saved in the keyring or the key file; only the masked SecretId is kept.
    Saved {
        /// The masked SecretId.
        masked_id: String,
        /// Where.
        location: KeyLocation,
    },
    /// From `TENCENTCLOUD_SECRET_ID`/`_KEY`.
    Env {
        /// The masked SecretId.
        masked_id: String,
    },
    /// One may be saved, but the keyring or the key file could not be read (refused, damaged,
    /// or no answer within 5 s), so the app runs without it.
    Unreadable {
        /// Why, in plain words (never the secret).
        reason: String,
    },
}

/// The WeChat Work application's secret as the UI may show it: whether there is one and where,
/// never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecretStatus {
    /// None saved.
    #[default]
    None,
    /// Saved in the keyring or its 0600 file.
    Saved(KeyLocation),
    /// From `WECOM_CORP_SECRET`.
    Env,
    /// One may be saved, but it could not be read (as [`KeyStatus::Unreadable`]).
    Unreadable {
        /// Why, in plain words (never the secret).
        reason: String,
    },
}

/// Sends desktop notifications; tests pass one that records.
pub type Notifier = Box<dyn Fn(&str, &str) + Send>;

/// Everything the app needs at start.
pub struct AppInit {
    /// The engine's channels.
    pub link: EngineLink,
    /// The one runtime, for background jobs.
    pub handle: tokio::runtime::Handle,
    /// Settings as saved.
    pub settings: Settings,
    /// Environment variables that override settings (names only).
    pub env_overrides: Vec<&'static str>,
    /// Reads an environment variable (`config::env_var`; tests pass one that reads none, so
    /// the developer's own environment cannot change what they see).
    pub env: fn(&str) -> Option<String>,
    /// The data directory (settings, key file, logs).
    pub data_dir: PathBuf,
    /// Where the key is kept.
    pub credential_store: CredentialStore,
    /// The key as it may be shown.
    pub key_status: KeyStatus,
    /// The WeChat Work secret as it may be shown.
    pub wecom_status: SecretStatus,
    /// What the running backend was started from, to tell whether saved settings need a
    /// restart.
    pub launch: Launch,
    /// Whether a CJK font was found.
    pub cjk_font: bool,
    /// The language when settings do not say.
    pub system_lang: Lang,
    /// Desktop notifications.
    pub notifier: Notifier,
}

/// A finished background job.
pub(crate) enum Job {
    Scanned(Collected),
    /// The system dialog answered for `purpose`: the paths picked (none: cancelled, or it
    /// could not open, which an answer within [`DIALOG_FAILED_WITHIN`] is taken to mean).
    Picked {
        purpose: Purpose,
        paths: Vec<PathBuf>,
        quick: bool,
    },
    /// A folder of the built-in browser was listed (`generation` tells stale answers apart).
    Listed {
        generation: u64,
        dir: PathBuf,
        result: Result<Vec<crate::gui::browser::Entry>, String>,
    },
    /// A QR code was saved there, or why not.
    QrSaved(Result<PathBuf, String>),
    /// "Open in browser" of `url`: whether something opened it.
    Opened {
        url: String,
        result: Result<(), String>,
    },
    Thumbnail {
        path: PathBuf,
        image: Option<egui::ColorImage>,
    },
    /// Settings and secrets were saved; what a backend would start from now, or why not.
    SettingsSaved {
        settings: Box<Settings>,
        /// Whether a new API key or WeChat Work secret was saved with them.
        new_secret: bool,
        result: Result<Box<Resolved>, String>,
    },
    /// A saved secret was forgotten; what a backend would start from now, or why not.
    Forgotten {
        what: Secret,
        result: Result<Box<Resolved>, String>,
    },
}

/// A secret the settings dialog can forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secret {
    /// The API key.
    ApiKey,
    /// The WeChat Work application's secret.
    WeComSecret,
}

/// A cover thumbnail's state.
pub(crate) enum Thumbnail {
    Loading,
    Ready(egui::TextureHandle),
    Undecodable,
}

/// The settings dialog's state.
#[derive(Default)]
pub(crate) struct SettingsDialog {
    pub open: bool,
    pub form: SettingsForm,
    pub errors: Vec<(Field, String)>,
    pub status: Option<Result<String, String>>,
    pub testing: bool,
    pub test_result: Option<Result<String, String>>,
    pub saving: bool,
}

/// The options editor of the selected item.
pub(crate) struct OptionsEditor {
    pub id: ItemId,
    pub media_name: String,
    pub procedure: String,
    pub class_id: String,
    pub expire_time: String,
    pub source_context: String,
    pub storage_region: String,
    pub sub_app_id: String,
    pub error: Option<String>,
}

/// What the last drop or dialog added and skipped.
pub(crate) struct ScanReport {
    pub added: usize,
    pub skipped: Vec<Skipped>,
    pub expanded: bool,
}

/// The VodDesk window.
pub struct VodDeskApp {
    pub(crate) link: EngineLink,
    pub(crate) engine_alive: bool,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) model: QueueModel,
    pub(crate) selected: Option<ItemId>,
    pub(crate) jobs_tx: std_mpsc::Sender<Job>,
    jobs_rx: std_mpsc::Receiver<Job>,
    pub(crate) thumbnails: HashMap<PathBuf, Thumbnail>,
    pub(crate) settings: Settings,
    pub(crate) env_overrides: Vec<&'static str>,
    env: fn(&str) -> Option<String>,
    pub(crate) data_dir: PathBuf,
    pub(crate) credential_store: CredentialStore,
    pub(crate) key_status: KeyStatus,
    pub(crate) wecom_status: SecretStatus,
    /// What the running backend was started from.
    launch: Launch,
    /// The backend as last seen: starting, running, or unavailable and why.
    pub(crate) status: BackendStatus,
    pub(crate) cjk_font: bool,
    pub(crate) lang: Lang,
    pub(crate) dialog: SettingsDialog,
    pub(crate) editor: Option<OptionsEditor>,
    pub(crate) scans_running: usize,
    /// Where files added now go: WeChat Work instead of VOD (the toolbar's choice).
    pub(crate) to_wecom: bool,
    pub(crate) report: Option<ScanReport>,
    /// The note above the status bar; it fades after a few seconds.
    pub(crate) note: Option<Note>,
    pub(crate) copied: Option<(String, Instant)>,
    notifier: Notifier,
    title: String,
    /// Where copies of WeChat Work media go without asking (a test).
    copies_dir: Option<PathBuf>,
    /// The built-in file browser, while it is open.
    pub(crate) browser: Option<Browser>,
    browse_generation: u64,
    /// The folder the built-in browser was last in.
    pub(crate) last_browsed: Option<PathBuf>,
    /// Only the built-in browser, never the system dialog (tests, or a system whose dialog
    /// failed to open).
    builtin_browser_only: bool,
    /// The "Paste paths" window's text, while it is open.
    pub(crate) paste: Option<String>,
    /// Removals and cancels that wait out their undo time.
    pub(crate) pending: Vec<Pending>,
    /// How long Remove and Cancel wait for "Undo".
    undo_time: Duration,
}

/// How long Remove and Cancel can be undone.
pub(crate) const UNDO_TIME: Duration = Duration::from_secs(6);
/// How long a note stays.
pub(crate) const NOTE_TTL: Duration = Duration::from_secs(6);
/// A system dialog that answers "nothing picked" this fast did not open.
const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(400);

/// A short note above the status bar.
pub(crate) struct Note {
    pub text: String,
    pub at: Instant,
    pub ttl: Duration,
    pub error: bool,
    pub action: Option<NoteAction>,
}

/// The button a note offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoteAction {
    /// Copies the text (a URL no browser opened).
    Copy(String),
    /// Takes back the pending removal or cancel of an item.
    Undo(ItemId),
}

/// Which of the two a pending action is.
enum CommandKind {
    Cancel,
    Remove,
}

/// A removal or cancel sent once its undo time is over.
pub(crate) struct Pending {
    pub id: ItemId,
    pub command: Command,
    pub due: Instant,
}

impl VodDeskApp {
    /// The app, ready for its first frame.
    #[must_use]
    pub fn new(init: AppInit) -> Self {
        let (jobs_tx, jobs_rx) = std_mpsc::channel();
        let lang = init.settings.language.unwrap_or(init.system_lang);
        let status = init.link.status.borrow().clone();
        Self {
            link: init.link,
            engine_alive: true,
            handle: init.handle,
            model: QueueModel::new(),
            selected: None,
            jobs_tx,
            jobs_rx,
            thumbnails: HashMap::new(),
            settings: init.settings,
            env_overrides: init.env_overrides,
            env: init.env,
            data_dir: init.data_dir,
            credential_store: init.credential_store,
            key_status: init.key_status,
            wecom_status: init.wecom_status,
            launch: init.launch,
            status,
            cjk_font: init.cjk_font,
            lang,
            dialog: SettingsDialog::default(),
            editor: None,
            scans_running: 0,
            to_wecom: false,
            report: None,
            note: None,
            copied: None,
            notifier: init.notifier,
            title: String::new(),
            copies_dir: None,
            browser: None,
            browse_generation: 0,
            last_browsed: None,
            builtin_browser_only: false,
            paste: None,
            pending: Vec::new(),
            undo_time: UNDO_TIME,
        }
    }

    /// The current language's words.
    pub(crate) fn t(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// The queue model (for tests and the benchmark).
    #[must_use]
    pub fn model(&self) -> &QueueModel {
        &self.model
    }

    /// The queue's totals (for tests).
    pub fn model_totals(&mut self) -> crate::gui::view_model::Totals {
        self.model.totals()
    }

    /// The selected item.
    #[must_use]
    pub fn selected(&self) -> Option<ItemId> {
        self.selected
    }

    /// Selects an item.
    pub fn select(&mut self, id: Option<ItemId>) {
        if self.selected != id {
            self.selected = id;
            self.editor = None;
        }
    }

    /// The running engine, when the queue is open.
    pub(crate) fn connected(&self) -> Option<&Connected> {
        match &self.status {
            BackendStatus::Running(connected) => Some(connected),
            _ => None,
        }
    }

    /// What the engine talks to, when the queue is open.
    pub(crate) fn mode(&self) -> Option<&BackendMode> {
        self.connected().map(|c| &c.mode)
    }

    /// Sends a command without waiting; a full or closed channel, or a queue that is not
    /// open, becomes a message. Returns whether it was sent.
    pub(crate) fn send(&mut self, command: Command) -> bool {
        let Some(connected) = self.connected() else {
            self.say_error(self.t().queue_not_open.to_owned());
            return false;
        };
        match connected.commands.try_send(command) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.say_error(self.t().engine_busy.to_owned());
                false
            }
            Err(TrySendError::Closed(_)) => {
                self.engine_alive = false;
                self.say_error(self.t().engine_gone.to_owned());
                false
            }
        }
    }

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

    /// Tries to open the queue again at once (after "Try again now").
    pub(crate) fn retry_now(&self) {
        self.link.retry.notify_one();
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
    fn send_due(&mut self, ctx: &egui::Context, all: bool) {
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

    /// Hands `paths` to the folder walk on a blocking thread.
    pub(crate) fn add_paths(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        // Nothing is taken in that could not be queued: the user sees why and adds them
        // again once the queue is open.
        if self.connected().is_none() {
            self.say_error(format!("{} ({})", self.t().queue_not_open, paths.len()));
            return;
        }
        self.scans_running += 1;
        let defaults = self.settings.item_defaults();
        let to_wecom = self.to_wecom;
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let found = if to_wecom {
                crate::gui::files::collect_wecom(&paths)
            } else {
                crate::gui::files::collect(&paths, &defaults)
            };
            let _ = tx.send(Job::Scanned(found));
            ctx.request_repaint();
        });
    }

    /// Opens the system's file (or folder) dialog off the UI thread, or the built-in browser
    /// where there is none.
    pub(crate) fn open_dialog(&mut self, ctx: &egui::Context, folder: bool) {
        let purpose = if folder {
            Purpose::AddFolder
        } else {
            Purpose::AddFiles
        };
        if self.connected().is_none() {
            self.say_error(self.t().queue_not_open.to_owned());
            return;
        }
        if !self.system_dialog() {
            self.browse(ctx, purpose);
            return;
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let t = self.t();
        let title = if folder { t.add_folder } else { t.add_files };
        let to_wecom = self.to_wecom;
        let filter_name = t.filter_media;
        self.handle.spawn(async move {
            let asked = Instant::now();
            let dialog = rfd::AsyncFileDialog::new().set_title(title);
            let paths: Vec<PathBuf> = if folder {
                dialog
                    .pick_folders()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| h.path().to_path_buf())
                    .collect()
            } else {
                let mut media: Vec<&str> = crate::gui::files::VIDEO_EXTENSIONS.to_vec();
                media.extend_from_slice(crate::gui::files::AUDIO_EXTENSIONS);
                // WeChat Work takes any file: no filter to clear first.
                let dialog = if to_wecom {
                    dialog
                } else {
                    dialog.add_filter(filter_name, &media)
                };
                dialog
                    .add_filter("*", &["*"])
                    .pick_files()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| h.path().to_path_buf())
                    .collect()
            };
            let quick = asked.elapsed() < DIALOG_FAILED_WITHIN;
            let _ = tx.send(Job::Picked {
                purpose,
                paths,
                quick,
            });
            ctx.request_repaint();
        });
    }

    /// Whether the system's file dialog is to be asked (else the built-in browser is used).
    fn system_dialog(&self) -> bool {
        !self.builtin_browser_only && dialog_available()
    }

    /// Uses only the built-in file browser from now on (tests; also after the system dialog
    /// failed to open).
    pub fn use_builtin_browser(&mut self) {
        self.builtin_browser_only = true;
    }

    /// Opens the built-in file browser for `purpose` in the folder it was last in (at first
    /// the home folder).
    pub(crate) fn browse(&mut self, ctx: &egui::Context, purpose: Purpose) {
        let dir = self
            .last_browsed
            .clone()
            .unwrap_or_else(crate::gui::browser::start_dir);
        self.browser = Some(Browser::new(purpose, dir.clone()));
        self.list_dir(ctx, dir);
    }

    /// Lists `dir` for the built-in browser on the blocking pool.
    pub(crate) fn list_dir(&mut self, ctx: &egui::Context, dir: PathBuf) {
        self.browse_generation += 1;
        let generation = self.browse_generation;
        if let Some(browser) = &mut self.browser {
            browser.show(dir.clone(), generation);
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let result = crate::gui::browser::list_dir(&dir);
            let _ = tx.send(Job::Listed {
                generation,
                dir,
                result,
            });
            ctx.request_repaint();
        });
    }

    /// What the built-in browser (or the system dialog) chose for `purpose`.
    pub(crate) fn chosen(&mut self, ctx: &egui::Context, purpose: Purpose, paths: Vec<PathBuf>) {
        match purpose {
            Purpose::AddFiles | Purpose::AddFolder => self.add_paths(ctx, paths),
            Purpose::SaveQr { url, .. } => {
                if let Some(path) = paths.into_iter().next() {
                    self.write_qr(ctx, url, path);
                }
            }
            Purpose::SaveCopy { media_id, .. } => {
                if let Some(target) = paths.into_iter().next() {
                    self.send(Command::SaveWeComCopy { media_id, target });
                }
            }
        }
    }

    /// Adds the paths of the "Paste paths" text, one a line (quotes and `file://` taken off).
    pub(crate) fn add_pasted(&mut self, ctx: &egui::Context, text: &str) {
        let paths = crate::gui::browser::parse_pasted(text);
        if paths.is_empty() {
            self.say_error(self.t().paste_nothing.to_owned());
            return;
        }
        self.add_paths(ctx, paths);
    }

    /// Starts decoding a cover into a thumbnail, once per path.
    pub(crate) fn request_thumbnail(&mut self, ctx: &egui::Context, path: &Path) {
        if self.thumbnails.contains_key(path) {
            return;
        }
        self.thumbnails
            .insert(path.to_path_buf(), Thumbnail::Loading);
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let path = path.to_path_buf();
        self.handle.spawn_blocking(move || {
            let image = decode_thumbnail(&path);
            let _ = tx.send(Job::Thumbnail { path, image });
            ctx.request_repaint();
        });
    }

    /// Drains engine events and finished jobs; runs before every `ui`, and alone while the
    /// window is hidden.
    pub fn drain(&mut self, ctx: &egui::Context) {
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
        self.send_due(ctx, false);
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
        match self.model.apply(event) {
            Some(Happening::Failed { name, error }) => {
                let message = crate::gui::i18n::error_text(&error, self.lang);
                (self.notifier)(&format!("VodDesk: {name}"), &message);
            }
            Some(Happening::QueueFinished {
                done,
                failed,
                cancelled,
                paused,
            }) => {
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
            None => {}
        }
    }

    fn on_job(&mut self, ctx: &egui::Context, job: Job) {
        match job {
            Job::Scanned(mut found) => {
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
                    let path =
                        std::path::absolute(&item.path).unwrap_or_else(|_| item.path.clone());
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
            } => {
                self.dialog.saving = false;
                match result {
                    Ok(resolved) => {
                        let restart = self.take_resolved(*resolved, new_secret);
                        let tuning_changed = settings.tuning() != self.settings.tuning();
                        self.lang = settings.language.unwrap_or(self.lang);
                        self.settings = *settings;
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
            Job::Forgotten { what, result } => {
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
    }

    /// Where WeChat Work items go; `None` while the queue is not open.
    pub(crate) fn wecom_route(&self) -> Option<&WeComRoute> {
        self.connected().map(|c| &c.wecom)
    }

    /// Copies of WeChat Work media go to `dir` without a file dialog (tests; by default the
    /// system dialog or the built-in browser asks).
    pub fn save_copies_to(&mut self, dir: PathBuf) {
        self.copies_dir = Some(dir);
    }

    /// Asks where to save `purpose`'s file (the system dialog, or the built-in browser),
    /// then goes on in [`Self::chosen`].
    pub(crate) fn ask_where_to_save(&mut self, ctx: &egui::Context, purpose: Purpose) {
        if !self.system_dialog() {
            self.browse(ctx, purpose);
            return;
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let title = match purpose {
            Purpose::SaveQr { .. } => self.t().save_qr_title,
            _ => self.t().save_copy,
        };
        self.handle.spawn(async move {
            let asked = Instant::now();
            let mut dialog = rfd::AsyncFileDialog::new()
                .set_title(title)
                .set_file_name(purpose.proposed_name().unwrap_or_default());
            if matches!(purpose, Purpose::SaveQr { .. }) {
                dialog = dialog.add_filter("PNG", &["png"]);
            }
            let paths: Vec<PathBuf> = dialog
                .save_file()
                .await
                .map(|file| file.path().to_path_buf())
                .into_iter()
                .collect();
            let quick = asked.elapsed() < DIALOG_FAILED_WITHIN;
            let _ = tx.send(Job::Picked {
                purpose,
                paths,
                quick,
            });
            ctx.request_repaint();
        });
    }

    /// Fetches WeChat Work media back (`media/get`, through the engine) into a file the user
    /// picks.
    pub(crate) fn save_wecom_copy(&mut self, ctx: &egui::Context, media_id: &str, name: &str) {
        if matches!(self.wecom_route(), None | Some(WeComRoute::NotSetUp)) {
            self.say_error(self.t().wecom_unavailable.to_owned());
            return;
        }
        if let Some(dir) = self.copies_dir.clone() {
            // A folder the engine puts the copy in under the server's name: it must exist,
            // or the copy would be written as a file of that name.
            if let Err(err) = std::fs::create_dir_all(&dir) {
                self.say_error(format!("{}: {err}", dir.display()));
                return;
            }
            self.send(Command::SaveWeComCopy {
                media_id: media_id.to_owned(),
                target: dir,
            });
            return;
        }
        self.ask_where_to_save(
            ctx,
            Purpose::SaveCopy {
                media_id: media_id.to_owned(),
                name: name.to_owned(),
            },
        );
    }

    /// Asks where to save the QR code of `url`, then saves it.
    pub(crate) fn save_qr(&mut self, ctx: &egui::Context, url: &str, file_id: &str) {
        self.ask_where_to_save(
            ctx,
            Purpose::SaveQr {
                url: url.to_owned(),
                name: format!("wechat-qr-{file_id}.png"),
            },
        );
    }

    /// Draws the QR code of `url` into the PNG `path` on the blocking pool; the note says
    /// where it went.
    pub(crate) fn write_qr(&mut self, ctx: &egui::Context, url: String, path: PathBuf) {
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let written = crate::qr::QrMatrix::encode(&url)
                .map_err(|err| err.to_string())
                .and_then(|m| m.save_png(&path, PNG_SCALE).map_err(|err| err.to_string()))
                .map(|()| path);
            let _ = tx.send(Job::QrSaved(written));
            ctx.request_repaint();
        });
    }

    /// Opens `url` in the desktop's browser off the UI thread; the note says when nothing
    /// opened it and offers to copy it instead.
    pub(crate) fn open_url(&mut self, ctx: &egui::Context, url: &str) {
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let url = url.to_owned();
        self.handle.spawn_blocking(move || {
            // `that` waits for the opener, whose exit status says whether a browser took it
            // (`xdg-open` fails when none is set up).
            let result = open::that(&url).map_err(|err| err.to_string());
            let _ = tx.send(Job::Opened { url, result });
            ctx.request_repaint();
        });
    }

    /// Opens the settings dialog with the saved values.
    pub(crate) fn open_settings(&mut self) {
        self.dialog = SettingsDialog {
            open: true,
            form: SettingsForm::from_settings(&self.settings, self.lang),
            // A save or forget still running reports into the dialog; reopening it must not
            // let a second change start meanwhile.
            saving: self.dialog.saving,
            ..SettingsDialog::default()
        };
    }

    /// Validates the form and saves on a background thread.
    pub(crate) fn save_settings(&mut self, ctx: &egui::Context) {
        if self.dialog.saving {
            return;
        }
        let settings = match self.dialog.form.validate() {
            Ok(settings) => settings,
            Err(errors) => {
                self.dialog.errors = errors;
                self.dialog.status = Some(Err(self.t().fix_errors.to_owned()));
                return;
            }
        };
        self.dialog.errors.clear();
        self.dialog.saving = true;
        let key = self.dialog.form.new_key();
        let wecom_secret = self.dialog.form.new_wecom_secret();
        let signature_token = self.dialog.form.new_signature_token();
        let new_secret = key.is_some() || wecom_secret.is_some() || signature_token.is_some();
        let dir = self.data_dir.clone();
        let saved = settings.clone();
        let spawned = self.with_store(
            ctx,
            "voddesk-settings",
            move |store| {
                settings
                    .save(&dir)
                    .map_err(|err| format!("{err:#}"))
                    .and_then(|()| match wecom_secret {
                        Some(secret) => store.save_wecom_secret(&secret).map(|_| ()),
                        None => Ok(()),
                    })
                    .and_then(|()| match key {
                        Some((id, secret)) => store.save(&id, &secret).map(|_| ()),
                        None => Ok(()),
                    })
                    .and_then(|()| match signature_token {
                        Some(token) => store.save_signature_token(&token).map(|_| ()),
                        None => Ok(()),
                    })?;
                Ok(settings)
            },
            move |result| Job::SettingsSaved {
                settings: Box::new(saved),
                new_secret,
                result,
            },
        );
        if let Err(err) = spawned {
            self.dialog.saving = false;
            self.dialog.status = Some(Err(format!("cannot start saving: {err}")));
        }
    }

    /// Forgets a saved secret on a background thread.
    pub(crate) fn forget(&mut self, ctx: &egui::Context, what: Secret) {
        // One change to the store at a time: a save or forget still running would otherwise
        // finish in either order, and the later report would describe an older store. Save
        // and both Forget buttons stay disabled until this one reports.
        if self.dialog.saving {
            return;
        }
        let settings = self.settings.clone();
        let spawned = self.with_store(
            ctx,
            "voddesk-keyring",
            move |store| {
                match what {
                    Secret::ApiKey => store.clear(),
                    Secret::WeComSecret => store.clear_wecom_secret(),
                }?;
                Ok(settings)
            },
            move |result| Job::Forgotten { what, result },
        );
        match spawned {
            Ok(()) => self.dialog.saving = true,
            Err(err) => self.dialog.status = Some(Err(format!("cannot start: {err}"))),
        }
    }

    /// Runs `change` on the secret store on a named thread of its own, then resolves what a
    /// backend would start from with the settings it returns and reports that through `job`.
    ///
    /// A plain thread, not `spawn_blocking`: the keyring's Secret Service backend runs its own
    /// `block_on`, which panics inside a tokio runtime.
    fn with_store(
        &self,
        ctx: &egui::Context,
        name: &str,
        change: impl FnOnce(&CredentialStore) -> Result<Settings, String> + Send + 'static,
        job: impl FnOnce(Result<Box<Resolved>, String>) -> Job + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.credential_store.clone();
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let env = self.env;
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Always a report, even if the store or the keyring panics: the dialog waits
                // for it before it allows another change.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    change(&store)
                        .map(|settings| Box::new(crate::gui::resolve(&settings, &store, &env)))
                }))
                .unwrap_or_else(|_| Err("the secret store failed unexpectedly".to_owned()));
                let _ = tx.send(job(result));
                ctx.request_repaint();
            })
            .map(|_| ())
    }

    /// Takes the secrets' statuses from `resolved`; returns whether the running backend was
    /// started from something else, so that a restart is needed.
    fn take_resolved(&mut self, resolved: Resolved, secret_written: bool) -> bool {
        let restart = resolved.needs_restart_from(&self.launch, secret_written);
        self.key_status = resolved.key_status;
        self.wecom_status = resolved.wecom_status;
        restart
    }

    /// Tests the typed (or saved) key with one harmless signed call through the engine; in
    /// demo mode without a typed key, says that the built-in emulator is what answers.
    pub(crate) fn test_connection(&mut self, _ctx: &egui::Context) {
        let settings = match self.dialog.form.validate() {
            Ok(settings) => settings,
            Err(errors) => {
                self.dialog.errors = errors;
                return;
            }
        };
        let t = self.t();
        let typed_key = self.dialog.form.new_key();
        if let (Some(BackendMode::Demo { url }), None) = (self.mode(), &typed_key) {
            self.dialog.test_result = Some(Ok(format!("{} {url}", t.test_demo)));
            return;
        }
        if self.connected().is_none() {
            self.dialog.test_result = Some(Err(t.test_queue_not_open.to_owned()));
            return;
        }
        let (effective, _) = settings.with_env(self.env);
        let probe = ConnectionProbe {
            credentials: typed_key.map(|(id, key)| Credentials::new(id, key)),
            endpoint: Some(effective.endpoints().vod),
            region: effective.region.clone(),
            sub_app_id: effective.sub_app_id,
        };
        if self.send(Command::TestConnection(probe)) {
            self.dialog.testing = true;
            self.dialog.test_result = None;
        }
    }

    /// A connection test's answer in words.
    fn tested(&self, result: Result<ConnectionReport, UserError>) -> Result<String, String> {
        let t = self.t();
        match result {
            Ok(report) => Ok(format!(
                "{} {} ({} {})",
                t.test_ok, report.total, t.request_id, report.request_id
            )),
            Err(err) => Err(crate::gui::i18n::error_text(&err, self.lang)),
        }
    }

    /// Sends the options editor's values.
    pub(crate) fn apply_options(&mut self) {
        let t = self.lang.texts();
        let Some(editor) = &mut self.editor else {
            return;
        };
        let Some(row) = self.model.row(editor.id) else {
            return;
        };
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let class_id = match editor.class_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    editor.error = Some(format!("{}: {}", t.class_id, t.whole_number));
                    return;
                }
            },
        };
        let sub_app_id = match editor.sub_app_id.trim() {
            "" => None,
            s => match s.parse::<u64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    editor.error = Some(format!("{}: {}", t.sub_app_id, t.whole_number));
                    return;
                }
            },
        };
        let expire = editor.expire_time.trim();
        if !expire.is_empty() && chrono::DateTime::parse_from_rfc3339(expire).is_err() {
            editor.error = Some(format!("{}: {}", t.expire_time, t.example_expiry));
            return;
        }
        if editor.source_context.chars().count() > 250 {
            editor.error = Some(format!("{}: ≤ 250", self.lang.texts().source_context));
            return;
        }
        editor.error = None;
        let options = ItemOptions {
            media_name: text(&editor.media_name),
            procedure: text(&editor.procedure),
            class_id,
            expire_time: text(expire),
            source_context: text(&editor.source_context),
            storage_region: text(&editor.storage_region),
            sub_app_id,
            ..row.snap.options.clone()
        };
        let id = editor.id;
        self.send(Command::UpdateOptions(id, options));
    }
}

/// `done`, followed by the restart notice when `restart`.
fn with_restart(done: &str, restart: bool, t: &Texts) -> String {
    if restart {
        format!("{done} {}", t.restart_needed)
    } else {
        done.to_owned()
    }
}

/// Decodes `path` and shrinks it to a thumbnail; `None` for formats `image` cannot read.
fn decode_thumbnail(path: &Path) -> Option<egui::ColorImage> {
    let image = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let thumb = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgba8();
    let size = [thumb.width() as usize, thumb.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(
        size,
        thumb.as_raw(),
    ))
}

/// Whether a file dialog can appear: on Linux rfd needs the desktop portal (D-Bus session) or
/// `zenity`; elsewhere the OS always has one.
pub(crate) fn dialog_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()))
}

impl VodDeskApp {
    /// One `logic` + `ui` pass as eframe runs them, for tests and the benchmark, which drive the
    /// app through a plain `egui::Ui`.
    pub fn run_frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.drain(&ctx);
        self.show(ui);
    }
}

impl eframe::App for VodDeskApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn on_exit(&mut self) {
        // What waits out its undo time is done now: the user asked for it.
        let pending: Vec<Command> = self.pending.drain(..).map(|p| p.command).collect();
        if let Some(connected) = self.connected() {
            for command in pending {
                let _ = connected.commands.try_send(command);
            }
            // Pauses running items cleanly; the queue resumes at the next start.
            let _ = connected.commands.try_send(Command::Shutdown);
        }
    }
}
