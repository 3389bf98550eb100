//! The eframe desktop application.
//!
//! | file | role |
//! |---|---|
//! | [`app`] | state, `logic` (events and background jobs in) and `ui` |
//! | `ui/*` | the panels: toolbar, queue table, details, settings window |
//! | [`view_model`] | pure: rows, filters, sorting, totals, formatting (unit-tested) |
//! | [`files`] | supported types, the folder walk and cover pairing |
//! | [`settings_form`] | the settings dialog's form over [`crate::settings`] (saved settings and secrets, shared with the CLI) |
//! | [`fonts`], [`i18n`] | the CJK fallback font; English and 简体中文 |
//! | [`link`] | the engine's channels and the repaint bridge |
//! | [`backend`] | the engine against the cloud, or against the embedded emulator (demo mode), started and retried by a supervisor |
//! | [`browser`] | the built-in file browser's state and folder listing (where there is no file dialog) |

pub mod app;
pub mod backend;
pub mod browser;
pub mod files;
pub mod fonts;
pub mod i18n;
pub mod link;
pub mod settings_form;
mod ui;
pub mod view_model;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use app::{AppInit, KeyStatus, SecretStatus, VodDeskApp};
pub use backend::BackendMode;

use crate::gui::i18n::Lang;
use crate::gui::link::EngineLink;
use crate::settings::Settings;
use crate::settings::credentials::CredentialStore;

/// The log folder inside the data directory.
#[must_use]
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The data directory: `VODDESK_DATA_DIR`, or the platform's.
#[must_use]
pub fn data_dir() -> PathBuf {
    crate::config::env_var("VODDESK_DATA_DIR")
        .map_or_else(crate::config::default_data_dir, PathBuf::from)
}

/// Whether a window can be opened at all. On Linux and the BSDs a display server must be named
/// by `DISPLAY` or `WAYLAND_DISPLAY`; elsewhere there always is one.
#[must_use]
pub fn display_available() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
    } else {
        true
    }
}

/// The message printed when no window can be opened.
pub const NO_DISPLAY_MESSAGE: &str = "voddesk: no display is available (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop app cannot open.\nUse the command line instead; see `voddesk --help` (e.g. `voddesk upload FILE`).";

/// Starts file logging in `data_dir/logs` (rotated daily); the guard flushes on drop.
///
/// Secrets never reach the log: the code logs masked ids only, and the writer also replaces
/// the API key's SecretKey and token wherever they might appear.
pub fn init_logging(data_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let dir = log_dir(data_dir);
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(&dir, "voddesk.log");
    let (writer, guard) = tracing_appender::non_blocking(redact::RedactingWriter::new(appender));
    // The renderer's crates are chatty at info; their warnings are what matters.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("wgpu", tracing::Level::WARN)
        .with_target("naga", tracing::Level::WARN)
        .with_target("eframe", tracing::Level::WARN)
        .with_target("egui_wgpu", tracing::Level::WARN);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(filter)
        .try_init()
        .ok()?;
    Some(guard)
}

pub mod redact;

/// A desktop notification; failures are logged, never fatal.
pub fn notify(summary: &str, body: &str) {
    let summary = summary.to_owned();
    let body = body.to_owned();
    // Off the UI thread: notify-rust talks to D-Bus and may wait for it.
    let spawned = std::thread::Builder::new()
        .name("voddesk-notify".into())
        .spawn(move || {
            if let Err(err) = notify_rust::Notification::new()
                .appname("VodDesk")
                .summary(&summary)
                .body(&body)
                .show()
            {
                tracing::info!("cannot show a desktop notification: {err}");
            }
        });
    if let Err(err) = spawned {
        tracing::info!("cannot start the notification thread: {err}");
    }
}

/// Reads a saved secret (`what`) with a time limit, so a stuck keyring daemon cannot hold up
/// the start.
fn load_saved<T: Send + 'static>(
    store: &CredentialStore,
    what: &str,
    load: fn(&CredentialStore) -> Result<Option<T>, String>,
) -> Result<Option<T>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let store = store.clone();
    std::thread::Builder::new()
        .name("voddesk-keyring".into())
        .spawn(move || {
            let _ = tx.send(load(&store));
        })
        .map_err(|err| format!("cannot read the saved {what}: {err}"))?;
    let loaded = match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(loaded) => loaded,
        Err(_) => Err(format!(
            "the keyring did not answer within 5 seconds when asked for the saved {what}"
        )),
    };
    if let Err(err) = &loaded {
        tracing::warn!("starting without the saved {what}: {err}");
    }
    loaded
}

/// What the app starts its backend from, and what the settings dialog may show of the
/// secrets.
pub struct Resolved {
    /// The backend's settings (environment applied), API key and WeChat Work application.
    pub launch: backend::Launch,
    /// The API key as it may be shown.
    pub key_status: KeyStatus,
    /// The WeChat Work secret as it may be shown.
    pub wecom_status: SecretStatus,
    /// The environment variables that override a setting (names only).
    pub env_overrides: Vec<&'static str>,
}

