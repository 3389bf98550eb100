//! The window tells the truth: no upload shown that did not happen while the queue cannot
//! open, counts that keep moving, waiting, paused and cancelled apart, files in without
//! drag-and-drop, refusals in the user's language, Undo for Remove, and a small screen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::{Command, Event, ItemState, Progress, PublishState};
use voddesk::gui::backend::{self, BackendMode, WeComRoute};
use voddesk::gui::i18n::Lang;
use voddesk::gui::link::EngineLink;
use voddesk::gui::{AppInit, KeyStatus, SecretStatus, VodDeskApp};
use voddesk::settings::Settings;
use voddesk::settings::credentials::CredentialStore;

use crate::gui_support::{Dropped, app, app_with_link, harness, snapshot, wait_for};

const WAIT: Duration = Duration::from_secs(20);

/// The app over a real supervised backend (cloud mode with a made-up key: nothing is sent
/// at start) for the data directory `dir`, retrying only when asked.
fn supervised_app(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> Harness<'static, VodDeskApp> {
    let launch = backend::Launch {
        settings: Settings {
            vod_endpoint: "http://127.0.0.1:9".into(),
            cos_endpoint: "http://127.0.0.1:9".into(),
            ugc_endpoint: "http://127.0.0.1:9".into(),
            ..Settings::default()
        },
        credentials: Some(voddesk::tencent::Credentials::new(
            "AKIDexample0001",
            "secret-key-1",
        )),
        wecom: None,
    };
    let supervised = backend::supervise(
        runtime.handle(),
        dir.to_path_buf(),
        launch.clone(),
        Duration::from_secs(3600),
        Arc::new(|| {}),
    );
    let mut app = VodDeskApp::new(AppInit {
        link: EngineLink {
            events: supervised.events,
            status: supervised.status,
            retry: supervised.retry,
        },
        handle: runtime.handle().clone(),
        settings: launch.settings.clone(),
        env_overrides: Vec::new(),
        env: |_| None,
        data_dir: dir.to_path_buf(),
        credential_store: CredentialStore::file_only(dir),
        key_status: KeyStatus::None,
        wecom_status: SecretStatus::None,
        launch,
        cjk_font: true,
        system_lang: Lang::En,
        notifier: Box::new(|_: &str, _: &str| {}),
    });
    app.use_builtin_browser();
    harness(app, 1024.0, 600.0)
}

/// Another process (here: this test, as a `voddesk upload` would) holds the queue: the window
/// says who and what to do, takes no file and shows no upload; once the queue is free, "Try
/// again now" opens it.
#[test]
fn while_another_process_holds_the_queue_nothing_is_uploaded_and_retry_opens_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lock = std::fs::File::create(dir.path().join("engine.lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(dir.path().join("engine.lock"), "pid=4242\nrole=upload\n").unwrap();
    let video = dir.path().join("talk.mp4");
    std::fs::write(&video, vec![1u8; 4096]).unwrap();

    let mut harness = supervised_app(&runtime, dir.path());
    wait_for(&mut harness, WAIT, |h| {
        h.query_by_label_contains("A `voddesk upload` command")
            .is_some()
    });
    harness.get_by_label_contains("process 4242");
    harness.get_by_label_contains("Let it finish, or stop it");
    harness.get_by_label_contains("Trying again every 3 seconds");
    // A dropped file is not taken in: nothing could upload it.
    harness.input_mut().dropped_files = vec![Arc::new(Dropped(video.clone()))];
    harness.run();
    harness.get_by_label_contains("nothing was added");
    assert!(harness.state().model().rows().is_empty());
    assert!(harness.query_by_label("Add files…").is_some());

    drop(lock);
    harness.get_by_label("Try again now").click();
    wait_for(&mut harness, WAIT, |h| {
        h.query_by_label_contains("The queue is empty").is_some()
    });
    harness.input_mut().dropped_files = vec![Arc::new(Dropped(video))];
    wait_for(&mut harness, WAIT, |h| h.state().model().rows().len() == 1);
    // The endpoint is a closed port: the item never reaches Done.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        harness.step();
        assert!(
            !harness
                .state()
                .model()
                .rows()
                .iter()
                .any(|r| matches!(r.snap.state, ItemState::Done { .. })),
            "an upload that did not happen is shown as done"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eframe::App::on_exit(harness.state_mut());
}

/// A queue database that is not one: the window says so, names the file and what to do.
#[test]
fn a_broken_database_is_said_with_its_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(voddesk::store::DB_FILE), vec![0x5au8; 8192]).unwrap();
    let mut harness = supervised_app(&runtime, dir.path());
    wait_for(&mut harness, WAIT, |h| {
        h.query_by_label_contains("The queue database cannot be opened")
            .is_some()
    });
    harness.get_by_label_contains("queue.sqlite3.broken");
    assert!(harness.state().model().rows().is_empty());
}

