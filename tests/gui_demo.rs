//! The app in demo mode end to end: the real engine uploading to the embedded emulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::{Command, ItemState};
use voddesk::gui::i18n::Lang;
use voddesk::gui::link::EngineLink;
use voddesk::gui::{AppInit, BackendMode, KeyStatus, SecretStatus, VodDeskApp, backend};
use voddesk::settings::Settings;
use voddesk::settings::credentials::CredentialStore;

use crate::gui_support::{Dropped, harness, wait_for};

/// A supervised backend once its queue is open.
pub struct Started {
    pub link: EngineLink,
    pub launch: backend::Launch,
    pub mode: BackendMode,
    pub commands: tokio::sync::mpsc::Sender<Command>,
}

/// Starts the backend for `settings` and the secrets in `dir` the way the app does, and waits
/// until its queue is open.
pub fn start(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    settings: &Settings,
    credentials: Option<voddesk::tencent::Credentials>,
    wecom: Option<voddesk::config::WeComCredentials>,
) -> Started {
    let launch = backend::Launch {
        settings: settings.clone(),
        credentials,
        wecom,
    };
    let supervised = backend::supervise(
        runtime.handle(),
        dir.to_path_buf(),
        launch.clone(),
        Duration::from_millis(200),
        Arc::new(|| {}),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (mode, commands) = loop {
        match &*supervised.status.borrow() {
            backend::BackendStatus::Running(connected) => {
                break (connected.mode.clone(), connected.commands.clone());
            }
            backend::BackendStatus::Unavailable { problem, .. } => {
                assert!(std::time::Instant::now() < deadline, "{problem:?}");
            }
            backend::BackendStatus::Starting => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the queue never opened"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    Started {
        link: EngineLink {
            events: supervised.events,
            status: supervised.status,
            retry: supervised.retry,
        },
        launch,
        mode,
        commands,
    }
}

/// The runtime the engine and the app's background jobs run on, two workers as on CI.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The demo-mode app with WeChat Work chosen as where added files go, saving copies into
/// `copies` without a file dialog.
fn wecom_harness(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    settings: Settings,
    started: Started,
    copies: &std::path::Path,
) -> Harness<'static, VodDeskApp> {
    let copies = copies.to_path_buf();
    let mut harness = demo_harness(
        runtime,
        dir,
        settings,
        started,
        Box::new(|_: &str, _: &str| {}),
        |app| app.save_copies_to(copies),
    );
    harness.get_by_label("WeChat Work").click();
    harness.run();
    harness
}

/// The app over a started backend, in a 1280×800 harness with the CJK font; `setup` adjusts
/// the app before the first frame.
fn demo_harness(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    settings: Settings,
    started: Started,
    notifier: voddesk::gui::app::Notifier,
    setup: impl FnOnce(&mut VodDeskApp),
) -> Harness<'static, VodDeskApp> {
    let mut app = VodDeskApp::new(AppInit {
        link: started.link,
        handle: runtime.handle().clone(),
        settings,
        env_overrides: Vec::new(),
        env: |_| None,
        data_dir: dir.to_path_buf(),
        credential_store: CredentialStore::file_only(dir),
        key_status: KeyStatus::None,
        wecom_status: SecretStatus::None,
        launch: started.launch,
        cjk_font: true,
        system_lang: Lang::En,
        notifier,
    });
    setup(&mut app);
    harness(app, 1280.0, 800.0)
}

#[test]
fn demo_mode_uploads_dropped_files_to_the_embedded_emulator() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::default();
    let started = start(&runtime, dir.path(), &settings, None, None);
    assert!(
        matches!(started.mode, BackendMode::Demo { .. }),
        "{:?}",
        started.mode
    );

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
    let mut harness = demo_harness(
        &runtime,
        dir.path(),
        settings,
        started,
        Box::new(move |summary: &str, _: &str| {
            recorded.lock().unwrap().push(summary.to_owned());
        }),
        |_| {},
    );

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

    // "Test connection" in demo mode says the built-in emulator is what answers, not a key.
    harness.get_by_label("Settings").click();
    harness.run();
    harness.get_by_label("Test connection").click();
    harness.run();
    harness.get_by_label_contains("built-in emulator on this computer answers");
}

