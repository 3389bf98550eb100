//! The desktop app: state, `logic` (events and finished background jobs in) and `ui` (panels).
//!
//! Everything slow — the folder walk, image decoding, the file dialog, the keyring, saving
//! settings, "Test connection" — runs on the runtime or a named thread and reports back through
//! [`Job`]s, drained in `logic` with the engine's events. The UI pass only reads memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

use crate::engine::api::{Command, Event, ItemId, ItemOptions, ItemState};
use crate::gui::Resolved;
use crate::gui::backend::Launch;
use crate::gui::credentials::{CredentialStore, KeyLocation};
use crate::gui::files::{Collected, Skipped};
use crate::gui::i18n::{Lang, Texts};
use crate::gui::link::EngineLink;
use crate::gui::settings::{Field, Settings, SettingsForm};
use crate::gui::view_model::{Happening, QueueModel};
use crate::tencent::Credentials;
use crate::wecom::{WeComClient, WeComError};

/// Most events applied per frame; the rest wait for the next frame so a flood (a restart with a
/// long queue) cannot freeze the window.
const MAX_EVENTS_PER_FRAME: usize = 20_000;
/// The longest side of a cover thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 256;

/// What the engine is pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendMode {
    /// Tencent Cloud with the user's key.
    Cloud,
    /// The embedded emulator on loopback (no key set).
    Demo {
        /// The emulator's base URL.
        url: String,
    },
    /// The in-memory simulation ([`crate::gui::sim`]).
    Simulated,
}

/// Where WeChat Work items go, as the UI says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WeComDestination<'a> {
    /// The user's WeChat Work application.
    Application {
        /// Its CorpID.
        corp_id: &'a str,
        /// The WeCom base URL it is reached at.
        endpoint: &'a str,
    },
    /// The demo emulator's WeCom (demo mode without an application).
    Emulator,
    /// Nowhere: no application is set up, so such items are refused.
    NotSetUp,
    /// The simulation that stands in when the engine cannot start.
    Simulated,
}

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
    /// The key the engine uses, for "Test connection" (never shown or logged).
    pub credentials: Option<Credentials>,
    /// What the engine talks to.
    pub mode: BackendMode,
    /// Whether a CJK font was found.
    pub cjk_font: bool,
    /// The language when settings do not say.
    pub system_lang: Lang,
    /// Desktop notifications.
    pub notifier: Notifier,
    /// The WeChat Work application, for saving copies of uploaded media.
    pub wecom: Option<Arc<WeComClient>>,
}

/// A finished background job.
pub(crate) enum Job {
    Scanned(Collected),
    Picked(Vec<PathBuf>),
    DialogUnavailable,
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
    ConnectionTested(Result<String, String>),
    /// A copy of WeChat Work media was saved (where), or why not; `None`: the dialog was
    /// cancelled.
    CopySaved(Option<Result<PathBuf, String>>),
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
    pub rejected: Vec<(PathBuf, String)>,
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
    pub(crate) credentials: Option<Credentials>,
    pub(crate) mode: BackendMode,
    pub(crate) cjk_font: bool,
    pub(crate) lang: Lang,
    pub(crate) dialog: SettingsDialog,
    pub(crate) editor: Option<OptionsEditor>,
    pub(crate) scans_running: usize,
    /// Where files added now go: WeChat Work instead of VOD (the toolbar's choice).
    pub(crate) to_wecom: bool,
    pub(crate) report: Option<ScanReport>,
    pub(crate) message: Option<(String, Instant)>,
    pub(crate) copied: Option<(String, Instant)>,
    notifier: Notifier,
    title: String,
    pub(crate) wecom: Option<Arc<WeComClient>>,
    /// Where copies of WeChat Work media go without asking (no file dialog here, or a test).
    copies_dir: Option<PathBuf>,
}

impl VodDeskApp {
    /// The app, ready for its first frame.
    #[must_use]
    pub fn new(init: AppInit) -> Self {
        let (jobs_tx, jobs_rx) = std_mpsc::channel();
        let lang = init.settings.language.unwrap_or(init.system_lang);
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
            credentials: init.credentials,
            mode: init.mode,
            cjk_font: init.cjk_font,
            lang,
            dialog: SettingsDialog::default(),
            editor: None,
            scans_running: 0,
            to_wecom: false,
            report: None,
            message: None,
            copied: None,
            notifier: init.notifier,
            title: String::new(),
            wecom: init.wecom,
            copies_dir: None,
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

    /// Sends a command without waiting; a full or closed channel becomes a message.
    pub(crate) fn send(&mut self, command: Command) {
        match self.link.commands.try_send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.say(self.t().engine_busy.to_owned()),
            Err(TrySendError::Closed(_)) => {
                self.engine_alive = false;
                self.say(self.t().engine_gone.to_owned());
            }
        }
    }