/// Moving, waiting, paused, failed and cancelled are counted apart in the tabs, the status
/// bar, the window title and the end-of-queue notification.
#[test]
fn counts_keep_moving_waiting_paused_and_cancelled_apart() {
    let (mut harness, fake) = app(Lang::En);
    let dir = std::path::Path::new("/videos");
    let mut moving = snapshot(
        1,
        &dir.join("moving.mp4"),
        ItemState::Uploading {
            parts_done: 1,
            parts_total: 4,
        },
    );
    moving.progress = Progress {
        bytes_done: 1 << 20,
        bytes_total: 10 << 20,
        speed: 1_000_000.0,
        eta: None,
        stalled: None,
        in_flight: 0,
    };
    fake.send(Event::Loaded(vec![
        moving,
        snapshot(2, &dir.join("wait1.mp4"), ItemState::Queued),
        snapshot(3, &dir.join("wait2.mp4"), ItemState::Queued),
        snapshot(4, &dir.join("held.mp4"), ItemState::Paused),
        snapshot(5, &dir.join("gone.mp4"), ItemState::Cancelled),
    ]));
    harness.run();
    for tab in [
        "All (5)",
        "Uploading (1)",
        "Queued (2)",
        "Paused (1)",
        "Done (0)",
        "Failed (0)",
        "Cancelled (1)",
    ] {
        harness.get_by_label(tab);
    }
    // The status bar.
    for count in [
        "1 uploading",
        "2 queued",
        "1 paused",
        "0 failed",
        "1 cancelled",
    ] {
        harness.get_by_label_contains(count);
    }
    let mut totals = harness.state_mut().model_totals();
    let title = voddesk::gui::view_model::window_title(&totals, Lang::En.texts());
    assert!(
        title.contains("(1 uploading, 2 queued, 1 paused)"),
        "{title}"
    );
    harness.get_by_label("Paused (1)").click();
    harness.run();
    harness.get_by_label("held.mp4");
    assert!(harness.query_by_label("wait1.mp4").is_none());
    harness.get_by_label("Cancelled (1)").click();
    harness.run();
    harness.get_by_label("gone.mp4");
    assert!(harness.query_by_label("held.mp4").is_none());

    // Paused and waiting are no longer "moving" once the upload finishes.
    fake.send(Event::StateChanged {
        id: 1,
        state: ItemState::Done {
            file_id: "f1".into(),
            media_url: "u".into(),
            cover_url: None,
            expires_at: None,
        },
    });
    fake.send(Event::StateChanged {
        id: 2,
        state: ItemState::Paused,
    });
    fake.send(Event::StateChanged {
        id: 3,
        state: ItemState::Paused,
    });
    fake.send(Event::Idle);
    harness.run();
    totals = harness.state_mut().model_totals();
    assert_eq!((totals.active, totals.queued, totals.paused), (0, 0, 3));
    let notes = fake.notes.lock().unwrap().clone();
    assert!(
        notes.iter().any(|(_, body)| body.contains("1 done")
            && body.contains("1 cancelled")
            && body.contains("3 paused")),
        "{notes:?}"
    );
}

