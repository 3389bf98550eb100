//! Items whose destination is WeChat Work, through the engine against the emulator: each type
//! lands byte-identical with its `media_id` and expiry, the limits refuse before sending, an
//! outage is retried, and the same file can go to VOD and WeChat Work side by side.

use std::path::Path;
use std::time::Duration;

use voddesk::config::WeComCredentials;
use voddesk::emulator::{self, Faults};
use voddesk::engine::EngineHandle;
use voddesk::engine::api::{
    Command, Destination, Event, ItemId, ItemOptions, ItemState, NewItem, UploadFlow,
    WeComMediaType,
};
use voddesk::wecom::WeComClient;

use crate::support::*;

const LONG: Duration = Duration::from_secs(60);

fn engine_with_wecom(base: &str, dir: &Path) -> EngineHandle {
    let mut config = engine_config(base, dir, UploadFlow::ClientUpload);
    config.service.wecom = Some(WeComCredentials {
        corp_id: emulator::DEMO_WECOM_CORP_ID.to_owned(),
        secret: emulator::DEMO_WECOM_SECRET.to_owned(),
    });
    start(config)
}

fn to(path: &Path, destination: Destination) -> NewItem {
    NewItem {
        path: path.to_path_buf(),
        destination,
        options: ItemOptions::default(),
    }
}

/// Adds `items`; returns the ids added and the rejections, each by its file's name.
async fn add(
    engine: &mut EngineHandle,
    items: Vec<NewItem>,
) -> (Vec<ItemId>, Vec<(String, String)>) {
    let count = items.len();
    engine.send(Command::Add(items)).await.unwrap();
    let (mut ids, mut rejected) = (Vec::new(), Vec::new());
    events_until(engine, LONG, |event| {
        match event {
            Event::Added(snapshot) => ids.push(snapshot.id),
            Event::Rejected { path, reason } => rejected.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                reason.clone(),
            )),
            _ => {}
        }
        ids.len() + rejected.len() == count
    })
    .await;
    (ids, rejected)
}