    /// Shows a short message above the status bar.
    pub(crate) fn say(&mut self, text: String) {
        self.message = Some((text, Instant::now()));
    }

    /// Hands `paths` to the folder walk on a blocking thread.
    pub(crate) fn add_paths(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
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

    /// Opens the file (or folder) dialog off the UI thread.
    pub(crate) fn open_dialog(&mut self, ctx: &egui::Context, folder: bool) {
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        if !dialog_available() {
            let _ = tx.send(Job::DialogUnavailable);
            ctx.request_repaint();
            return;
        }
        let t = self.t();
        let title = if folder { t.add_folder } else { t.add_files };
        let to_wecom = self.to_wecom;
        self.handle.spawn(async move {
            let dialog = rfd::AsyncFileDialog::new().set_title(title);
            let picked: Vec<PathBuf> = if folder {
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
                    dialog.add_filter("Video, audio", &media)
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
            let _ = tx.send(Job::Picked(picked));
            ctx.request_repaint();
        });
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
        if let Event::Rejected { path, reason } = &event {
            let report = self.report.get_or_insert_with(|| ScanReport {
                added: 0,
                skipped: Vec::new(),
                rejected: Vec::new(),
                expanded: false,
            });
            report.rejected.push((path.clone(), reason.clone()));
        }
        if let Event::Removed(id) = &event
            && self.selected == Some(*id)
        {
            self.select(None);
        }
        match self.model.apply(event) {
            Some(Happening::Failed { name, message }) => {
                (self.notifier)(&format!("VodDesk: {name}"), &message);
            }
            Some(Happening::QueueFinished { done, failed }) => {
                let body = format!("{done} {}, {failed} {}", self.t().done, self.t().failed);
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
                    if self.report.as_ref().is_some_and(|r| r.rejected.is_empty()) {
                        self.report = None;
                    }
                } else {
                    self.report = Some(ScanReport {
                        added,
                        skipped: found.skipped,
                        rejected: Vec::new(),
                        expanded: false,
                    });
                }
            }
            Job::Picked(paths) => self.add_paths(ctx, paths),
            Job::DialogUnavailable => self.say(self.t().dialog_unavailable.to_owned()),
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
            Job::ConnectionTested(result) => {
                self.dialog.testing = false;
                self.dialog.test_result = Some(result);
            }
            Job::CopySaved(None) => {}
            Job::CopySaved(Some(Ok(path))) => {
                self.say(format!("{} {}", self.t().copy_saved, path.display()));
            }
            Job::CopySaved(Some(Err(err))) => {
                self.say(format!("{} {err}", self.t().copy_failed));
            }
        }
    }

    /// Where WeChat Work items go: the application the engine was given, which is the demo
    /// emulator's own only when it is at the emulator's address.
    pub(crate) fn wecom_destination(&self) -> WeComDestination<'_> {
        match (&self.mode, self.wecom.as_deref()) {
            (BackendMode::Simulated, _) => WeComDestination::Simulated,
            (_, None) => WeComDestination::NotSetUp,
            (BackendMode::Demo { url }, Some(client))
                if client.base_url() == url.trim_end_matches('/') =>
            {
                WeComDestination::Emulator
            }
            (_, Some(client)) => WeComDestination::Application {
                corp_id: client.corp_id(),
                endpoint: client.base_url(),
            },
        }
    }

    /// Copies of WeChat Work media go to `dir` without a file dialog (tests; by default the
    /// dialog asks, or without one the Downloads folder is used).
    pub fn save_copies_to(&mut self, dir: PathBuf) {
        self.copies_dir = Some(dir);
    }

