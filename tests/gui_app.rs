//! The desktop app through its accessibility tree, with a fake worker.

use std::sync::Arc;
use std::time::Duration;

use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::{Command, Event, ItemOptions, ItemState, Progress, UserError};
use voddesk::gui::i18n::Lang;
use voddesk::gui::view_model::Filter;

use crate::gui_support::{Dropped, app, app_with_wecom, click_and_copied, snapshot, wait_for};
use voddesk::gui::backend::WeComRoute;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn dropping_files_and_folders_adds_supported_ones_and_reports_the_rest() {
    let (mut harness, mut fake) = app(Lang::En);
    let root = fake.dir.path().join("drop");
    let folder = root.join("第一季");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(root.join("talk.mp4"), b"video bytes").unwrap();
    std::fs::write(root.join("talk.jpg"), b"not really a jpeg").unwrap();
    std::fs::write(folder.join("演讲.mov"), b"video bytes").unwrap();
    std::fs::write(folder.join("music.flac"), b"audio bytes").unwrap();
    std::fs::write(folder.join("readme.txt"), b"text").unwrap();

    harness.input_mut().dropped_files = vec![
        Arc::new(Dropped(root.join("talk.mp4"))),
        Arc::new(Dropped(folder.clone())),
        Arc::new(Dropped(root.join("readme-missing.docx"))),
    ];
    let mut added = None;
    wait_for(&mut harness, WAIT, |_| {
        for command in fake.take_commands() {
            if let Command::Add(items) = command {
                added = Some(items);
            }
        }
        added.is_some()
    });
    let items = added.unwrap();
    let names: Vec<_> = items
        .iter()
        .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["talk.mp4", "music.flac", "演讲.mov"]);
    assert_eq!(items[0].options.cover, Some(root.join("talk.jpg")));

    // The engine answers; the rows appear, Chinese names drawn with the CJK font (the harness
    // panics on a glyph no font has).
    for (id, item) in items.iter().enumerate() {
        fake.send(Event::Added(Box::new(snapshot(
            id as i64 + 1,
            &item.path,
            ItemState::Queued,
        ))));
    }
    harness.run();
    harness.get_by_label("演讲.mov");
    harness.get_by_label("talk.mp4");
    assert_eq!(harness.state().model().rows().len(), 3);
    // The skipped summary names what was left out.
    harness.get_by_label_contains("Some files were not added (2)");
    harness.get_by_label_contains("1 type not supported (.txt)");
    harness.get_by_label_contains("1 cannot be read");

    // Dropped again while still in the queue: sent without the settings' defaults (they would
    // count as new options and start its upload over); a new file gets them.
    std::fs::write(root.join("new.mp4"), b"video bytes").unwrap();
    harness.input_mut().dropped_files = vec![
        Arc::new(Dropped(root.join("talk.mp4"))),
        Arc::new(Dropped(root.join("new.mp4"))),
    ];
    let mut again = None;
    wait_for(&mut harness, WAIT, |_| {
        for command in fake.take_commands() {
            if let Command::Add(items) = command {
                again = Some(items);
            }
        }
        again.is_some()
    });
    let again = again.unwrap();
    let options_of = |name: &str| {
        again
            .iter()
            .find(|i| i.path.ends_with(name))
            .unwrap()
            .options
            .clone()
    };
    assert_eq!(options_of("talk.mp4"), ItemOptions::default());
    assert_ne!(options_of("new.mp4"), ItemOptions::default());
}

#[test]
fn row_buttons_send_commands_and_follow_the_events() {
    let (mut harness, mut fake) = app(Lang::En);
    // Cancel and Remove wait out their undo time (tested in gui_truth); not here.
    harness.state_mut().set_undo_time(Duration::ZERO);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![
        snapshot(
            1,
            &dir.join("a.mp4"),
            ItemState::Uploading {
                parts_done: 1,
                parts_total: 4,
            },
        ),
        snapshot(
            2,
            &dir.join("b.mp4"),
            ItemState::Failed(UserError {
                message: "The key may not upload.".into(),
                code: Some("UnauthorizedOperation".into()),
                request_id: Some("req-123".into()),
                retryable: true,
            }),
        ),
    ]));
    harness.run();

    harness.get_by_label("Pause a.mp4").click();
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Pause(1)]);
    assert!(harness.query_by_label("Resume a.mp4").is_none());

    fake.send(Event::StateChanged {
        id: 1,
        state: ItemState::Paused,
    });
    harness.run();
    harness.get_by_label("Resume a.mp4").click();
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Resume(1)]);

    fake.send(Event::StateChanged {
        id: 1,
        state: ItemState::Queued,
    });
    harness.run();
    harness.get_by_label("Cancel a.mp4").click();
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Cancel(1)]);

    harness.get_by_label("Retry b.mp4").click();
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Retry(2)]);
    harness.get_by_label("Remove b.mp4").click();
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Remove(2)]);
    fake.send(Event::Removed(2));
    harness.run();
    assert!(harness.query_by_label("b.mp4").is_none());

    // Failures are notified.
    fake.send(Event::StateChanged {
        id: 1,
        state: ItemState::Failed(UserError {
            message: "Network down.".into(),
            code: None,
            request_id: Some("req-9".into()),
            retryable: true,
        }),
    });
    harness.run();
    assert!(
        fake.notes
            .lock()
            .unwrap()
            .iter()
            .any(|(s, b)| s.contains("a.mp4") && b.contains("req-9"))
    );

    // Toolbar.
    harness.get_by_label("Pause all").click();
    harness.run();
    harness.get_by_label("Start all").click();
    harness.run();
    assert_eq!(
        fake.take_commands(),
        [Command::PauseAll, Command::ResumeAll]
    );
}