fn media(state: &ItemState) -> (String, i64) {
    match state {
        ItemState::Done {
            file_id,
            media_url,
            expires_at: Some(expires_at),
            ..
        } => {
            assert!(media_url.is_empty(), "WeCom media has no URL: {media_url}");
            (file_id.clone(), *expires_at)
        }
        other => panic!("not done with an expiry: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_type_lands_whole_and_the_limits_refuse_before_sending() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path();
    let video = tmp_file(files, "周会 clip.mp4", 300_000, 1);
    let image = tmp_file(files, "cover shot.png", 40_000, 2);
    let report = tmp_file(files, "季度报告.pdf", 3 * MIB, 3);
    let big = tmp_file(files, "long.mp4", 11 * MIB, 4);
    let tiny = tmp_file(files, "tiny.txt", 5, 5);
    let mut engine = engine_with_wecom(&emu.base, &files.join("data"));
    let (ids, mut rejected) = add(
        &mut engine,
        vec![
            to(&video, Destination::WeCom(WeComMediaType::Video)),
            to(&image, Destination::WeCom(WeComMediaType::Image)),
            to(&report, Destination::WeCom(WeComMediaType::File)),
            to(&big, Destination::WeCom(WeComMediaType::Video)),
            to(&tiny, Destination::WeCom(WeComMediaType::File)),
            to(&report, Destination::WeCom(WeComMediaType::Voice)),
            // The same file to VOD as well: a second item, not the first one again.
            to(&video, Destination::Vod),
        ],
    )
    .await;
    rejected.sort();
    assert_eq!(ids.len(), 4, "{rejected:?}");
    let reasons: Vec<&str> = rejected.iter().map(|(_, reason)| reason.as_str()).collect();
    assert_eq!(rejected[0].0, "long.mp4");
    assert!(reasons[0].contains("at most 10 MB"), "{reasons:?}");
    assert_eq!(rejected[1].0, "tiny.txt");
    assert!(reasons[1].contains("larger than 5 bytes"), "{reasons:?}");
    assert_eq!(rejected[2].0, "季度报告.pdf");
    assert!(reasons[2].contains("AMR"), "{reasons:?}");

    let states = finish(&mut engine, &ids, LONG).await;
    let now = chrono::Utc::now().timestamp();
    let client = WeComClient::new(
        reqwest::Client::new(),
        &emu.base,
        emulator::DEMO_WECOM_CORP_ID,
        emulator::DEMO_WECOM_SECRET,
    );
    let back = files.join("back");
    std::fs::create_dir(&back).unwrap();
    for (id, path) in ids[..3].iter().zip([&video, &image, &report]) {
        let (media_id, expires_at) = media(&states[id]);
        assert!(
            (expires_at - now - 3 * 24 * 3600).abs() < 60,
            "{expires_at}"
        );
        let saved = client
            .download(&media_id, &back.join(path.file_name().unwrap()))
            .await
            .unwrap();
        assert!(
            std::fs::read(&saved).unwrap() == std::fs::read(path).unwrap(),
            "{}",
            path.display()
        );
    }
    let (_, media_url, _) = done_urls(&states[&ids[3]]);
    assert_same(&media_url, &video).await;

    // Publishing is VOD's: a WeChat Work item is refused with a reason.
    engine
        .send(Command::Publish {
            id: ids[0],
            definition: None,
        })
        .await
        .unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::Notice { id, message } if *id == ids[0] && message.contains("WeChat Work"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_waited_out_and_missing_credentials_are_refused() {
    let emu = emulator(Faults {
        outage: true,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = tmp_file(dir.path(), "clip.mp4", 100_000, 7);
    let mut engine = engine_with_wecom(&emu.base, &dir.path().join("data"));
    let (ids, rejected) = add(
        &mut engine,
        vec![to(&file, Destination::WeCom(WeComMediaType::Video))],
    )
    .await;
    assert!(rejected.is_empty(), "{rejected:?}");
    // Retrying while the service answers 503 pages, then through once it is back.
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::Progress { id, progress } if *id == ids[0] && progress.stalled.is_some())
    })
    .await;
    emu.handle.update_faults(|faults| faults.outage = false);
    let states = finish(&mut engine, &ids, LONG).await;
    media(&states[&ids[0]]);
    engine.shutdown().await;

    // An engine without the application's credentials refuses the item up front.
    let mut config = engine_config(
        &emu.base,
        &dir.path().join("data2"),
        UploadFlow::ClientUpload,
    );
    config.service.wecom = None;
    let mut engine = start(config);
    let (ids, rejected) = add(
        &mut engine,
        vec![to(&file, Destination::WeCom(WeComMediaType::Video))],
    )
    .await;
    assert!(ids.is_empty());
    assert!(rejected[0].1.contains("CorpID"), "{rejected:?}");
}

/// Queues `file` for WeChat Work as a video and returns the progress values shown until it is
/// done.
/// (acknowledged, on the wire) of every progress event until the item is done.
async fn progress_until_done(engine: &mut EngineHandle, file: &Path) -> Vec<(u64, u64)> {
    let (ids, rejected) = add(
        engine,
        vec![to(file, Destination::WeCom(WeComMediaType::Video))],
    )
    .await;
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut seen = Vec::new();
    let mut done = false;
    events_until(engine, LONG, |event| {
        match event {
            Event::Progress { id, progress } if *id == ids[0] && !done => {
                seen.push((progress.bytes_done, progress.in_flight));
            }
            Event::StateChanged {
                id,
                state: ItemState::Done { .. },
            } if *id == ids[0] => done = true,
            _ => {}
        }
        done
    })
    .await;
    seen
}

/// A WeCom upload shows its bytes on the wire as it is sent (not nothing until the end),
/// and progress only when WeCom has answered: WeCom confirms nothing before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_moves_while_the_file_is_sent_and_progress_waits_for_wecom() {
    let emu = emulator(Faults {
        bandwidth: Some(4 << 20),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // Larger than what the loopback's socket buffers take in at once.
    let size = 9 << 20;
    let file = tmp_file(dir.path(), "clip.mp4", size, 3);
    let mut engine = engine_with_wecom(&emu.base, &dir.path().join("data"));
    let seen = progress_until_done(&mut engine, &file).await;
    let mut midway: Vec<u64> = seen
        .iter()
        .map(|&(_, wire)| wire)
        .filter(|&wire| wire > 0 && wire < size)
        .collect();
    midway.dedup();
    assert!(midway.len() >= 3, "the wire while sending: {seen:?}");
    assert!(
        seen.iter().all(|&(done, _)| done == 0 || done == size),
        "progress before WeCom answered: {seen:?}"
    );
    assert_eq!(seen.last().map(|&(done, _)| done), Some(size), "{seen:?}");
}

/// WeCom answers only after it has read the whole body (here a scripted server that waits
/// 1.5 s more): until then the progress leaves out the last stretch that socket buffers may
/// still hold, not one byte, and the item is done only with WeCom's answer.
/// Uploads a file of `size` bytes to a scripted WeCom whose first `refused` uploads are read
/// whole and then refused for an expired token, and whose next one is answered 1.5 s after
/// its body was read. Returns the progress seen (bytes) and how many uploads were made.
async fn upload_answered_late(refused: usize, size: u64, seed: u64) -> (Vec<(u64, u64)>, usize) {
    use crate::wecom_fake::{self, Reply, Request};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let uploads = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&uploads);
    let fake = wecom_fake::start(move |request: &Request| match request.path.as_str() {
        "/cgi-bin/gettoken" => Reply::token(),
        "/cgi-bin/media/upload" if counted.fetch_add(1, Ordering::SeqCst) < refused => {
            Reply::json(&serde_json::json!({
                "errcode": 42001, "errmsg": "access_token expired"
            }))
        }
        "/cgi-bin/media/upload" => Reply::After(
            Duration::from_millis(1500),
            Box::new(Reply::json(&serde_json::json!({
                "errcode": 0, "errmsg": "ok", "type": "video",
                "media_id": "MEDIA", "created_at": "1700000000"
            }))),
        ),
        _ => Reply::Full {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = tmp_file(dir.path(), "clip.mp4", size, seed);
    let mut engine = engine_with_wecom(&fake.base, &dir.path().join("data"));
    let seen = progress_until_done(&mut engine, &file).await;
    (seen, uploads.load(Ordering::SeqCst))
}

/// The size of the file most uses of [`upload_answered_late`] send.
const UPLOADED: u64 = 3 << 20;

/// The most progress and the most on the wire shown before the answer that made the item
/// done (the last value).
fn before_answer(seen: &[(u64, u64)]) -> (u64, u64) {
    let before = &seen[..seen.len() - 1];
    (
        before.iter().map(|&(done, _)| done).max().unwrap_or(0),
        before.iter().map(|&(_, wire)| wire).max().unwrap_or(0),
    )
}

/// Nothing counts as progress until WeCom answers, for a file of several chunks and for a
/// small one, while its bytes show as on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_counts_as_progress_until_wecom_answers() {
    for (size, seed) in [(UPLOADED, 5), (600 * 1024, 7)] {
        let (seen, _) = upload_answered_late(0, size, seed).await;
        // The last value is the whole file, shown with the answer that made the item done.
        assert_eq!(seen.last().map(|&(done, _)| done), Some(size), "{seen:?}");
        let (done, wire) = before_answer(&seen);
        assert_eq!(done, 0, "progress before WeCom answered: {seen:?}");
        assert!(wire > 0, "nothing on the wire while waiting: {seen:?}");
    }
}

/// A token WeCom refuses after reading the whole body: the file is sent again with a new
/// token, nothing of the refused attempt counts as done, and the item is done with the
/// second answer. (Whether the wire count restarts cannot be seen here: what is shown on the
/// wire is capped at what is left of the file.)
#[tokio::test]
async fn a_refused_token_sends_the_file_again_and_counts_only_the_answer() {
    let (seen, uploads) = upload_answered_late(1, UPLOADED, 6).await;
    assert_eq!(uploads, 2);
    assert_eq!(
        seen.last().map(|&(done, _)| done),
        Some(UPLOADED),
        "{seen:?}"
    );
    let (done, _) = before_answer(&seen);
    assert_eq!(done, 0, "{seen:?}");
}
