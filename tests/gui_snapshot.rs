//! A small image snapshot of the Chinese queue, rendered with wgpu (the Mesa software
//! renderer on CI).

use egui_kittest::kittest::Queryable as _;
use voddesk::engine::api::{Event, ItemState, Progress};
use voddesk::gui::i18n::Lang;

use crate::gui_support::{app, snapshot};

#[test]
fn chinese_queue_snapshot() {
    let (mut harness, fake) = app(Lang::Zh);
    harness.set_size(egui::vec2(900.0, 260.0));
    let dir = std::path::Path::new("/videos");
    let mut uploading = snapshot(
        1,
        &dir.join("发布会 回放.mp4"),
        ItemState::Uploading {
            parts_done: 2,
            parts_total: 5,
        },
    );
    uploading.progress = Progress {
        bytes_done: 4 << 20,
        in_flight: 0,
        bytes_total: 10 << 20,
        speed: 2_097_152.0,
        eta: Some(std::time::Duration::from_secs(3)),
        stalled: None,
    };
    fake.send(Event::Loaded(vec![
        uploading,
        snapshot(2, &dir.join("访谈 第三集.mkv"), ItemState::Paused),
        snapshot(3, &dir.join("talk.mp4"), ItemState::Queued),
    ]));
    harness.run();
    harness.get_by_label("访谈 第三集.mkv");
    harness.snapshot("queue_zh");
}