/// The toolbar's "WeChat Work" choice: dropped files of any type go to the demo emulator's
/// WeCom as temporary media, each as the type it fits, and the details show the media_id and
/// the expiry; the media fetched back are the files. Switching back sends files to VOD.
#[test]
fn demo_mode_sends_dropped_files_to_wechat_work_when_chosen() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::default();
    let started = start(&runtime, dir.path(), &settings, None, None);
    let BackendMode::Demo { url } = started.mode.clone() else {
        panic!("not demo mode: {:?}", started.mode);
    };

    let media = dir.path().join("for wecom");
    std::fs::create_dir_all(&media).unwrap();
    let files = [
        ("海报.png", 200 << 10),
        ("clip.mp4", 3 << 20),
        ("季度报告.pdf", 1 << 20),
        ("empty.txt", 0),
    ];
    for (name, size) in files {
        let bytes: Vec<u8> = (0..size).map(|i: u32| (i % 253) as u8).collect();
        std::fs::write(media.join(name), bytes).unwrap();
    }
    let video = dir.path().join("talk.mp4");
    std::fs::write(&video, vec![7u8; 1 << 20]).unwrap();

    let copies = dir.path().join("copies");
    let mut harness = wecom_harness(&runtime, dir.path(), settings, started, &copies);
    // Where they go is said: no application is set up, so the demo emulator's WeCom.
    harness.get_by_label_contains("temporary media (kept 3 days)");
    harness.get_by_label_contains("not to a real WeChat Work application");
    harness.input_mut().dropped_files = vec![Arc::new(Dropped(media.clone()))];
    wait_for(&mut harness, Duration::from_secs(60), |h| {
        let rows = h.state().model().rows();
        rows.len() == 3
            && rows
                .iter()
                .all(|r| matches!(r.snap.state, ItemState::Done { .. }))
    });
    harness.run();
    // The empty file is reported, not queued.
    harness.get_by_label("· 1 empty file");
    for kind in ["WeCom image", "WeCom video", "WeCom file"] {
        assert!(harness.query_by_label(kind).is_some(), "no row says {kind}");
    }
    harness.get_by_label("clip.mp4").click();
    harness.run();
    harness.get_by_label("Copy media_id");
    harness.get_by_label("Expires");
    assert!(harness.query_by_label("Copy FileId").is_none());
    // "Save a copy" fetches the media back under the server's file name.
    harness.get_by_label("Save a copy…").click();
    let copy = copies.join("clip.mp4");
    wait_for(&mut harness, Duration::from_secs(30), |h| {
        h.query_by_label_contains("Saved a copy:").is_some()
    });
    assert!(std::fs::read(&copy).unwrap() == std::fs::read(media.join("clip.mp4")).unwrap());

    let client = voddesk::wecom::WeComClient::new(
        reqwest::Client::new(),
        &url,
        voddesk::emulator::DEMO_WECOM_CORP_ID,
        voddesk::emulator::DEMO_WECOM_SECRET,
    );
    let back = dir.path().join("back");
    std::fs::create_dir(&back).unwrap();
    for row in harness.state().model().rows() {
        let ItemState::Done {
            file_id,
            expires_at: Some(expires_at),
            ..
        } = &row.snap.state
        else {
            panic!("{:?}", row.snap.state);
        };
        let in_three_days = chrono::Utc::now().timestamp() + 3 * 24 * 3600;
        assert!((expires_at - in_three_days).abs() < 120, "{expires_at}");
        let saved = runtime
            .block_on(client.download(file_id, &back.join(&row.name)))
            .unwrap();
        assert!(
            std::fs::read(&saved).unwrap() == std::fs::read(&row.snap.path).unwrap(),
            "{}",
            row.name
        );
    }

    // Back to VOD: the next file is a VOD upload with a FileId.
    harness.get_by_label("Cloud VOD").click();
    harness.run();
    harness.input_mut().dropped_files = vec![Arc::new(Dropped(video.clone()))];
    wait_for(&mut harness, Duration::from_secs(60), |h| {
        let rows = h.state().model().rows();
        rows.len() == 4
            && rows
                .iter()
                .all(|r| matches!(r.snap.state, ItemState::Done { .. }))
    });
    harness.get_by_label("talk.mp4").click();
    harness.run();
    harness.get_by_label("Copy FileId");
}

