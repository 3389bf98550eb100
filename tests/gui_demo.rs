//! The app in demo mode end to end: the real engine uploading to the embedded emulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::ItemState;
use voddesk::gui::credentials::CredentialStore;
use voddesk::gui::i18n::Lang;
use voddesk::gui::link::EngineLink;
use voddesk::gui::settings::Settings;
use voddesk::gui::{AppInit, BackendMode, KeyStatus, VodDeskApp, backend, fonts};

use crate::gui_support::{Dropped, cjk_font, wait_for};

#[test]
fn demo_mode_uploads_dropped_files_to_the_embedded_emulator() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::default();
    let started = backend::start(runtime.handle(), dir.path(), &settings, None);
    assert!(
        matches!(started.mode, BackendMode::Demo { .. }),
        "{:?}",
        started.problem
    );
    let _emulator = started.emulator;

    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    for (name, size) in [
        ("开场.mp4", 3 << 20),
        ("b.mp3", 1 << 20),
        ("c.mov", 2 << 20),
    ] {
        let bytes: Vec<u8> = (0..size).map(|i: u32| (i % 251) as u8).collect();
        std::fs::write(media.join(name), bytes).unwrap();
    }

    let notes = Arc::new(Mutex::new(Vec::<String>::new()));
    let recorded = notes.clone();
    let app = VodDeskApp::new(AppInit {
        link: EngineLink {
            commands: started.commands,
            events: started.events,
        },
        handle: runtime.handle().clone(),
        settings,
        env_overrides: Vec::new(),
        data_dir: dir.path().to_path_buf(),
        credential_store: CredentialStore::file_only(dir.path()),
        key_status: KeyStatus::None,
        credentials: started.credentials,
        mode: started.mode,
        cjk_font: true,
        system_lang: Lang::En,
        notifier: Box::new(move |summary: &str, _: &str| {
            recorded.lock().unwrap().push(summary.to_owned());
        }),
    });
    let font = cjk_font();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_context_setup(move |ctx| fonts::install(ctx, font.as_ref()))
        .build_ui_state(|ui, app: &mut VodDeskApp| app.run_frame(ui), app);

    harness.input_mut().dropped_files = vec![Arc::new(Dropped(media.clone()))];
    wait_for(&mut harness, Duration::from_secs(60), |h| {
        let rows = h.state().model().rows();
        rows.len() == 3
            && rows
                .iter()
                .all(|r| matches!(r.snap.state, ItemState::Done { .. }))
    });
    harness.run();
    harness.get_by_label("开场.mp4").click();
    harness.run();
    harness.get_by_label("Copy FileId");
    harness.get_by_label_contains("Demo mode");
    assert!(
        notes.lock().unwrap().iter().any(|s| s == "VodDesk"),
        "the end of the queue is notified"
    );

    // "Test connection" makes a signed call to the emulator with the demo key.
    harness.get_by_label("Settings").click();
    harness.run();
    harness.get_by_label("Test connection").click();
    wait_for(&mut harness, Duration::from_secs(30), |h| {
        h.query_by_label_contains("Connected: the key works")
            .is_some()
    });
}
