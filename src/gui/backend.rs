//! What the app uploads through: the engine against Tencent Cloud when there is an API key, or
//! against the embedded emulator (demo mode) when there is none. WeChat Work items go to the
//! configured WeChat Work application in either mode; the emulator's WeCom stands in only in
//! demo mode without one.
//!
//! [`supervise`] starts it on the runtime, never in the UI pass. When the engine cannot start
//! (another VodDesk holds the queue, the database is broken, the data folder cannot be
//! written) nothing stands in for it: the status says why, and it tries again every few
//! seconds (or at once when asked) until the real queue opens.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::config::{Endpoints, ServiceConfig, WeComCredentials};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::engine::api::{Command, Event};
use crate::engine::{Engine, EngineConfig, EngineError, EngineHandle, LockHolder};
use crate::settings::Settings;
use crate::tencent::Credentials;
use crate::tencent::sign_service::SignatureToken;

/// How many events may wait for the UI before the bridge pushes back on the engine.
pub const EVENT_CAPACITY: usize = 8192;

/// How often a queue that could not open is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(3);

/// What the engine is pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendMode {
    /// Tencent Cloud with the user's key (or signature service).
    Cloud,
    /// The embedded emulator on loopback (no key set).
    Demo {
        /// The emulator's base URL.
        url: String,
    },
}

/// Where WeChat Work items go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeComRoute {
    /// The user's WeChat Work application.
    Application {
        /// Its CorpID.
        corp_id: String,
        /// The WeCom base URL it is reached at.
        endpoint: String,
    },
    /// The demo emulator's WeCom (demo mode without an application).
    Emulator,
    /// Nowhere: no application is set up, so such items are refused.
    NotSetUp,
}

/// A running engine, as the UI talks to it.
#[derive(Debug, Clone)]
pub struct Connected {
    /// UI → worker.
    pub commands: mpsc::Sender<Command>,
    /// What it talks to.
    pub mode: BackendMode,
    /// Where WeChat Work items go.
    pub wecom: WeComRoute,
}

/// Why the queue could not open, as far as it can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartProblem {
    /// Another process works on this queue.
    Busy {
        /// The data directory.
        dir: PathBuf,
        /// Who, when its `engine.lock` says.
        holder: Option<LockHolder>,
    },
    /// The queue database cannot be opened.
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The data folder cannot be created or written.
    DataDir {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        detail: String,
    },
    /// The demo emulator could not start.
    Emulator {
        /// Why.
        detail: String,
    },
    /// Anything else.
    Other {
        /// Why.
        detail: String,
    },
}

/// The backend as the UI sees it.
#[derive(Debug, Clone)]
pub enum BackendStatus {
    /// The first attempt is under way.
    Starting,
    /// The real queue is open.
    Running(Connected),
    /// The queue could not open; it is tried again every [`RETRY_EVERY`].
    Unavailable {
        /// Why.
        problem: StartProblem,
        /// Attempts so far.
        attempts: u32,
    },
}

/// Starts the demo emulator on the port it had last time.
///
/// Media and publishing URLs embed the emulator's address and are stored with the items, so
/// a new port on every start would leave every earlier URL (and QR code) dead. When that port
/// is taken, a free one is used and earlier URLs will not open.
async fn spawn_demo_emulator(
    dir: &Path,
) -> Result<(std::net::SocketAddr, EmulatorHandle), emulator::EmulatorError> {
    let port_file = dir.join("port");
    let previous = tokio::fs::read_to_string(&port_file)
        .await
        .ok()
        .and_then(|text| text.trim().parse::<u16>().ok());
    let config = EmulatorConfig::with_data_dir(dir);
    if let Some(port) = previous {
        let mut again = config.clone();
        again.addr.set_port(port);
        match emulator::spawn(again).await {
            Ok(started) => return Ok(started),
            Err(err) => tracing::warn!(
                port,
                "the demo emulator's previous port is taken; earlier demo URLs will not open: {err:#}"
            ),
        }
    }
    let (addr, emu) = emulator::spawn(config).await?;
    if let Err(err) = tokio::fs::write(&port_file, addr.port().to_string()).await {
        tracing::warn!(
            "cannot remember the demo emulator's port: {err:#}: {}",
            port_file.display()
        );
    }
    Ok((addr, emu))
}

/// What a backend is started from: the settings with the environment applied, the API key and
/// the WeChat Work application.
///
/// The settings dialog compares the one the running backend was started from with the one the
/// saved settings and secrets give now, to say whether a restart is needed.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The settings, environment overrides applied.
    pub settings: Settings,
    /// The API key; `None` is demo mode unless a signature service is set.
    pub credentials: Option<Credentials>,
    /// The WeChat Work application.
    pub wecom: Option<WeComCredentials>,
}