    /// Fetches WeChat Work media back (`media/get`) into a file the user picks, off the UI
    /// thread; without a file dialog, into the Downloads folder under the server's file name.
    pub(crate) fn save_wecom_copy(&mut self, ctx: &egui::Context, media_id: &str, name: &str) {
        let Some(client) = self.wecom.clone() else {
            self.say(self.t().wecom_unavailable.to_owned());
            return;
        };
        // In demo mode, files sent before a WeChat Work application was set up went to the
        // demo emulator's WeCom, which still runs and keeps them: what the application does
        // not know (40007) is asked of the emulator.
        let demo_wecom = match (&self.mode, self.wecom_destination()) {
            (BackendMode::Demo { url }, WeComDestination::Application { .. }) => {
                Some(WeComClient::new(
                    reqwest::Client::new(),
                    url,
                    crate::emulator::DEMO_WECOM_CORP_ID,
                    crate::emulator::DEMO_WECOM_SECRET,
                ))
            }
            _ => None,
        };
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let media_id = media_id.to_owned();
        let name = name.to_owned();
        let fixed = self.copies_dir.clone().or_else(|| {
            (!dialog_available()).then(|| {
                directories::UserDirs::new()
                    .and_then(|dirs| dirs.download_dir().map(Path::to_path_buf))
                    .unwrap_or_else(|| self.data_dir.join("downloads"))
            })
        });
        let title = self.t().save_copy;
        self.handle.spawn(async move {
            let target = match fixed {
                Some(dir) => match tokio::fs::create_dir_all(&dir).await {
                    Ok(()) => Some(dir),
                    Err(err) => {
                        let _ = tx.send(Job::CopySaved(Some(Err(format!(
                            "{}: {err}",
                            dir.display()
                        )))));
                        ctx.request_repaint();
                        return;
                    }
                },
                None => rfd::AsyncFileDialog::new()
                    .set_title(title)
                    .set_file_name(&name)
                    .save_file()
                    .await
                    .map(|file| file.path().to_path_buf()),
            };
            let result = match target {
                Some(target) => Some(
                    match (client.download(&media_id, &target).await, demo_wecom) {
                        (Err(WeComError::Service { errcode: 40007, .. }), Some(demo)) => {
                            demo.download(&media_id, &target).await
                        }
                        (result, _) => result,
                    }
                    .map_err(|err| err.to_string()),
                ),
                None => None,
            };
            let _ = tx.send(Job::CopySaved(result));
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

    /// Makes one harmless signed call (`SearchMedia`, `Limit` 1) with the typed or saved key.
    pub(crate) fn test_connection(&mut self, ctx: &egui::Context) {
        let settings = match self.dialog.form.validate() {
            Ok(settings) => settings,
            Err(errors) => {
                self.dialog.errors = errors;
                return;
            }
        };
        let typed_key = self.dialog.form.new_key();
        let simulated = self.mode == BackendMode::Simulated && typed_key.is_none();
        let (effective, _) = settings.with_env(self.env);
        let endpoint = match &self.mode {
            BackendMode::Demo { url } if typed_key.is_none() => url.clone(),
            _ => effective.endpoints().vod,
        };
        let credentials = typed_key
            .map(|(id, key)| Credentials::new(id, key))
            .or_else(|| self.credentials.clone());
        self.dialog.testing = true;
        self.dialog.test_result = None;
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn(async move {
            let result = if simulated {
                Err("This build simulates uploads; there is no service to test.".to_owned())
            } else {
                match credentials {
                    None => Err("Enter a SecretId and SecretKey first.".to_owned()),
                    Some(credentials) => test_call(&endpoint, &effective, credentials).await,
                }
            };
            let _ = tx.send(Job::ConnectionTested(result));
            ctx.request_repaint();
        });
    }

    /// Sends the options editor's values.
    pub(crate) fn apply_options(&mut self) {
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
                    editor.error = Some(format!("{}: a whole number", self.lang.texts().class_id));
                    return;
                }
            },
        };
        let sub_app_id = match editor.sub_app_id.trim() {
            "" => None,
            s => match s.parse::<u64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    editor.error =
                        Some(format!("{}: a whole number", self.lang.texts().sub_app_id));
                    return;
                }
            },
        };
        let expire = editor.expire_time.trim();
        if !expire.is_empty() && chrono::DateTime::parse_from_rfc3339(expire).is_err() {
            editor.error = Some(format!(
                "{}: e.g. 2030-01-01T00:00:00+08:00",
                self.lang.texts().expire_time
            ));
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

async fn test_call(
    endpoint: &str,
    settings: &Settings,
    credentials: Credentials,
) -> Result<String, String> {
    use crate::tencent::{clock::Clock, models::SearchMediaRequest, vod};
    let http = vod::http_client().map_err(|err| format!("{err:#}"))?;
    let client = vod::VodClient::new(
        http,
        endpoint,
        &settings.region,
        credentials,
        std::sync::Arc::new(Clock::new()),
    )
    .map_err(|err| format!("{err:#}"))?
    .with_retry(crate::tencent::retry::RetryPolicy::none());
    let request = SearchMediaRequest {
        sub_app_id: settings.sub_app_id,
        limit: Some(1),
        ..SearchMediaRequest::default()
    };
    match tokio::time::timeout(Duration::from_secs(20), client.call(&request)).await {
        Err(_) => Err(format!("No answer from {endpoint} within 20 seconds.")),
        Ok(Err(err)) => Err(format!("{err:#}")),
        Ok(Ok(found)) => Ok(format!(
            "Connected: the key works and the account holds {} media file(s) (RequestId {}).",
            found.total_count, found.request_id
        )),
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
        // Pauses running items cleanly; the queue resumes at the next start.
        let _ = self.link.commands.try_send(Command::Shutdown);
    }
}
