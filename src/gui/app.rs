//! The desktop app: state, `logic` (events and finished background jobs in) and `ui` (panels).
//!
//! Everything slow — the folder walk, image decoding, the file dialog, the keyring, saving
//! settings, "Test connection" — runs on the runtime or a named thread and reports back through
//! [`Job`]s, drained in `logic` with the engine's events. The UI pass only reads memory.
//!
//! This file holds the state and the small things every part uses (`send`, `select`); each
//! child module adds the methods of one concern:
//!
//! | module | role |
//! |---|---|
//! | `drain` | engine events and finished jobs in, once per frame |
//! | `notes` | the note above the status bar; Remove and Cancel that wait out their undo time |
//! | `pick` | files in: the system dialog or the built-in browser, pasted paths, the folder walk |
//! | `background` | thumbnails, QR codes, WeChat Work copies and URLs, off the UI thread |
//! | `dialog` | the settings dialog's Save, Forget and Test connection |
//! | `editor` | the selected item's options, checked and sent |

mod background;
mod dialog;
mod drain;
mod editor;
mod notes;
mod pick;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;

use crate::engine::api::{Command, ItemId};
use crate::gui::Resolved;
use crate::gui::backend::{BackendMode, BackendStatus, Connected, Launch, WeComRoute};
use crate::gui::browser::{Browser, Purpose};
use crate::gui::files::{Collected, Skipped};
use crate::gui::i18n::{Lang, Texts};
use crate::gui::link::EngineLink;
use crate::gui::settings_form::{Field, SettingsForm};
use crate::gui::view_model::QueueModel;
use crate::settings::Settings;
use crate::settings::credentials::{CredentialStore, KeyLocation};

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

    /// Tries to open the queue again at once (after "Try again now").
    pub(crate) fn retry_now(&self) {
        self.link.retry.notify_one();
    }

    /// Where WeChat Work items go; `None` while the queue is not open.
    pub(crate) fn wecom_route(&self) -> Option<&WeComRoute> {
        self.connected().map(|c| &c.wecom)
    }

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
