//! The queue model: events in, rows, views and totals out.

use super::*;
use crate::engine::api::{ItemOptions, Progress, UserError};
use std::path::PathBuf;

fn snap(id: ItemId, name: &str, state: ItemState) -> ItemSnapshot {
    ItemSnapshot {
        id,
        path: PathBuf::from(format!("/videos/{name}")),
        size: 1000,
        destination: Destination::Vod,
        options: ItemOptions::default(),
        state,
        progress: Progress::default(),
        publish: PublishState::NotPublished,
        created_at: id,
    }
}

fn progress(done: u64) -> Progress {
    Progress {
        bytes_done: done,
        in_flight: 0,
        bytes_total: 1000,
        speed: 100.0,
        eta: None,
        stalled: None,
    }
}

#[test]
fn progress_never_goes_backwards_within_an_attempt() {
    let mut model = QueueModel::new();
    model.apply(Event::Added(Box::new(snap(1, "a.mp4", ItemState::Queued))));
    model.apply(Event::Progress {
        id: 1,
        progress: progress(600),
    });
    model.apply(Event::Progress {
        id: 1,
        progress: progress(400),
    });
    assert_eq!(model.row(1).unwrap().shown_done, 600);
    assert!((model.row(1).unwrap().fraction() - 0.6).abs() < 1e-6);
    // After a cancel the next attempt starts from zero, and the bar follows.
    model.apply(Event::StateChanged {
        id: 1,
        state: ItemState::Cancelled,
    });
    model.apply(Event::StateChanged {
        id: 1,
        state: ItemState::Queued,
    });
    model.apply(Event::Progress {
        id: 1,
        progress: progress(100),
    });
    assert_eq!(model.row(1).unwrap().shown_done, 100);
}

#[test]
fn bytes_on_the_way_are_a_segment_apart_from_what_is_done() {
    let mut model = QueueModel::new();
    let uploading = ItemState::Uploading {
        parts_done: 1,
        parts_total: 4,
    };
    model.apply(Event::Added(Box::new(snap(1, "a.mp4", uploading))));
    model.apply(Event::Progress {
        id: 1,
        progress: Progress {
            in_flight: 300,
            ..progress(250)
        },
    });
    let row = model.row(1).unwrap();
    assert!((row.fraction() - 0.25).abs() < 1e-6);
    assert!((row.wire_fraction() - 0.55).abs() < 1e-6);
    // Paused: what was on the way is not shown at all.
    model.apply(Event::StateChanged {
        id: 1,
        state: ItemState::Paused,
    });
    let row = model.row(1).unwrap();
    assert!((row.wire_fraction() - row.fraction()).abs() < 1e-6);
}

#[test]
fn filters_sorting_and_totals() {
    let mut model = QueueModel::new();
    model.apply(Event::Loaded(vec![
        snap(1, "b.mp4", ItemState::Queued),
        snap(
            2,
            "a.mp4",
            ItemState::Done {
                file_id: "f".into(),
                media_url: "u".into(),
                cover_url: None,
                expires_at: None,
            },
        ),
        snap(
            3,
            "c.mp4",
            ItemState::Failed(UserError {
                message: "boom".into(),
                code: None,
                request_id: Some("r".into()),
                retryable: true,
            }),
        ),
        snap(4, "d.mp4", ItemState::Paused),
    ]));
    assert_eq!(model.view(), [0, 1, 2, 3]);
    model.set_filter(Filter::Active);
    assert!(model.view().is_empty());
    model.set_filter(Filter::Queued);
    assert_eq!(model.view(), [0]);
    model.set_filter(Filter::Paused);
    assert_eq!(model.view(), [3]);
    model.set_filter(Filter::Failed);
    assert_eq!(model.view(), [2]);
    model.set_filter(Filter::All);
    model.sort_by(SortKey::Name);
    assert_eq!(model.view(), [1, 0, 2, 3]);
    model.sort_by(SortKey::Name);
    assert_eq!(model.view(), [3, 2, 0, 1]);
    let totals = model.totals();
    assert_eq!(
        (
            totals.count,
            totals.active,
            totals.queued,
            totals.paused,
            totals.done,
            totals.failed
        ),
        (4, 0, 1, 1, 1, 1)
    );
    model.apply(Event::Removed(2));
    assert_eq!(model.rows().len(), 3);
    assert!(model.row(2).is_none());
    assert_eq!(model.row(3).unwrap().name, "c.mp4");
}

#[test]
fn failures_and_the_end_of_the_queue_are_reported_once() {
    let mut model = QueueModel::new();
    model.apply(Event::Added(Box::new(snap(1, "a.mp4", ItemState::Queued))));
    let failed = model.apply(Event::StateChanged {
        id: 1,
        state: ItemState::Failed(UserError {
            message: "no".into(),
            code: None,
            request_id: None,
            retryable: false,
        }),
    });
    assert!(matches!(failed, Some(Happening::Failed { .. })));
    assert_eq!(
        model.apply(Event::Idle),
        Some(Happening::QueueFinished {
            done: 0,
            failed: 1,
            cancelled: 0,
            paused: 0
        })
    );
    assert_eq!(model.apply(Event::Idle), None);
}