/// The part of a [`Launch`] a running backend holds on to: everything else (transfer limits,
/// defaults for new items, the language) applies without a restart.
#[derive(PartialEq, Eq)]
struct Service {
    /// `None` in demo mode, where the emulator stands in for all of it.
    cloud: Option<Cloud>,
    region: String,
    /// The WeChat Work application and its endpoint.
    wecom: Option<(String, WeComCredentials)>,
}

#[derive(PartialEq, Eq)]
struct Cloud {
    credentials: Option<Credentials>,
    /// Without the WeCom endpoint, which goes with the application.
    endpoints: Endpoints,
    signature_url: Option<String>,
    sub_app_id: Option<u64>,
}

impl Launch {
    /// Whether a backend started from `other` would work differently from one started from
    /// this: another key, signature service, region, sub-application, endpoint in use or
    /// WeChat Work application.
    #[must_use]
    pub fn needs_restart_for(&self, other: &Self) -> bool {
        self.service() != other.service()
    }

    fn service(&self) -> Service {
        let settings = &self.settings;
        let mut endpoints = settings.endpoints();
        let wecom_endpoint = std::mem::take(&mut endpoints.wecom);
        let wecom = self.wecom.clone().map(|app| (wecom_endpoint, app));
        let signature_url = signature_url(settings);
        let cloud = (self.credentials.is_some() || signature_url.is_some()).then(|| Cloud {
            credentials: self.credentials.clone(),
            endpoints,
            signature_url,
            sub_app_id: settings.sub_app_id,
        });
        Service {
            cloud,
            region: settings.region.clone(),
            wecom,
        }
    }
}

/// The signature service's token: `VODDESK_SIGNATURE_TOKEN`, else the one saved in the
/// settings (keyring or 0600 file). It is registered with the log writer's redaction.
fn signature_token(data_dir: &Path) -> Option<SignatureToken> {
    let token = crate::config::env_var("VODDESK_SIGNATURE_TOKEN").or_else(|| {
        let store = crate::settings::credentials::CredentialStore::new(data_dir);
        super::load_saved(
            &store,
            "signature service token",
            crate::settings::credentials::CredentialStore::load_signature_token,
        )
        .ok()
        .flatten()
        .map(|(token, _)| token)
    })?;
    super::redact::register(&token);
    SignatureToken::new(&token)
}

