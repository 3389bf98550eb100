//! The WeChat publishing section and the Library window, through the accessibility tree with
//! a fake worker.

use std::time::Duration;

use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::{
    Command, Event, ItemState, LibraryAction, LibraryEntry, LibraryPage, PublishState, UserError,
};
use voddesk::gui::i18n::Lang;

use crate::gui_support::{app, click_and_copied, snapshot, wait_for};

const WAIT: Duration = Duration::from_secs(10);

fn done(id: i64) -> ItemState {
    ItemState::Done {
        file_id: format!("52858907{id:05}"),
        media_url: "http://127.0.0.1:1/m.mp4".into(),
        cover_url: None,
        expires_at: None,
    }
}

#[test]
fn publish_review_published_suspend_and_confirmed_delete() {
    let (mut harness, mut fake) = app(Lang::En);
    let dir = fake.dir.path().to_path_buf();
    fake.send(Event::Loaded(vec![snapshot(
        1,
        &dir.join("clip.mp4"),
        done(1),
    )]));
    harness.run();
    harness.get_by_label("clip.mp4").click();
    harness.run();
    harness.get_by_label("Publish to WeChat").click();
    harness.run();
    let commands = fake.take_commands();
    assert!(
        commands.contains(&Command::Publish {
            id: 1,
            definition: None
        }),
        "{commands:?}"
    );

    fake.send(Event::PublishChanged {
        id: 1,
        publish: PublishState::UnderReview {
            task_id: "t".into(),
            since: chrono::Utc::now().timestamp() - 65,
            definition: 100_030,
        },
    });
    harness.run();
    harness.get_by_label("Under review (can take up to 4 hours)");
    harness.get_by_label_contains("elapsed 1:0");

    let url = "http://127.0.0.1:9/wechat/5285890700001";
    fake.send(Event::PublishChanged {
        id: 1,
        publish: PublishState::Published {
            url: url.into(),
            definition: 100_030,
        },
    });
    harness.run();
    harness.get_by_label(url);
    harness.get_by_label("QR code of the publishing URL");
    assert_eq!(
        click_and_copied(&mut harness, "Copy URL"),
        vec![url.to_owned()]
    );
    harness.get_by_label("Suspend").click();
    harness.run();
    assert!(fake.take_commands().contains(&Command::Suspend {
        id: 1,
        suspend: true
    }));

    fake.send(Event::PublishChanged {
        id: 1,
        publish: PublishState::Suspended { url: url.into() },
    });
    harness.run();
    harness.get_by_label("Suspended: the URL and QR code do not play until you restore them.");
    // Suspended, the URL and its QR code stay on screen, marked as such.
    harness.get_by_label(url);
    harness.get_by_label("QR code of the publishing URL");
    harness.get_by_label("Restore").click();
    harness.run();
    assert!(fake.take_commands().contains(&Command::Suspend {
        id: 1,
        suspend: false
    }));

    // Delete asks first; cancelling sends nothing, confirming sends DeleteMedia.
    harness.get_by_label("Delete…").click();
    harness.run();
    harness.get_by_label_contains("This cannot be undone.");
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(!fake.take_commands().contains(&Command::DeleteMedia(1)));
    harness.get_by_label("Delete…").click();
    harness.run();
    harness.get_by_label("Delete for good").click();
    harness.run();
    assert!(fake.take_commands().contains(&Command::DeleteMedia(1)));
    fake.send(Event::PublishChanged {
        id: 1,
        publish: PublishState::Deleted,
    });
    harness.run();
    harness.get_by_label("Deleted from VOD: its URLs no longer work.");
}

#[test]
fn refusals_are_explained_in_chinese_with_the_request_id() {
    let (mut harness, fake) = app(Lang::Zh);
    let dir = fake.dir.path().to_path_buf();
    let mut snap = snapshot(1, &dir.join("发布会.mp4"), done(1));
    snap.publish = PublishState::Rejected(UserError {
        message: "VOD refused publishing to WeChat".into(),
        code: Some("FailedOperation.NoPrivileges".into()),
        request_id: Some("req-42".into()),
        retryable: false,
    });
    fake.send(Event::Loaded(vec![snap]));
    harness.run();
    harness.get_by_label("发布会.mp4").click();
    harness.run();
    harness.get_by_label_contains("实名认证");
    harness.get_by_label_contains("RequestId req-42");
    harness.get_by_label("重新发布");
}

#[test]
fn library_lists_pages_and_acts_on_files_of_others() {
    let (mut harness, mut fake) = app(Lang::En);
    harness.get_by_label("Library").click();
    // Stepped, not run: the window shows a spinner until the first page arrives.
    let mut asked = false;
    wait_for(&mut harness, WAIT, |_| {
        asked |= fake
            .take_commands()
            .iter()
            .any(|c| matches!(c, Command::SearchLibrary { offset: 0, .. }));
        asked
    });
    let entry = |n: u32, publish: PublishState| LibraryEntry {
        file_id: format!("99{n}"),
        name: format!("someone else's clip {n}"),
        status: "Normal".into(),
        create_time: "2026-11-21T10:00:00Z".into(),
        category: "Video".into(),
        media_url: String::new(),
        cover_url: String::new(),
        publish,
    };
    fake.send(Event::Library(LibraryPage {
        name: None,
        offset: 0,
        total: 45,
        entries: vec![
            entry(1, PublishState::NotPublished),
            entry(
                2,
                PublishState::Published {
                    url: "http://x/wechat/992".into(),
                    definition: 0,
                },
            ),
        ],
    }));
    harness.run();
    harness.get_by_label("someone else's clip 1");
    harness.get_by_label("45 files in the account");
    harness.get_by_label("Publish to WeChat").click();
    harness.run();
    harness.get_by_label("Suspend").click();
    harness.run();
    let commands = fake.take_commands();
    assert!(commands.contains(&Command::Library {
        file_id: "991".into(),
        action: LibraryAction::Publish(None)
    }));
    assert!(commands.contains(&Command::Library {
        file_id: "992".into(),
        action: LibraryAction::Suspend
    }));
    harness.get_by_label("Next page").click();
    let mut next = false;
    wait_for(&mut harness, WAIT, |_| {
        next |= fake
            .take_commands()
            .iter()
            .any(|c| matches!(c, Command::SearchLibrary { offset: 20, .. }));
        next
    });
    fake.send(Event::Library(LibraryPage {
        name: None,
        offset: 20,
        total: 45,
        entries: vec![entry(
            2,
            PublishState::Published {
                url: "http://x/wechat/992".into(),
                definition: 0,
            },
        )],
    }));
    harness.run();
    harness.get_by_label("Previous page");
    fake.send(Event::LibraryUpdated(Box::new(entry(
        2,
        PublishState::Suspended {
            url: "http://x/wechat/992".into(),
        },
    ))));
    harness.run();
    harness.get_by_label("Restore");
}