/// Without drag-and-drop or a system dialog: "Add files…" opens the built-in browser, which
/// lists a folder off the UI thread; the file picked there is added.
#[test]
fn the_built_in_file_browser_adds_a_file() {
    let (mut harness, mut fake) = app(Lang::En);
    let folder = fake.dir.path().join("素材");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("talk.mp4"), vec![3u8; 2048]).unwrap();
    harness.get_by_label("Add files…").click();
    // The first folder is read off the UI thread; a spinner shows until it is.
    wait_for(&mut harness, WAIT, |h| {
        h.query_by_label("Location").is_some() && h.query_by_label("Reading the folder…").is_none()
    });
    harness.run();
    let location = harness.get_by_label("Location");
    location.focus();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Location")
        .type_text(&folder.display().to_string());
    harness.run();
    harness.get_by_label("Go").click();
    wait_for(&mut harness, WAIT, |h| {
        h.query_by_label_contains("talk.mp4").is_some()
    });
    harness.get_by_label("sub/");
    harness.get_by_label_contains("talk.mp4").click();
    harness.run();
    harness.get_by_label("Add selected (1)").click();
    let mut added = None;
    wait_for(&mut harness, WAIT, |_| {
        for command in fake.take_commands() {
            if let Command::Add(items) = command {
                added = Some(items);
            }
        }
        added.is_some()
    });
    let added = added.unwrap();
    assert_eq!(added.len(), 1);
    assert!(
        added[0].path.ends_with("素材/talk.mp4"),
        "{:?}",
        added[0].path
    );
    assert!(
        harness.query_by_label("Add selected (1)").is_none(),
        "the browser closed"
    );
}

/// "Paste paths…": a list of paths, quoted or as file:// URLs, is added.
#[test]
fn pasted_paths_are_added() {
    let (mut harness, mut fake) = app(Lang::En);
    let file = fake.dir.path().join("a b.mp4");
    std::fs::write(&file, vec![3u8; 2048]).unwrap();
    harness.get_by_label("Paste paths…").click();
    harness.run();
    harness
        .get_by_label("Paste or type the paths of files or folders, one per line.")
        .focus();
    harness.run();
    harness
        .get_by_label("Paste or type the paths of files or folders, one per line.")
        .type_text(&format!("\"{}\"", file.display()));
    harness.run();
    harness.get_by_label("Add these").click();
    let mut added = None;
    wait_for(&mut harness, WAIT, |_| {
        for command in fake.take_commands() {
            if let Command::Add(items) = command {
                added = Some(items);
            }
        }
        added.is_some()
    });
    assert_eq!(added.unwrap()[0].path.file_name().unwrap(), "a b.mp4");
}

/// A WeChat Work file over its limit is a refused item in the queue, its rule in Chinese,
/// and it goes when dismissed.
#[test]
fn a_refusal_is_an_item_naming_the_rule_in_chinese() {
    let (mut harness, _fake) = app(Lang::Zh);
    let fake = _fake;
    fake.send(Event::Rejected {
        path: "/media/大文件.bin".into(),
        reason: "/media/大文件.bin: WeCom files must be at most 20 MB".into(),
    });
    harness.run();
    harness.get_by_label("大文件.bin");
    harness.get_by_label("已拒绝");
    harness.get_by_label("失败 (1)");
    harness.get_by_label("大文件.bin").click();
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("企业微信文件不能超过 20 MB")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("WeCom files must")
            .is_none()
    );
    harness.get_by_label("移除 大文件.bin").click();
    harness.run();
    assert!(harness.query_by_label("大文件.bin").is_none());
}

/// Remove hides the row at once and offers Undo; Undo brings it back and nothing is sent;
/// left alone, the removal is sent when its time is over.
#[test]
fn remove_can_be_undone() {
    let (mut harness, mut fake) = app(Lang::En);
    harness
        .state_mut()
        .set_undo_time(Duration::from_millis(600));
    fake.send(Event::Loaded(vec![snapshot(
        1,
        std::path::Path::new("/videos/a.mp4"),
        ItemState::Done {
            file_id: "f1".into(),
            media_url: "u".into(),
            cover_url: None,
            expires_at: None,
        },
    )]));
    harness.run();
    harness.get_by_label("Remove a.mp4").click();
    harness.run();
    assert!(harness.query_by_label("a.mp4").is_none());
    harness.get_by_label_contains("Removed: a.mp4");
    harness.get_by_label("Undo").click();
    harness.run();
    harness.get_by_label("a.mp4");
    std::thread::sleep(Duration::from_millis(700));
    harness.run();
    assert!(
        fake.take_commands().is_empty(),
        "an undone removal was sent"
    );

    harness.get_by_label("Remove a.mp4").click();
    harness.run();
    std::thread::sleep(Duration::from_millis(700));
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Remove(1)]);
}