impl Resolved {
    /// Whether a backend started from this would work differently from `running`. A secret
    /// that could not be read is taken as unchanged: not knowing it is no reason to restart
    /// (the backend running with it may well be right), and a restart would start without it.
    /// Unless `secret_written`: a secret just saved that cannot be read back is not the one
    /// the backend runs with.
    #[must_use]
    pub fn needs_restart_from(&self, running: &backend::Launch, secret_written: bool) -> bool {
        let unreadable = matches!(self.key_status, KeyStatus::Unreadable { .. })
            || matches!(self.wecom_status, SecretStatus::Unreadable { .. });
        if secret_written && unreadable {
            return true;
        }
        let mut launch = self.launch.clone();
        if matches!(self.key_status, KeyStatus::Unreadable { .. }) {
            launch.credentials.clone_from(&running.credentials);
        }
        if matches!(self.wecom_status, SecretStatus::Unreadable { .. }) {
            let corp_id = launch.settings.wecom_corp_id.trim().to_owned();
            launch.wecom = running
                .wecom
                .clone()
                .filter(|_| !corp_id.is_empty())
                .map(|app| crate::config::WeComCredentials { corp_id, ..app });
        }
        running.needs_restart_for(&launch)
    }
}

/// Resolves the saved settings, the environment (`env`) and the saved secrets into what a
/// backend would start from now: the key from `TENCENTCLOUD_SECRET_ID`/`_KEY` or the store;
/// the WeChat Work application from the CorpID (`WECOM_CORP_ID` or settings) and the secret
/// (`WECOM_CORP_SECRET` or the store). Reads the store, so never in the UI pass.
pub fn resolve(
    saved: &Settings,
    store: &CredentialStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Resolved {
    let (settings, env_overrides) = saved.with_env(env);
    let env_key = match (
        env("TENCENTCLOUD_SECRET_ID"),
        env("TENCENTCLOUD_SECRET_KEY"),
    ) {
        (Some(id), Some(key)) => Some(
            crate::tencent::Credentials::new(id, key).with_token(env("TENCENTCLOUD_SESSION_TOKEN")),
        ),
        _ => None,
    };
    let (credentials, key_status) = match env_key {
        Some(creds) => {
            let masked_id = creds.masked_id();
            (Some(creds), KeyStatus::Env { masked_id })
        }
        None => match load_saved(store, "API key", CredentialStore::load) {
            Ok(Some((creds, location))) => {
                let masked_id = creds.masked_id();
                (
                    Some(creds),
                    KeyStatus::Saved {
                        masked_id,
                        location,
                    },
                )
            }
            Ok(None) => (None, KeyStatus::None),
            Err(reason) => (None, KeyStatus::Unreadable { reason }),
        },
    };
    // Read even without a CorpID, so that the dialog can say a secret is saved and forget it.
    let (secret, wecom_status) = match env("WECOM_CORP_SECRET") {
        Some(secret) => (Some(secret), SecretStatus::Env),
        None => match load_saved(
            store,
            "WeChat Work secret",
            CredentialStore::load_wecom_secret,
        ) {
            Ok(Some((secret, location))) => (Some(secret), SecretStatus::Saved(location)),
            Ok(None) => (None, SecretStatus::None),
            Err(reason) => (None, SecretStatus::Unreadable { reason }),
        },
    };
    let corp_id = settings.wecom_corp_id.trim().to_owned();
    let wecom = secret
        .filter(|_| !corp_id.is_empty())
        .map(|secret| crate::config::WeComCredentials { corp_id, secret });
    Resolved {
        launch: backend::Launch {
            settings,
            credentials,
            wecom,
        },
        key_status,
        wecom_status,
        env_overrides,
    }
}

/// What the app says at start of a saved `what` it could not read.
fn unreadable_at_start(what: &str, reason: &str) -> String {
    format!("Could not read the saved {what}: {reason}. The app runs without it; see Settings.")
}

/// Tells the log writer the secrets `launch` holds, so that they never reach the log.
fn register_secrets(launch: &backend::Launch) {
    if let Some(creds) = &launch.credentials {
        redact::register(creds.secret_key());
        if let Some(token) = &creds.token {
            redact::register(token);
        }
    }
    if let Some(app) = &launch.wecom {
        redact::register(&app.secret);
    }
}

/// What the window says at once about saved secrets that could not be read: the app runs
/// without them (demo mode, for the key), which would otherwise look as if they had been lost.
fn problem_at_start(resolved: &Resolved) -> Option<String> {
    let mut problems: Vec<String> = Vec::new();
    if let KeyStatus::Unreadable { reason } = &resolved.key_status {
        problems.push(unreadable_at_start("API key", reason));
    }
    if let SecretStatus::Unreadable { reason } = &resolved.wecom_status {
        problems.push(unreadable_at_start("WeChat Work secret", reason));
    }
    (!problems.is_empty()).then(|| problems.join(" "))
}

/// The window: its title, app id and sizes, and files dropped onto it.
fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("VodDesk")
            .with_app_id("voddesk")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 480.0])
            .with_drag_and_drop(true),
        // Our own CJK fallback covers Chinese; the on-demand system font search would read
        // font files from disk inside the UI pass.
        system_font_fallback: false,
        ..eframe::NativeOptions::default()
    }
}