#[test]
fn details_show_the_error_with_its_request_id_and_progress_never_goes_back() {
    let (mut harness, fake) = app(Lang::En);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![
        snapshot(
            1,
            &dir.join("a.mp4"),
            ItemState::Uploading {
                parts_done: 0,
                parts_total: 4,
            },
        ),
        snapshot(
            2,
            &dir.join("b.mp4"),
            ItemState::Failed(UserError {
                message: "The key may not upload.".into(),
                code: Some("UnauthorizedOperation".into()),
                request_id: Some("req-123".into()),
                retryable: false,
            }),
        ),
        snapshot(
            3,
            &dir.join("c.mp4"),
            ItemState::Done {
                file_id: "5285890799999".into(),
                media_url: "http://example.invalid/c.mp4".into(),
                cover_url: None,
                expires_at: None,
            },
        ),
    ]));
    let progress = |done| Progress {
        bytes_done: done,
        in_flight: 0,
        bytes_total: 1000,
        speed: 500.0,
        eta: Some(Duration::from_secs(1)),
        stalled: None,
    };
    fake.send(Event::Progress {
        id: 1,
        progress: progress(600),
    });
    fake.send(Event::Progress {
        id: 1,
        progress: progress(300),
    });
    harness.run();
    let row = harness.state().model().row(1).unwrap();
    assert!((row.fraction() - 0.6).abs() < 1e-6);
    harness.get_by_label_contains("60%");

    harness.get_by_label("b.mp4").click();
    harness.run();
    harness.get_by_label("The key may not upload.");
    harness.get_by_label("req-123");
    harness.get_by_label("Copy RequestId");

    harness.get_by_label("c.mp4").click();
    harness.run();
    harness.get_by_label("5285890799999");
    assert_eq!(
        click_and_copied(&mut harness, "Copy FileId"),
        vec!["5285890799999".to_owned()]
    );
    harness.get_by_label("WeChat publishing");

    // Filter tabs.
    harness.get_by_label("Failed (1)").click();
    harness.run();
    assert_eq!(harness.state().model().filter(), Filter::Failed);
    assert!(harness.query_by_label("a.mp4").is_none());
    harness.get_by_label("b.mp4");
}

#[test]
fn keyboard_space_pauses_and_resumes_delete_removes() {
    let (mut harness, mut fake) = app(Lang::En);
    harness.state_mut().set_undo_time(Duration::ZERO);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![snapshot(
        7,
        &dir.join("k.mp4"),
        ItemState::Queued,
    )]));
    harness.run();
    harness.get_by_label("k.mp4").click();
    harness.run();
    harness.key_press(egui::Key::Space);
    harness.run();
    assert_eq!(fake.take_commands(), [Command::Pause(7)]);
    fake.send(Event::StateChanged {
        id: 7,
        state: ItemState::Paused,
    });
    harness.run();
    harness.key_press(egui::Key::Space);
    harness.run();
    harness.key_press(egui::Key::Delete);
    harness.run();
    assert_eq!(
        fake.take_commands(),
        [Command::Resume(7), Command::Remove(7)]
    );
}

#[test]
fn the_chinese_ui_renders() {
    let (mut harness, fake) = app(Lang::Zh);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![snapshot(
        1,
        &dir.join("发布会 回放.mp4"),
        ItemState::Paused,
    )]));
    harness.run();
    harness.get_by_label("添加文件…");
    harness.get_by_label("全部暂停");
    harness.get_by_label("继续 发布会 回放.mp4");
    harness.get_by_label_contains("演示模式");
    harness.get_by_label("发布会 回放.mp4").click();
    harness.run();
    harness.get_by_label("微信发布");
    // Choosing WeChat Work says where its files go: nowhere yet, no application is set up.
    harness.get_by_label("企业微信").click();
    harness.run();
    harness.get_by_label_contains("未配置企业微信");
}