/// At 1024×600 every action of an item is on screen without scrolling sideways, and a
/// published video's controls, URL and QR code are on screen without scrolling; a suspended
/// one still shows them, marked. Delete names the file and says it cannot be undone.
#[test]
fn a_small_screen_shows_every_action_and_the_publication() {
    let (mut harness, fake) = app_with_link(Lang::En, 1024.0, 600.0, |commands, events| {
        EngineLink::connected(
            commands,
            events,
            BackendMode::Demo {
                url: "http://127.0.0.1:9".into(),
            },
            WeComRoute::Emulator,
        )
    });
    let mut published = snapshot(
        1,
        std::path::Path::new("/videos/a fairly long file name of a talk.mp4"),
        ItemState::Done {
            file_id: "5285890799999999999".into(),
            media_url: "http://127.0.0.1:9/vod/a.mp4".into(),
            cover_url: Some("http://127.0.0.1:9/vod/a.jpg".into()),
            expires_at: None,
        },
    );
    published.publish = PublishState::Published {
        url: "http://127.0.0.1:9/wechat/5285890799999999999".into(),
        definition: 0,
    };
    fake.send(Event::Loaded(vec![
        published,
        snapshot(2, std::path::Path::new("/videos/b.mp4"), ItemState::Paused),
    ]));
    harness.run();
    let inside = |rect: egui::Rect| rect.max.x <= 1024.0 && rect.max.y <= 600.0;
    for action in ["Resume b.mp4", "Cancel b.mp4", "Remove b.mp4"] {
        let rect = harness.get_by_label(action).rect();
        assert!(inside(rect), "{action} at {rect:?}");
    }
    harness
        .get_by_label("a fairly long file name of a talk.mp4")
        .click();
    harness.run();
    for label in [
        "QR code of the publishing URL",
        "Copy URL",
        "Save QR as PNG",
        "Open in browser",
        "Suspend",
        "Delete…",
    ] {
        let rect = harness.get_by_label(label).rect();
        assert!(inside(rect), "{label} at {rect:?}");
    }
    harness.get_by_label_contains("http://127.0.0.1:9/wechat/");
    harness.snapshot("publish_1024x600");

    fake.send(Event::PublishChanged {
        id: 1,
        publish: PublishState::Suspended {
            url: "http://127.0.0.1:9/wechat/5285890799999999999".into(),
        },
    });
    harness.run();
    harness.get_by_label_contains("Suspended: the URL and QR code do not play");
    assert!(inside(
        harness.get_by_label("QR code of the publishing URL").rect()
    ));
    assert!(inside(harness.get_by_label("Restore").rect()));

    harness.get_by_label("Delete…").click();
    harness.run();
    harness.get_by_label_contains(
        "“a fairly long file name of a talk.mp4” (FileId 5285890799999999999)",
    );
    harness.get_by_label_contains("This cannot be undone.");
}

/// Every row's action of the Chinese UI fits 1024 pixels too (the snapshot shows it; a
/// Chinese refusal is `a_refusal_is_an_item_naming_the_rule_in_chinese`).
#[test]
fn the_chinese_queue_fits_a_small_screen() {
    let (mut harness, fake) = app_with_link(Lang::Zh, 1024.0, 600.0, |commands, events| {
        EngineLink::connected(commands, events, BackendMode::Cloud, WeComRoute::NotSetUp)
    });
    fake.send(Event::Loaded(vec![
        snapshot(
            1,
            std::path::Path::new("/v/发布会 回放.mp4"),
            ItemState::Paused,
        ),
        snapshot(
            2,
            std::path::Path::new("/v/访谈.mkv"),
            ItemState::Uploading {
                parts_done: 1,
                parts_total: 3,
            },
        ),
    ]));
    harness.run();
    for action in [
        "继续 发布会 回放.mp4",
        "取消 发布会 回放.mp4",
        "移除 发布会 回放.mp4",
        "暂停 访谈.mkv",
    ] {
        let rect = harness.get_by_label(action).rect();
        assert!(rect.max.x <= 1024.0, "{action} at {rect:?}");
    }
    harness.snapshot("queue_zh_1024x600");
}
