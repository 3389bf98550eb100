//! What the app uploads through: the engine against Tencent Cloud when there is an API key, the
//! engine against the embedded emulator (demo mode) when there is none, and the in-memory
//! simulation only if the engine cannot start at all. WeChat Work items go to the configured
//! WeChat Work application in either mode; the emulator's WeCom stands in only in demo mode
//! without one.
//!
//! Everything here runs in `main` before the window opens; nothing of it is in the UI pass.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{Endpoints, ServiceConfig, WeComCredentials};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::engine::api::{Command, Event};
use crate::engine::{Engine, EngineConfig, EngineHandle};
use crate::gui::app::BackendMode;
use crate::gui::link::EVENT_CAPACITY;
use crate::gui::settings::Settings;
use crate::tencent::Credentials;
use crate::tencent::sign_service::SignatureToken;
use crate::wecom::WeComClient;

/// Starts the demo emulator on the port it had last time.
///
/// Media and publishing URLs embed the emulator's address and are stored with the items, so
/// a new port on every start would leave every earlier URL (and QR code) dead. When that port
/// is taken, a free one is used and earlier URLs will not open.
fn spawn_demo_emulator(
    handle: &tokio::runtime::Handle,
    dir: &Path,
) -> Result<(std::net::SocketAddr, EmulatorHandle), emulator::EmulatorError> {
    let port_file = dir.join("port");
    let previous = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|text| text.trim().parse::<u16>().ok());
    let config = EmulatorConfig::with_data_dir(dir);
    if let Some(port) = previous {
        let mut again = config.clone();
        again.addr.set_port(port);
        match handle.block_on(emulator::spawn(again)) {
            Ok(started) => return Ok(started),
            Err(err) => tracing::warn!(
                port,
                "the demo emulator's previous port is taken; earlier demo URLs will not open: {err:#}"
            ),
        }
    }
    let (addr, emu) = handle.block_on(emulator::spawn(config))?;
    if let Err(err) = std::fs::write(&port_file, addr.port().to_string()) {
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
        let store = super::credentials::CredentialStore::new(data_dir);
        super::load_saved(
            &store,
            "signature service token",
            super::credentials::CredentialStore::load_signature_token,
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

/// A started backend.
pub struct Backend {
    /// UI → worker.
    pub commands: mpsc::Sender<Command>,
    /// Worker → UI (before the repaint bridge).
    pub events: mpsc::Receiver<Event>,
    /// What it talks to.
    pub mode: BackendMode,
    /// The key "Test connection" uses (the demo key in demo mode).
    pub credentials: Option<Credentials>,
    /// The emulator in demo mode; it stops when this is dropped, so keep it while the app runs.
    pub emulator: Option<EmulatorHandle>,
    /// Why the engine could not start, when the simulation stands in.
    pub problem: Option<String>,
    /// The WeChat Work application the engine uploads to, for fetching media back ("Save a
    /// copy"); `None` when there is none.
    pub wecom: Option<Arc<WeComClient>>,
    /// What it was started from.
    pub launch: Launch,
}

/// Starts the engine (and in demo mode the emulator) for `settings` with `credentials` and
/// the WeChat Work application `wecom` (demo mode uses the emulator's own when there is none).
pub fn start(
    handle: &tokio::runtime::Handle,
    data_dir: &std::path::Path,
    settings: &Settings,
    credentials: Option<Credentials>,
    wecom: Option<WeComCredentials>,
) -> Backend {
    let launch = Launch {
        settings: settings.clone(),
        credentials: credentials.clone(),
        wecom: wecom.clone(),
    };
    let signature_url = signature_url(settings);
    let cloud = credentials.is_some() || signature_url.is_some();
    let (service, mode, emulator, test_key) = if cloud {
        let service = ServiceConfig {
            credentials: credentials.clone(),
            region: settings.region.clone(),
            endpoints: settings.endpoints(),
            // Asked only in signature mode: the keyring is not woken up for nothing.
            signature_token: signature_url
                .is_some()
                .then(|| signature_token(data_dir))
                .flatten(),
            signature_url,
            sub_app_id: settings.sub_app_id,
            // Without a WeChat Work application, items for it are refused with a message
            // saying what to set.
            wecom,
            data_dir: data_dir.to_path_buf(),
        };
        (service, BackendMode::Cloud, None, credentials)
    } else {
        // Demo mode: its own queue database and emulator data, so demo items never try to
        // resume against the real service once a key is added.
        let demo_dir = data_dir.join("demo");
        match spawn_demo_emulator(handle, &demo_dir.join("emulator")) {
            Ok((_, emu)) => {
                let url = emu.base_url();
                tracing::info!("demo mode: embedded emulator at {url}");
                let key = Credentials::new(emulator::DEMO_SECRET_ID, emulator::DEMO_SECRET_KEY);
                // WeChat Work files go to the user's own application whenever one is set up,
                // API key or not; only without one does the emulator's stand in.
                let (wecom, wecom_endpoint) = match wecom {
                    Some(app) => (app, settings.endpoints().wecom),
                    None => (
                        WeComCredentials {
                            corp_id: emulator::DEMO_WECOM_CORP_ID.to_owned(),
                            secret: emulator::DEMO_WECOM_SECRET.to_owned(),
                        },
                        url.clone(),
                    ),
                };
                let service = ServiceConfig {
                    credentials: Some(key.clone()),
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
                (service, BackendMode::Demo { url }, Some(emu), Some(key))
            }
            Err(err) => {
                return simulated(
                    handle,
                    format!("the demo emulator could not start: {err:#}"),
                    launch,
                );
            }
        }
    };
    let wecom = service.wecom.as_ref().map(|app| {
        Arc::new(WeComClient::new(
            reqwest::Client::new(),
            &service.endpoints.wecom,
            &app.corp_id,
            &app.secret,
        ))
    });
    let config = EngineConfig {
        tuning: settings.tuning(),
        default_flow: settings.flow,
        defaults: settings.item_defaults(),
        ..EngineConfig::new(service)
    };
    // The engine's own wake-up is not needed: the bridge repaints after forwarding.
    let engine = match Engine::start(config, handle, Arc::new(|| {})) {
        Ok(engine) => engine,
        Err(err) => {
            return simulated(
                handle,
                format!("the upload queue could not open: {err:#}"),
                launch,
            );
        }
    };
    let commands = engine.sender();
    let events = forward(handle, engine);
    Backend {
        commands,
        events,
        mode,
        credentials: test_key,
        emulator,
        problem: None,
        wecom,
        launch,
    }
}

/// Moves the engine's events onto a channel the UI owns; the task keeps the engine alive until
/// it ends (after `Shutdown`) or the UI is gone.
fn forward(handle: &tokio::runtime::Handle, mut engine: EngineHandle) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
    handle.spawn(async move {
        while let Some(event) = engine.recv().await {
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    rx
}

fn simulated(handle: &tokio::runtime::Handle, problem: String, launch: Launch) -> Backend {
    tracing::error!("{problem}; uploads are simulated");
    let (commands, events) = crate::gui::sim::spawn(handle);
    Backend {
        commands,
        events,
        mode: BackendMode::Simulated,
        credentials: None,
        emulator: None,
        problem: Some(problem),
        wecom: None,
        launch,
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