#[test]
fn options_can_be_edited_before_the_upload_starts() {
    let (mut harness, mut fake) = app(Lang::En);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![snapshot(
        4,
        &dir.join("q.mp4"),
        ItemState::Queued,
    )]));
    harness.run();
    harness.get_by_label("q.mp4").click();
    harness.run();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Media name")
        .set_text_value_accesskit("发布会");
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Class id")
        .set_text_value_accesskit("12");
    harness.run();
    harness.get_by_label("Apply options").click();
    harness.run();
    let commands = fake.take_commands();
    let [Command::UpdateOptions(4, options)] = commands.as_slice() else {
        panic!("expected one UpdateOptions, got {commands:?}");
    };
    assert_eq!(options.media_name.as_deref(), Some("发布会"));
    assert_eq!(options.class_id, Some(12));
}

/// A WeChat Work item's details: its media_id and expiry, no cover or VOD options; once the
/// media has expired, "Upload again" queues the same file for WeChat Work anew.
#[test]
fn expired_wechat_work_media_can_be_uploaded_again() {
    use voddesk::engine::api::{Destination, WeComMediaType};
    for lang in [Lang::En, Lang::Zh] {
        let (mut harness, mut fake) = app(lang);
        let now = chrono::Utc::now().timestamp();
        let path = std::path::Path::new("/media/海报.png");
        let mut fresh = snapshot(
            1,
            std::path::Path::new("/media/clip.mp4"),
            ItemState::Done {
                file_id: "3a8asd892asd8asd".into(),
                media_url: String::new(),
                cover_url: None,
                expires_at: Some(now + 3 * 24 * 3600),
            },
        );
        fresh.destination = Destination::WeCom(WeComMediaType::Video);
        let mut expired = snapshot(
            2,
            path,
            ItemState::Done {
                file_id: "2-G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0".into(),
                media_url: String::new(),
                cover_url: None,
                expires_at: Some(now - 60),
            },
        );
        expired.destination = Destination::WeCom(WeComMediaType::Image);
        fake.send(Event::Loaded(vec![fresh, expired]));
        harness.run();
        let t = lang.texts();
        harness.get_by_label(t.kind_wecom_video);
        harness.get_by_label("clip.mp4").click();
        harness.run();
        harness.get_by_label(&format!("{} {}", t.copy, t.media_id));
        harness.get_by_label(t.expires);
        assert!(harness.query_by_label(t.expired).is_none());
        assert!(harness.query_by_label(t.upload_again).is_none());
        assert!(
            harness.query_by_label(t.cover).is_none(),
            "temporary media have no cover"
        );

        harness.get_by_label("海报.png").click();
        harness.run();
        harness.get_by_label(t.expired);
        fake.take_commands();
        harness.get_by_label(t.upload_again).click();
        harness.run();
        let commands = fake.take_commands();
        let added: Vec<_> = commands
            .iter()
            .filter_map(|command| match command {
                Command::Add(items) => Some(items),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(added.len(), 1, "{commands:?}");
        assert_eq!(added[0].path, path);
        assert_eq!(
            added[0].destination,
            Destination::WeCom(WeComMediaType::Image)
        );
    }
}

/// "Save a copy…" asks the engine for the copy (the window builds no HTTP client): the command
/// names the media and the folder, and the engine's answer is said in the status line, its
/// errcode beside the words (that a broken-off download leaves no partial file is the WeCom
/// client's, tested in `wecom_download`).
#[test]
fn a_copy_is_asked_of_the_engine_and_its_failure_is_said() {
    use voddesk::engine::api::{Destination, UserError, WeComMediaType};
    let (mut harness, mut fake) = app_with_wecom(Lang::En, WeComRoute::Emulator);
    let copies = fake.dir.path().join("copies");
    harness.state_mut().save_copies_to(copies.clone());
    let mut item = snapshot(
        1,
        std::path::Path::new("/media/clip.mp4"),
        ItemState::Done {
            file_id: "MEDIA".into(),
            media_url: String::new(),
            cover_url: None,
            expires_at: Some(chrono::Utc::now().timestamp() + 3600),
        },
    );
    item.destination = Destination::WeCom(WeComMediaType::Video);
    fake.send(Event::Loaded(vec![item]));
    harness.run();
    harness.get_by_label("clip.mp4").click();
    harness.run();
    fake.take_commands();
    harness.get_by_label("Save a copy…").click();
    harness.run();
    let commands = fake.take_commands();
    assert!(
        commands.contains(&Command::SaveWeComCopy {
            media_id: "MEDIA".into(),
            target: copies.clone(),
        }),
        "{commands:?}"
    );
    fake.send(Event::CopySaved {
        media_id: "MEDIA".into(),
        result: Err(UserError {
            message: "The copy could not be saved: WeCom error -1: busy.".into(),
            code: Some("-1".into()),
            request_id: None,
            retryable: true,
        }),
    });
    harness.run();
    harness.get_by_label_contains("Could not save a copy:");
    harness.get_by_label_contains("Code -1");
}