/// The user's own WeChat Work application (an emulator that accepts only `corp`/`secret`),
/// settings naming it, and a backend started in demo mode (no API key) with it in `dir`.
fn demo_with_users_app(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    corp: &str,
    secret: &str,
) -> (crate::emulator_support::TestEmulator, Settings, Started) {
    let users_app = runtime.block_on(crate::emulator_support::start_with(|config| {
        config.wecom_corp_id = corp.into();
        config.wecom_secret = secret.into();
    }));
    let settings = Settings {
        wecom_endpoint: users_app.base.clone(),
        wecom_corp_id: corp.into(),
        ..Settings::default()
    };
    let started = start(
        runtime,
        dir,
        &settings,
        None,
        Some(voddesk::config::WeComCredentials {
            corp_id: corp.into(),
            secret: secret.into(),
        }),
    );
    assert!(
        matches!(started.mode, BackendMode::Demo { .. }),
        "{:?}",
        started.mode
    );
    (users_app, settings, started)
}

/// Demo mode (no API key) with a WeChat Work application configured: WeChat Work files go to
/// that application — here a second emulator with a CorpID and secret of its own — not to the
/// demo emulator, and the hint line names it; "Save a copy…" fetches from it too.
#[test]
fn demo_mode_sends_wechat_work_files_to_the_configured_application() {
    const CORP: &str = "wwusersown0corp01";
    const SECRET: &str = "the-users-own-app-secret";
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (users_app, settings, started) = demo_with_users_app(&runtime, dir.path(), CORP, SECRET);
    let file = dir.path().join("季度报告.pdf");
    std::fs::write(&file, vec![5u8; 300 << 10]).unwrap();
    let copies = dir.path().join("copies");
    let mut harness = wecom_harness(&runtime, dir.path(), settings, started, &copies);
    harness.get_by_label_contains(&format!("your WeChat Work application: {CORP}"));
    assert!(
        harness
            .query_by_label_contains("not to a real WeChat Work application")
            .is_none()
    );
    harness.get_by_label_contains("WeChat Work files go to your WeChat Work application");
    harness.input_mut().dropped_files = vec![Arc::new(Dropped(file.clone()))];
    wait_for(&mut harness, Duration::from_secs(60), |h| {
        let rows = h.state().model().rows();
        rows.len() == 1 && matches!(rows[0].snap.state, ItemState::Done { .. })
    });
    let ItemState::Done { file_id, .. } = harness.state().model().rows()[0].snap.state.clone()
    else {
        unreachable!()
    };
    let client =
        voddesk::wecom::WeComClient::new(reqwest::Client::new(), &users_app.base, CORP, SECRET);
    let back = dir.path().join("back.pdf");
    runtime
        .block_on(client.download(&file_id, &back))
        .unwrap_or_else(|err| panic!("not in the user's application: {err}"));
    assert!(std::fs::read(&back).unwrap() == std::fs::read(&file).unwrap());

    harness.get_by_label("季度报告.pdf").click();
    harness.run();
    harness.get_by_label("Save a copy…").click();
    wait_for(&mut harness, Duration::from_secs(30), |h| {
        h.query_by_label_contains("Saved a copy:").is_some()
    });
    assert!(std::fs::read(copies.join("季度报告.pdf")).unwrap() == std::fs::read(&file).unwrap());
}