fn signature_url(settings: &Settings) -> Option<String> {
    Some(settings.signature_url.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The UI's ends of a supervised backend.
pub struct Supervised {
    /// Worker → UI (before the repaint bridge).
    pub events: mpsc::Receiver<Event>,
    /// The backend's status.
    pub status: watch::Receiver<BackendStatus>,
    /// Notified to try again at once.
    pub retry: Arc<Notify>,
}

/// Starts the engine for `launch` on `handle` (and in demo mode the emulator), trying again
/// every `every` (or when `retry` is notified) while it cannot; `wake` is called after each
/// status change. Returns at once: everything happens on the runtime.
pub fn supervise(
    handle: &tokio::runtime::Handle,
    data_dir: PathBuf,
    launch: Launch,
    every: Duration,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Supervised {
    let (status_tx, status) = watch::channel(BackendStatus::Starting);
    let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
    let retry = Arc::new(Notify::new());
    let notified = Arc::clone(&retry);
    let runtime = handle.clone();
    handle.spawn(async move {
        let mut attempts = 0u32;
        let mut demo: Option<(String, EmulatorHandle)> = None;
        loop {
            attempts += 1;
            match start_once(&runtime, &data_dir, &launch, &mut demo).await {
                Ok((engine, connected)) => {
                    tracing::info!("the upload queue is open");
                    status_tx.send_replace(BackendStatus::Running(connected));
                    wake();
                    forward(engine, &events_tx).await;
                    // Kept until the engine has ended: dropping it stops the demo emulator.
                    drop(demo);
                    return;
                }
                Err(problem) => {
                    // Said once in the log, not every few seconds.
                    if attempts == 1 {
                        tracing::warn!("the upload queue cannot open yet: {problem:?}");
                    }
                    status_tx.send_replace(BackendStatus::Unavailable { problem, attempts });
                    wake();
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        () = notified.notified() => {}
                        () = status_tx.closed() => return,
                    }
                }
            }
        }
    });
    Supervised {
        events,
        status,
        retry,
    }
}

/// Moves the engine's events onto the UI's channel until the engine ends (after `Shutdown`)
/// or the UI is gone.
async fn forward(mut engine: EngineHandle, tx: &mpsc::Sender<Event>) {
    while let Some(event) = engine.recv().await {
        if tx.send(event).await.is_err() {
            break;
        }
    }
}

/// Whether `dir` can be created and written, checked with a file of its own.
fn check_writable(dir: &Path) -> Result<(), StartProblem> {
    let problem = |err: std::io::Error| StartProblem::DataDir {
        path: dir.to_path_buf(),
        detail: err.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(problem)?;
    let probe = dir.join(".voddesk-write-check");
    std::fs::write(&probe, b"ok").map_err(problem)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// One attempt: the data folder, the demo emulator (kept in `demo` across attempts), then
/// the engine.
async fn start_once(
    runtime: &tokio::runtime::Handle,
    data_dir: &Path,
    launch: &Launch,
    demo: &mut Option<(String, EmulatorHandle)>,
) -> Result<(EngineHandle, Connected), StartProblem> {
    let settings = &launch.settings;
    let signature_url = signature_url(settings);
    let cloud = launch.credentials.is_some() || signature_url.is_some();
    let (config, mode, wecom_route) = if cloud {
        cloud_config(data_dir, launch, signature_url).await?
    } else {
        demo_config(data_dir, launch, demo).await?
    };
    let config = EngineConfig {
        tuning: settings.tuning(),
        default_flow: settings.flow,
        defaults: settings.item_defaults(),
        ..config
    };
    let started = start_engine(runtime, config).await?;
    let connected = Connected {
        commands: started.sender(),
        mode,
        wecom: wecom_route,
    };
    Ok((started, connected))
}

/// The engine against Tencent Cloud: the user's key or signature service, and their WeChat
/// Work application if there is one.
async fn cloud_config(
    data_dir: &Path,
    launch: &Launch,
    signature_url: Option<String>,
) -> Result<(EngineConfig, BackendMode, WeComRoute), StartProblem> {
    let settings = &launch.settings;
    let wecom_route = match &launch.wecom {
        Some(app) => WeComRoute::Application {
            corp_id: app.corp_id.clone(),
            endpoint: settings.endpoints().wecom,
        },
        None => WeComRoute::NotSetUp,
    };
    // Asked only in signature mode: the keyring is not woken up for nothing. It may
    // wait on the session bus, so on the blocking pool.
    let signature_token = match signature_url {
        Some(_) => {
            let dir = data_dir.to_path_buf();
            tokio::task::spawn_blocking(move || signature_token(&dir))
                .await
                .map_err(|err| join_problem(&err))?
        }
        None => None,
    };
    let service = ServiceConfig {
        credentials: launch.credentials.clone(),
        region: settings.region.clone(),
        endpoints: settings.endpoints(),
        signature_token,
        signature_url,
        sub_app_id: settings.sub_app_id,
        // Without a WeChat Work application, items for it are refused with a message
        // saying what to set.
        wecom: launch.wecom.clone(),
        data_dir: data_dir.to_path_buf(),
    };
    Ok((EngineConfig::new(service), BackendMode::Cloud, wecom_route))
}

/// Demo mode: the engine against the embedded emulator (started into `demo` once), with its
/// own queue database and emulator data, so demo items never try to resume against the real
/// service once a key is added.
async fn demo_config(
    data_dir: &Path,
    launch: &Launch,
    demo: &mut Option<(String, EmulatorHandle)>,
) -> Result<(EngineConfig, BackendMode, WeComRoute), StartProblem> {
    let settings = &launch.settings;
    let demo_dir = data_dir.join("demo");
    let writable = demo_dir.clone();
    tokio::task::spawn_blocking(move || check_writable(&writable))
        .await
        .map_err(|err| join_problem(&err))??;
    if demo.is_none() {
        let (_, emu) = spawn_demo_emulator(&demo_dir.join("emulator"))
            .await
            .map_err(|err| StartProblem::Emulator {
                detail: format!("{err:#}"),
            })?;
        let url = emu.base_url();
        tracing::info!("demo mode: embedded emulator at {url}");
        *demo = Some((url, emu));
    }
    let url = demo
        .as_ref()
        .map(|(url, _)| url.clone())
        .unwrap_or_default();
    let key = Credentials::new(emulator::DEMO_SECRET_ID, emulator::DEMO_SECRET_KEY);
    let demo_app = WeComCredentials {
        corp_id: emulator::DEMO_WECOM_CORP_ID.to_owned(),
        secret: emulator::DEMO_WECOM_SECRET.to_owned(),
    };
    // WeChat Work files go to the user's own application whenever one is set up, API key
    // or not; only without one does the emulator's stand in. Files sent to the emulator
    // before stay fetchable through the fallback.
    let (wecom, wecom_endpoint, route, fallback) = match &launch.wecom {
        Some(app) => (
            app.clone(),
            settings.endpoints().wecom,
            WeComRoute::Application {
                corp_id: app.corp_id.clone(),
                endpoint: settings.endpoints().wecom,
            },
            Some((url.clone(), demo_app)),
        ),
        None => (demo_app, url.clone(), WeComRoute::Emulator, None),
    };
    let service = ServiceConfig {
        credentials: Some(key),
        region: settings.region.clone(),
        endpoints: Endpoints {
            wecom: wecom_endpoint,
            ..Endpoints::all_at(&url)
        },
        signature_url: None,
        signature_token: None,
        sub_app_id: None,
        wecom: Some(wecom),
        data_dir: demo_dir,
    };
    let config = EngineConfig {
        wecom_fallback: fallback,
        ..EngineConfig::new(service)
    };
    Ok((config, BackendMode::Demo { url }, route))
}

/// Opens the queue database and takes its lock on the blocking pool (both touch the disk),
/// then starts the engine.
async fn start_engine(
    runtime: &tokio::runtime::Handle,
    config: EngineConfig,
) -> Result<EngineHandle, StartProblem> {
    let dir = config.service.data_dir.clone();
    let handle = runtime.clone();
    tokio::task::spawn_blocking(move || {
        check_writable(&config.service.data_dir)?;
        // The engine's own wake-up is not needed: the bridge repaints after forwarding.
        Engine::start(config, &handle, Arc::new(|| {})).map_err(|err| engine_problem(err, &dir))
    })
    .await
    .map_err(|err| join_problem(&err))?
}

/// Why the engine did not start, as the window says it (`dir`: its data folder).
fn engine_problem(err: EngineError, dir: &Path) -> StartProblem {
    match err {
        EngineError::Busy(dir) => {
            let holder = crate::engine::lock_holder(&dir);
            StartProblem::Busy { dir, holder }
        }
        EngineError::Store(crate::store::StoreError::Io { detail, path }) => {
            StartProblem::DataDir {
                path: PathBuf::from(path),
                detail,
            }
        }
        EngineError::Store(err) => StartProblem::Database {
            path: dir.join(crate::store::DB_FILE),
            detail: err.to_string(),
        },
        EngineError::Http(err) => StartProblem::Other {
            detail: format!("{err:#}"),
        },
    }
}

/// A task on the blocking pool that panicked or was cancelled.
fn join_problem(err: &tokio::task::JoinError) -> StartProblem {
    StartProblem::Other {
        detail: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(settings: Settings) -> Launch {
        Launch {
            settings,
            credentials: None,
            wecom: None,
        }
    }

    #[test]
    fn only_what_the_backend_holds_on_to_needs_a_restart() {
        let running = launch(Settings::default());
        // Applied at once: transfer limits, defaults, language.
        let tuned = launch(Settings {
            parallel_files: 7,
            procedure: "LongVideoPreset".into(),
            language: Some(crate::gui::i18n::Lang::Zh),
            ..Settings::default()
        });
        assert!(!running.needs_restart_for(&tuned));
        // Demo mode uses the emulator whatever the VOD endpoints say.
        let endpoint = launch(Settings {
            vod_endpoint: "https://vod.example.com".into(),
            ..Settings::default()
        });
        assert!(!running.needs_restart_for(&endpoint));
        let keyed = Launch {
            credentials: Some(Credentials::new("AKIDexample0001", "secret-key-1")),
            ..endpoint.clone()
        };
        assert!(running.needs_restart_for(&keyed));
        // With a key the endpoints are used, and the same key is no change.
        let same = Launch {
            credentials: Some(Credentials::new("AKIDexample0001", "secret-key-1")),
            ..endpoint
        };
        assert!(!keyed.needs_restart_for(&same));
        let other_endpoint = Launch {
            settings: Settings::default(),
            ..same
        };
        assert!(keyed.needs_restart_for(&other_endpoint));
        // A WeChat Work application, key or not, and its endpoint.
        let app = WeComCredentials {
            corp_id: "wwcorp".into(),
            secret: "app-secret".into(),
        };
        let with_app = Launch {
            wecom: Some(app.clone()),
            ..running.clone()
        };
        assert!(running.needs_restart_for(&with_app));
        let elsewhere = Launch {
            settings: Settings {
                wecom_endpoint: "http://127.0.0.1:9".into(),
                ..Settings::default()
            },
            wecom: Some(app),
            credentials: None,
        };
        assert!(with_app.needs_restart_for(&elsewhere));
        // The WeCom endpoint alone, without an application, changes nothing.
        let unused = launch(elsewhere.settings.clone());
        assert!(!running.needs_restart_for(&unused));
    }
}