/// Opens the desktop app and runs it until the window closes.
pub fn run(handle: &tokio::runtime::Handle) -> ExitCode {
    if !display_available() {
        eprintln!("{NO_DISPLAY_MESSAGE}");
        return ExitCode::from(1);
    }
    let data_dir = data_dir();
    let _log_guard = init_logging(&data_dir);
    tracing::info!(
        "VodDesk {} starting; data in {}",
        env!("CARGO_PKG_VERSION"),
        data_dir.display()
    );

    let saved = Settings::load(&data_dir).unwrap_or_else(|err| {
        tracing::warn!("{err:#}");
        Settings::default()
    });
    let store = CredentialStore::new(&data_dir);
    let resolved = resolve(&saved, &store, &crate::config::env_var);
    register_secrets(&resolved.launch);

    let cjk = fonts::find_cjk_font();
    match &cjk {
        Some(font) => tracing::info!("CJK font: {}", font.path.display()),
        None => tracing::warn!("no CJK font found; Chinese text will show as boxes"),
    }

    let problem = problem_at_start(&resolved);
    let launch = resolved.launch;
    let handle = handle.clone();
    let system_lang = Lang::system();
    let result = eframe::run_native(
        "VodDesk",
        native_options(),
        Box::new(move |cc| {
            fonts::install(&cc.egui_ctx, cjk.as_ref());
            // The engine starts (and, while it cannot, retries) on the runtime: the window
            // opens at once and says what it is waiting for.
            let ctx = cc.egui_ctx.clone();
            let supervised = backend::supervise(
                &handle,
                data_dir.clone(),
                launch.clone(),
                backend::RETRY_EVERY,
                Arc::new(move || ctx.request_repaint()),
            );
            let events = link::bridge(&handle, supervised.events, cc.egui_ctx.clone());
            let app = VodDeskApp::new(AppInit {
                link: EngineLink {
                    events,
                    status: supervised.status,
                    retry: supervised.retry,
                },
                handle,
                settings: saved,
                env_overrides: resolved.env_overrides,
                env: crate::config::env_var,
                data_dir,
                credential_store: store,
                key_status: resolved.key_status,
                wecom_status: resolved.wecom_status,
                launch,
                cjk_font: cjk.is_some(),
                system_lang,
                notifier: Box::new(notify),
            });
            let mut app = app;
            if let Some(problem) = problem {
                app.say(problem);
            }
            Ok(Box::new(app))
        }),
    );
    exit_code(result)
}

/// How the app ends: a window that could not open is said on stderr and in the log.
fn exit_code(result: eframe::Result) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("the window could not open: {err}");
            eprintln!(
                "voddesk: the desktop app could not open a window: {err}\nUse the command line instead; see `voddesk --help`."
            );
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WeComCredentials;

    fn running() -> backend::Launch {
        backend::Launch {
            settings: Settings {
                wecom_corp_id: "ww0123456789abcdef".into(),
                ..Settings::default()
            },
            credentials: Some(crate::tencent::Credentials::new(
                "AKIDexample0001",
                "secret-key-1",
            )),
            wecom: Some(WeComCredentials {
                corp_id: "ww0123456789abcdef".into(),
                secret: "wecom-secret-1".into(),
            }),
        }
    }

    /// What `resolve` gives when neither saved secret can be read, with `settings`.
    fn unreadable(settings: Settings) -> Resolved {
        Resolved {
            launch: backend::Launch {
                settings,
                credentials: None,
                wecom: None,
            },
            key_status: KeyStatus::Unreadable {
                reason: "the keyring did not answer".into(),
            },
            wecom_status: SecretStatus::Unreadable {
                reason: "the keyring did not answer".into(),
            },
            env_overrides: Vec::new(),
        }
    }

    #[test]
    fn secrets_that_cannot_be_read_are_no_reason_to_restart() {
        let running = running();
        assert!(!unreadable(running.settings.clone()).needs_restart_from(&running, false));
        // What could be read still counts: another region, another WeChat Work CorpID.
        let region = Settings {
            region: "ap-chongqing".into(),
            ..running.settings.clone()
        };
        assert!(unreadable(region).needs_restart_from(&running, false));
        let corp = Settings {
            wecom_corp_id: "ww9999999999999999".into(),
            ..running.settings.clone()
        };
        assert!(unreadable(corp).needs_restart_from(&running, false));
        // Read and gone is a change.
        let gone = Resolved {
            key_status: KeyStatus::None,
            ..unreadable(running.settings.clone())
        };
        assert!(gone.needs_restart_from(&running, false));
    }
}