/// With an API key (not demo mode), the app's engine uploads WeChat Work items to the
/// application it is given (settings' CorpID and the saved secret); without one, such items
/// are refused with what to set.
#[test]
fn with_a_key_wechat_work_items_go_to_the_configured_application() {
    use voddesk::engine::api::{Command, Destination, Event, ItemOptions, NewItem, WeComMediaType};
    let runtime = runtime();
    let emu = runtime.block_on(crate::emulator_support::start());
    let file = emu.dir.path().join("议程.pdf");
    std::fs::write(&file, vec![9u8; 300 << 10]).unwrap();
    let settings = Settings {
        vod_endpoint: emu.base.clone(),
        cos_endpoint: emu.base.clone(),
        ugc_endpoint: emu.base.clone(),
        wecom_endpoint: emu.base.clone(),
        wecom_corp_id: voddesk::emulator::DEMO_WECOM_CORP_ID.into(),
        ..Settings::default()
    };
    let item = NewItem {
        path: file.clone(),
        destination: Destination::WeCom(WeComMediaType::File),
        options: ItemOptions::default(),
    };
    for configured in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let wecom = configured.then(|| voddesk::config::WeComCredentials {
            corp_id: voddesk::emulator::DEMO_WECOM_CORP_ID.into(),
            secret: voddesk::emulator::DEMO_WECOM_SECRET.into(),
        });
        let mut started = start(
            &runtime,
            dir.path(),
            &settings,
            Some(crate::emulator_support::demo_credentials()),
            wecom,
        );
        assert!(
            matches!(started.mode, BackendMode::Cloud),
            "{:?}",
            started.mode
        );
        started
            .commands
            .blocking_send(Command::Add(vec![item.clone()]))
            .unwrap();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), async {
                loop {
                    match started.link.events.recv().await.unwrap() {
                        Event::StateChanged {
                            state: state @ (ItemState::Done { .. } | ItemState::Failed(_)),
                            ..
                        } => return Ok(state),
                        Event::Rejected { reason, .. } => return Err(reason),
                        _ => {}
                    }
                }
            })
            .await
            .unwrap()
        });
        if configured {
            let Ok(ItemState::Done {
                file_id,
                expires_at: Some(_),
                ..
            }) = outcome
            else {
                panic!("{outcome:?}");
            };
            let client = voddesk::wecom::WeComClient::new(
                reqwest::Client::new(),
                &emu.base,
                voddesk::emulator::DEMO_WECOM_CORP_ID,
                voddesk::emulator::DEMO_WECOM_SECRET,
            );
            let back = dir.path().join("back.pdf");
            runtime.block_on(client.download(&file_id, &back)).unwrap();
            assert!(std::fs::read(&back).unwrap() == std::fs::read(&file).unwrap());
        } else {
            let message = match outcome {
                Err(reason) => reason,
                Ok(ItemState::Failed(err)) => err.message,
                Ok(other) => panic!("{other:?}"),
            };
            assert!(message.contains("CorpID and secret"), "{message}");
        }
        started.commands.blocking_send(Command::Shutdown).ok();
    }
}

/// Files sent to WeChat Work in demo mode before an application was set up went to the demo
/// emulator; once one is set up (still no API key, so still demo mode), "Save a copy" still
/// fetches them, from the emulator that keeps them (that new files go to the application is
/// `demo_mode_sends_wechat_work_files_to_the_configured_application`).
#[test]
fn demo_files_stay_fetchable_after_an_application_is_set_up() {
    const CORP: &str = "wwusersown0corp02";
    const SECRET: &str = "another-users-app-secret";
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let copies = dir.path().join("copies");
    let file = dir.path().join("会议纪要.pdf");
    std::fs::write(
        &file,
        (0..300u32 << 10)
            .map(|i| (i % 241) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();

    // First run: no application, so the demo emulator's WeCom gets the file.
    {
        let started = start(&runtime, dir.path(), &Settings::default(), None, None);
        assert!(matches!(started.mode, BackendMode::Demo { .. }));
        let mut harness =
            wecom_harness(&runtime, dir.path(), Settings::default(), started, &copies);
        harness.input_mut().dropped_files = vec![Arc::new(Dropped(file.clone()))];
        wait_for(&mut harness, Duration::from_secs(60), |h| {
            let rows = h.state().model().rows();
            rows.len() == 1 && matches!(rows[0].snap.state, ItemState::Done { .. })
        });
        // Quit, as the window's close does.
        eframe::App::on_exit(harness.state_mut());
    }

    // The first run's engine lets go of the queue.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while voddesk::engine::is_running(&dir.path().join("demo")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first engine never stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Second run: the user's own application is set up.
    let (_users_app, settings, started) = demo_with_users_app(&runtime, dir.path(), CORP, SECRET);
    let mut harness = wecom_harness(&runtime, dir.path(), settings, started, &copies);
    harness.get_by_label_contains(&format!("your WeChat Work application: {CORP}"));
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.state().model().rows().len() == 1
    });
    harness.get_by_label("会议纪要.pdf").click();
    harness.run();
    harness.get_by_label("Save a copy…").click();
    wait_for(&mut harness, Duration::from_secs(30), |h| {
        h.query_by_label_contains("Saved a copy:").is_some()
            || h.query_by_label_contains("Could not save").is_some()
    });
    assert!(
        harness.query_by_label_contains("Saved a copy:").is_some(),
        "the copy was not saved"
    );
    assert!(std::fs::read(copies.join("会议纪要.pdf")).unwrap() == std::fs::read(&file).unwrap());
}
