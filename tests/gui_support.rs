//! Shared set-up for the GUI tests: a fake worker that records commands and feeds events, a
//! data directory of its own, the CJK font, and a harness around the real app.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use tokio::sync::mpsc;
use voddesk::engine::api::{
    Command, Destination, Event, ItemId, ItemOptions, ItemSnapshot, ItemState, Progress,
    PublishState,
};
use voddesk::gui::backend::WeComRoute;
use voddesk::gui::fonts::{self, CjkFont};
use voddesk::gui::i18n::Lang;
use voddesk::gui::link::EngineLink;
use voddesk::gui::{AppInit, BackendMode, KeyStatus, SecretStatus, VodDeskApp};
use voddesk::settings::Settings;
use voddesk::settings::credentials::CredentialStore;

/// The CJK font, read once per test binary.
pub fn cjk_font() -> Option<CjkFont> {
    static FONT: OnceLock<Option<CjkFont>> = OnceLock::new();
    FONT.get_or_init(fonts::find_cjk_font).clone()
}

/// The harness every GUI test runs the app in: `width` × `height` points, the CJK font.
pub fn harness(app: VodDeskApp, width: f32, height: f32) -> Harness<'static, VodDeskApp> {
    let font = cjk_font();
    assert!(
        font.is_some(),
        "the GUI tests need a CJK font: install fonts-noto-cjk (scripts/test.sh does)"
    );
    // The app's background threads (the settings save, the secret store) ask for a repaint
    // when they finish; one that lands while `run` steps costs up to two more frames before the
    // window settles (seen on CI: 6 steps against the default 4). 16 still fails a window that
    // never stops repainting.
    Harness::builder()
        .with_size(egui::vec2(width, height))
        .with_max_steps(16)
        .with_context_setup(move |ctx| fonts::install(ctx, font.as_ref()))
        .build_ui_state(|ui, app: &mut VodDeskApp| app.run_frame(ui), app)
}

/// The fake worker's ends and everything the test owns.
pub struct Fake {
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<Event>,
    pub notes: Arc<Mutex<Vec<(String, String)>>>,
    pub dir: tempfile::TempDir,
    /// Kept alive for the app's background jobs.
    pub _runtime: tokio::runtime::Runtime,
}

impl Fake {
    /// Every command sent so far.
    pub fn take_commands(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            out.push(command);
        }
        out
    }

    /// Feeds one event to the app.
    pub fn send(&self, event: Event) {
        self.events.try_send(event).unwrap();
    }
}

/// The app in a 1280×800 harness, English unless told, with a fake worker.
pub fn app(lang: Lang) -> (Harness<'static, VodDeskApp>, Fake) {
    app_with_wecom(lang, WeComRoute::NotSetUp)
}

/// [`app`] with WeChat Work items going to `wecom`.
pub fn app_with_wecom(lang: Lang, wecom: WeComRoute) -> (Harness<'static, VodDeskApp>, Fake) {
    app_with_link(lang, 1280.0, 800.0, |commands, events| {
        EngineLink::connected(
            commands,
            events,
            BackendMode::Demo {
                url: "http://127.0.0.1:9".into(),
            },
            wecom,
        )
    })
}

/// The app in a `width`×`height` harness with the link `link` makes of the fake worker's
/// channels.
pub fn app_with_link(
    lang: Lang,
    width: f32,
    height: f32,
    link: impl FnOnce(mpsc::Sender<Command>, mpsc::Receiver<Event>) -> EngineLink,
) -> (Harness<'static, VodDeskApp>, Fake) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (commands_tx, commands) = mpsc::channel(64);
    let (events, events_rx) = mpsc::channel(1024);
    let notes = Arc::new(Mutex::new(Vec::new()));
    let recorded = notes.clone();
    let settings = Settings {
        language: Some(lang),
        ..Settings::default()
    };
    // The backend "runs" from these settings, without a key or a WeChat Work application.
    let launch = voddesk::gui::backend::Launch {
        settings: settings.clone(),
        credentials: None,
        wecom: None,
    };
    let mut app = VodDeskApp::new(AppInit {
        link: link(commands_tx, events_rx),
        handle: runtime.handle().clone(),
        settings,
        env_overrides: Vec::new(),
        env: |_| None,
        data_dir: dir.path().to_path_buf(),
        credential_store: CredentialStore::file_only(dir.path()),
        key_status: KeyStatus::None,
        wecom_status: SecretStatus::None,
        launch,
        cjk_font: true,
        system_lang: Lang::En,
        notifier: Box::new(move |summary: &str, body: &str| {
            recorded
                .lock()
                .unwrap()
                .push((summary.to_owned(), body.to_owned()));
        }),
    });
    // Deterministic whatever the machine has: never the system's file dialog.
    app.use_builtin_browser();
    let harness = harness(app, width, height);
    (
        harness,
        Fake {
            commands,
            events,
            notes,
            dir,
            _runtime: runtime,
        },
    )
}

/// Steps the harness until `done` holds, or panics after `timeout`.
pub fn wait_for(
    harness: &mut Harness<'static, VodDeskApp>,
    timeout: Duration,
    mut done: impl FnMut(&mut Harness<'static, VodDeskApp>) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "condition not met within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A snapshot of a queued VOD item.
pub fn snapshot(id: ItemId, path: &Path, state: ItemState) -> ItemSnapshot {
    ItemSnapshot {
        id,
        path: path.to_path_buf(),
        size: 10 * 1024 * 1024,
        destination: Destination::Vod,
        options: ItemOptions::default(),
        state,
        progress: Progress::default(),
        publish: PublishState::NotPublished,
        created_at: 1_700_000_000 + id,
    }
}

/// A file dropped on the window.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|err| err.to_string())
    }
}

/// Clicks the button `label` and returns the text it put on the clipboard in that frame.
pub fn click_and_copied(harness: &mut Harness<'static, VodDeskApp>, label: &str) -> Vec<String> {
    use egui_kittest::kittest::Queryable as _;
    harness.get_by_label(label).click();
    harness.step();
    let copied = harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|command| match command {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    harness.run();
    copied
}
