//! The upload engine against the in-process emulator: both flows, resume, faults, credential
//! lifetimes, pause/resume/cancel, bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use voddesk::emulator::Faults;
use voddesk::engine::EngineHandle;
use voddesk::engine::api::{
    Command, Destination, Event, ItemId, ItemOptions, ItemState, NewItem, UploadFlow,
};

use crate::support::*;

const LONG: Duration = Duration::from_secs(120);

fn new_item(path: &Path, options: ItemOptions) -> NewItem {
    NewItem {
        path: path.to_path_buf(),
        destination: Destination::Vod,
        options,
    }
}

fn parts_of(bytes: u64) -> ItemOptions {
    ItemOptions {
        part_size: Some(bytes),
        ..ItemOptions::default()
    }
}

/// Adds items and returns their ids (in order); panics on a rejection.
async fn add(engine: &mut EngineHandle, items: Vec<NewItem>) -> Vec<ItemId> {
    let count = items.len();
    engine.send(Command::Add(items)).await.unwrap();
    let mut ids = Vec::new();
    events_until(engine, LONG, |event| {
        match event {
            Event::Added(snapshot) => ids.push(snapshot.id),
            Event::Rejected { path, reason } => panic!("rejected {}: {reason}", path.display()),
            _ => {}
        }
        ids.len() == count
    })
    .await;
    ids
}

async fn loaded(engine: &mut EngineHandle) -> Vec<voddesk::engine::api::ItemSnapshot> {
    match engine.recv().await {
        Some(Event::Loaded(items)) => items,
        other => panic!("expected Loaded, got {other:?}"),
    }
}

/// Waits until item `id` has at least `parts` parts done.
async fn until_parts_done(engine: &mut EngineHandle, id: ItemId, parts: u32) {
    events_until(engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Uploading { parts_done, .. } } if *of == id && *parts_done >= parts)
    })
    .await;
}

async fn upload_id_of(emu: &Emu, timeout: Duration) -> String {
    let mut found = None;
    assert!(
        wait_for(
            || {
                found = emu
                    .handle
                    .open_uploads()
                    .unwrap()
                    .into_iter()
                    .next()
                    .map(|u| u.upload_id);
                found.is_some()
            },
            timeout
        )
        .await,
        "no multipart upload appeared"
    );
    found.unwrap()
}

async fn both_flows_round_trip(flow: UploadFlow) {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let small = tmp_file(dir.path(), "讲座 talk one.mp4", 300 * 1024, 1);
    let cover = tmp_file(dir.path(), "讲座 talk one.jpg", 20 * 1024, 2);
    let big = tmp_file(dir.path(), "big file 大文件.mov", 40 * MIB + 123, 3);
    let mut engine = start(engine_config(&emu.base, &dir.path().join("data"), flow));
    assert!(loaded(&mut engine).await.is_empty());
    let ids = add(
        &mut engine,
        vec![
            new_item(&small, ItemOptions::default()),
            new_item(&big, parts_of(2 * MIB)),
        ],
    )
    .await;
    let states = finish(&mut engine, &ids, LONG).await;
    let (file_id, media_url, cover_url) = done_urls(&states[&ids[0]]);
    assert!(!file_id.is_empty());
    assert_same(&media_url, &small).await;
    assert_same(&cover_url.expect("the paired cover was uploaded"), &cover).await;
    let (big_id, big_url, big_cover) = done_urls(&states[&ids[1]]);
    assert_ne!(big_id, file_id);
    assert!(big_cover.is_none());
    assert_same(&big_url, &big).await;
    let counters = emu.handle.counters();
    assert!(counters.action("PutObject") >= 2, "{counters:?}");
    assert!(
        counters.action("CompleteMultipartUpload") >= 1,
        "{counters:?}"
    );
    assert!(emu.handle.open_uploads().unwrap().is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_flow_small_with_cover_and_multipart() {
    both_flows_round_trip(UploadFlow::ClientUpload).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_flow_small_with_cover_and_multipart() {
    both_flows_round_trip(UploadFlow::ServerApi).await;
}

/// Part sizes that are not a multiple of the client's 512 KiB read chunk, so that every
/// part ends on a short chunk: the read of such a chunk once went on into the next part, and
/// every such upload failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_sizes_off_the_read_chunk_arrive_byte_identical() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut engine = start(engine_config(&emu.base, &data, UploadFlow::ClientUpload));
    loaded(&mut engine).await;
    let sizes = [MIB + 1, MIB + MIB / 2 + 7];
    let files: Vec<PathBuf> = (0..sizes.len())
        .map(|i| {
            tmp_file(
                dir.path(),
                &format!("odd parts {i}.mp4"),
                9 * MIB + 333,
                40 + i as u64,
            )
        })
        .collect();
    let items = files
        .iter()
        .zip(sizes)
        .map(|(file, size)| new_item(file, parts_of(size)))
        .collect();
    let ids = add(&mut engine, items).await;
    let states = finish(&mut engine, &ids, LONG).await;
    for (id, file) in ids.iter().zip(&files) {
        let (_, url, _) = done_urls(&states[id]);
        assert_same(&url, file).await;
    }
    engine.shutdown().await;
}

/// Part size 1 MiB, 4 parts in flight, bodies read at `rate` bytes/s each.
fn slow(rate: u64) -> Faults {
    Faults {
        bandwidth: Some(rate),
        ..Faults::default()
    }
}

/// Uploads `file` in 1 MiB parts in the client flow and drops the engine once 12 or more are
/// acknowledged; returns the item's id and its upload id.
async fn upload_then_drop_after_12_parts(
    emu: &Emu,
    data: &Path,
    file: &Path,
) -> (Vec<ItemId>, String) {
    let mut engine = start(engine_config(&emu.base, data, UploadFlow::ClientUpload));
    loaded(&mut engine).await;
    let ids = add(&mut engine, vec![new_item(file, parts_of(MIB))]).await;
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 12)
    })
    .await;
    drop(engine);
    let upload_id = upload_id_of(emu, LONG).await;
    (ids, upload_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_engine_resends_only_parts_in_flight() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "resume me.mp4", 40 * MIB, 4);
    let (ids, upload_id) = upload_then_drop_after_12_parts(&emu, &data, &file).await;

    // A new engine on the same database continues the item by itself.
    let mut engine = start(engine_config(&emu.base, &data, UploadFlow::ClientUpload));
    let items = loaded(&mut engine).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].state, ItemState::Queued);
    assert!(items[0].progress.bytes_done >= 12 * MIB);
    let states = finish(&mut engine, &ids, LONG).await;
    let (_, url, _) = done_urls(&states[&ids[0]]);
    assert_same(&url, &file).await;
    let counters = emu.handle.counters().upload(&upload_id);
    // 40 parts, and at most the 4 that were in flight when the engine went away.
    assert!(counters.part_requests <= 40 + 4, "{counters:?}");
    assert!(counters.bytes_received <= 44 * MIB, "{counters:?}");
    engine.shutdown().await;
}

/// Uploads 40 MiB in 1 MiB parts, drops the engine after 12 or more, and marks the finished
/// parts as only planned again (a crash between the server's answer and the database write):
/// they are on the server, but the database does not say so. When `changed` is set, the
/// first part's bytes in the file are changed too, keeping its size and modification time.
/// Returns the ended state, whether a notice said the upload started over, the COS body bytes
/// the second run sent in the first upload, and the parts the server had before it.
async fn resume_with_parts_unrecorded(changed: bool) -> (ItemState, bool, u64, u64) {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "unrecorded.mp4", 40 * MIB, 9);
    let (ids, upload_id) = upload_then_drop_after_12_parts(&emu, &data, &file).await;
    // The dropped engine's connections close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = voddesk::store::Store::open_in(&data).unwrap();
    let recorded = store.parts(ids[0]).unwrap();
    assert!(recorded.len() >= 12, "{recorded:?}");
    for part in &recorded {
        store
            .plan_part(
                ids[0],
                voddesk::store::PlannedPart {
                    number: part.number,
                    offset: part.offset,
                    size: part.size,
                },
            )
            .unwrap();
    }
    assert!(store.parts(ids[0]).unwrap().is_empty());
    drop(store);
    if changed {
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        for byte in &mut bytes[..4096] {
            *byte ^= 0x5a;
        }
        std::fs::write(&file, &bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
    let before = emu.handle.counters().upload(&upload_id);

    let mut engine = start(engine_config(&emu.base, &data, UploadFlow::ClientUpload));
    loaded(&mut engine).await;
    let mut started_over = false;
    let mut ended = None;
    events_until(&mut engine, LONG, |event| {
        match event {
            Event::Notice { message, .. } if message.contains("over") => started_over = true,
            Event::StateChanged { id, state } if *id == ids[0] => {
                if matches!(state, ItemState::Done { .. } | ItemState::Failed(_)) {
                    ended = Some(state.clone());
                }
            }
            _ => {}
        }
        ended.is_some()
    })
    .await;
    engine.shutdown().await;
    let state = ended.unwrap();
    if let ItemState::Done { media_url, .. } = &state {
        assert_same(media_url, &file).await;
    }
    let after = emu.handle.counters().upload(&upload_id);
    (
        state,
        started_over,
        after.bytes_received - before.bytes_received,
        before.parts_completed,
    )
}

/// The parts are kept by their size and the file's CRC-64 there, and the whole object's
/// CRC-64 at Complete vouches for them: none is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_the_database_lost_are_kept_when_the_object_proves_them() {
    let (state, started_over, sent, on_server) = resume_with_parts_unrecorded(false).await;
    assert!(matches!(state, ItemState::Done { .. }), "{state:?}");
    assert!(!started_over);
    assert!(on_server >= 12, "{on_server}");
    assert_eq!(
        sent,
        (40 - on_server) * MIB,
        "only the parts the server lacked"
    );
}

/// The file's first part changed under the same size and time: the kept parts do not make
/// the file, the whole object's CRC-64 says so, and the upload starts over and ends with
/// the file as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_part_that_is_not_the_file_starts_the_upload_over() {
    let (state, started_over, _, _) = resume_with_parts_unrecorded(true).await;
    assert!(matches!(state, ItemState::Done { .. }), "{state:?}");
    assert!(started_over, "a notice says the upload started over");
}

/// Uploads a file of `size` bytes in the server API flow with `options`, its bodies read at
/// `rate` bytes/s each, and returns (acknowledged, in flight) of every progress event of the
/// item, the one sent with the state that ends it included.
async fn progress_of(rate: u64, size: u64, options: ItemOptions, seed: u64) -> Vec<(u64, u64)> {
    let emu = emulator(slow(rate)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = tmp_file(dir.path(), "progress.mp4", size, seed);
    let mut engine = start(engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ServerApi,
    ));
    loaded(&mut engine).await;
    let ids = add(&mut engine, vec![new_item(&file, options)]).await;
    let mut shown = Vec::new();
    events_until(&mut engine, LONG, |event| {
        if let Event::Progress { id, progress } = event
            && *id == ids[0]
        {
            shown.push((progress.bytes_done, progress.in_flight));
        }
        matches!(event, Event::StateChanged { id, state: ItemState::Done { .. } } if *id == ids[0])
    })
    .await;
    // The progress sent with the state that ends the item.
    while let Ok(Some(Event::Progress { progress, .. })) =
        tokio::time::timeout(Duration::from_secs(2), engine.recv()).await
    {
        shown.push((progress.bytes_done, progress.in_flight));
    }
    engine.shutdown().await;
    shown
}

/// Progress is what the server acknowledged: whole parts, never bytes still on their way,
/// and it never goes back. The bytes on their way are reported apart, and they move within
/// a part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_counts_acknowledged_parts_and_shows_the_wire_apart() {
    let size = 16 * MIB;
    // Parts larger than what the loopback's socket buffers take in at once.
    let shown = progress_of(4 * MIB, size, parts_of(8 * MIB), 9).await;
    let done: Vec<u64> = shown.iter().map(|&(done, _)| done).collect();
    assert!(
        done.windows(2).all(|w| w[0] <= w[1]),
        "went back: {shown:?}"
    );
    assert_eq!(done.last(), Some(&size), "{shown:?}");
    assert!(
        done.iter().all(|&bytes| bytes % (8 * MIB) == 0),
        "progress showed bytes no part acknowledged: {shown:?}"
    );
    let moving: Vec<u64> = shown
        .iter()
        .map(|&(_, wire)| wire)
        .filter(|&wire| wire > 0 && wire % (8 * MIB) != 0)
        .collect();
    assert!(!moving.is_empty(), "nothing shown on the wire: {shown:?}");
}

/// A file sent in one request shows its bytes on the wire before the answer, and progress
/// only once the server has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_file_shows_its_bytes_on_the_wire_before_its_answer() {
    let size = 600 * 1024;
    let shown = progress_of(256 * 1024, size, ItemOptions::default(), 10).await;
    assert!(
        shown.iter().any(|&(done, wire)| done == 0 && wire > 0),
        "nothing shown on the wire before the answer: {shown:?}"
    );
    assert!(
        shown.iter().all(|&(done, _)| done == 0 || done == size),
        "progress before the answer: {shown:?}"
    );
}

/// Uploads `small` (one request) and `big` (1 MiB parts) in each flow, with a fresh engine
/// each, and checks that both objects are byte-identical.
async fn small_and_big_in_both_flows(base: &str, dir: &Path, small: &Path, big: &Path) {
    for flow in [UploadFlow::ClientUpload, UploadFlow::ServerApi] {
        let data = dir.join(format!("data-{flow:?}"));
        let mut engine = start(engine_config(base, &data, flow));
        loaded(&mut engine).await;
        let ids = add(
            &mut engine,
            vec![
                new_item(small, ItemOptions::default()),
                new_item(big, parts_of(MIB)),
            ],
        )
        .await;
        let states = finish(&mut engine, &ids, LONG).await;
        for (id, path) in ids.iter().zip([small, big]) {
            let (_, url, _) = done_urls(&states[id]);
            assert_same(&url, path).await;
        }
        engine.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_end_byte_identical() {
    let emu = emulator(Faults {
        upload_error_rate: 0.15,
        cut_rate: 0.05,
        api_error_rate: 0.10,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let small = tmp_file(dir.path(), "faulty small.mp4", 500 * 1024, 5);
    let big = tmp_file(dir.path(), "faulty big.mp4", 24 * MIB + 7, 6);
    small_and_big_in_both_flows(&emu.base, dir.path(), &small, &big).await;
    let counters = emu.handle.counters();
    // 25 parts of 1 MiB in each of the two flows are 50 UploadPart requests without a fault;
    // with 15 % failing and 5 % cut, some are sent again.
    assert!(
        counters.action("UploadPart") > 50,
        "faults caused resends: {counters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_ten_minutes_off_is_corrected() {
    for offset in [600, -600] {
        let emu = emulator(Faults {
            clock_offset_secs: offset,
            ..Faults::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let small = tmp_file(dir.path(), "skew.mp4", 100 * 1024, 7);
        let big = tmp_file(dir.path(), "skew big.mp4", 10 * MIB, 8);
        small_and_big_in_both_flows(&emu.base, dir.path(), &small, &big).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_certificates_are_renewed_in_client_flow() {
    let emu = emulator(Faults {
        cert_lifetime: Duration::from_secs(3),
        bandwidth: Some(2 * MIB),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // About 7 s at 4 × 2 MiB/s: longer than two certificate lifetimes.
    let file = tmp_file(dir.path(), "long upload.mp4", 56 * MIB, 9);
    let mut engine = start(engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    ));
    loaded(&mut engine).await;
    let ids = add(&mut engine, vec![new_item(&file, parts_of(2 * MIB))]).await;
    let states = finish(&mut engine, &ids, LONG).await;
    let (_, url, _) = done_urls(&states[&ids[0]]);
    assert_same(&url, &file).await;
    let applies = emu.handle.counters().action("ApplyUploadUGC");
    assert!(
        applies >= 3,
        "expected renewals, saw {applies} ApplyUploadUGC calls"
    );
    engine.shutdown().await;
}

/// The server API flow cannot renew a certificate: an upload that outlasts one fails with the
/// way out (the client-upload flow), rather than starting over to run out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_longer_than_the_certificate_server_flow_says_what_to_do() {
    let emu = emulator(Faults {
        cert_lifetime: Duration::from_secs(2),
        bandwidth: Some(2 * MIB),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // About 4 s at 4 × 2 MiB/s: twice the certificate's life.
    let file = tmp_file(dir.path(), "long upload.mp4", 32 * MIB, 19);
    let mut engine = start(engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ServerApi,
    ));
    loaded(&mut engine).await;
    let id = add(&mut engine, vec![new_item(&file, parts_of(2 * MIB))]).await[0];
    let mut failure = None;
    events_until(&mut engine, LONG, |event| match event {
        Event::StateChanged {
            id: of,
            state: ItemState::Failed(err),
        } if *of == id => {
            failure = Some(err.clone());
            true
        }
        Event::StateChanged {
            id: of,
            state: ItemState::Done { .. },
        } if *of == id => {
            panic!("finished on a certificate that ran out")
        }
        _ => false,
    })
    .await;
    let failure = failure.unwrap();
    assert!(
        failure
            .message
            .contains("longer than the temporary certificate")
            && failure.message.contains("client-upload flow")
            && failure.retryable,
        "{failure:?}"
    );
    assert_eq!(
        emu.handle.counters().action("ApplyUpload"),
        1,
        "no session was started over only to run out again"
    );
    engine.shutdown().await;
}

async fn pause_longer_than_certificate(flow: UploadFlow) -> Vec<Event> {
    let emu = emulator(Faults {
        cert_lifetime: Duration::from_secs(2),
        bandwidth: Some(8 * MIB),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = tmp_file(dir.path(), "paused.mp4", 24 * MIB, 10);
    let mut engine = start(engine_config(&emu.base, &dir.path().join("data"), flow));
    loaded(&mut engine).await;
    let ids = add(&mut engine, vec![new_item(&file, parts_of(MIB))]).await;
    let id = ids[0];
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 4)
    })
    .await;
    let paused_at = std::time::Instant::now();
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: i, state: ItemState::Paused } if *i == id)
    })
    .await;
    assert!(
        paused_at.elapsed() < Duration::from_secs(1),
        "pause took {:?}",
        paused_at.elapsed()
    );
    let upload_id = upload_id_of(&emu, LONG).await;
    let kept = emu.handle.open_uploads().unwrap()[0].parts.len();
    assert!(kept >= 4, "finished parts are kept while paused");
    // Longer than the certificate lives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    engine.send(Command::Resume(id)).await.unwrap();
    let events = events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: i, state: ItemState::Done { .. } | ItemState::Failed(_) } if *i == id)
    })
    .await;
    let Some(Event::StateChanged { state, .. }) = events.last() else {
        unreachable!()
    };
    let (_, url, _) = done_urls(state);
    assert_same(&url, &file).await;
    let open = emu.handle.open_uploads().unwrap();
    if flow == UploadFlow::ClientUpload {
        let counters = emu.handle.counters().upload(&upload_id);
        assert!(counters.part_requests <= 24 + 4, "{counters:?}");
        // The same upload went on and was completed: nothing is left open.
        assert!(open.is_empty(), "{open:?}");
    } else {
        // The server API flow started over; the old upload's abort needs the certificate
        // that ran out, so the service removes it in time.
        assert!(open.len() <= 1, "{open:?}");
    }
    engine.shutdown().await;
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_longer_than_certificate_client_flow_resumes() {
    let events = pause_longer_than_certificate(UploadFlow::ClientUpload).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Notice { message, .. } if message.contains("over"))),
        "the client flow renews and continues: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_longer_than_certificate_server_flow_restarts_with_notice() {
    let events = pause_longer_than_certificate(UploadFlow::ServerApi).await;
    assert!(
        events.iter().any(|e| matches!(e, Event::Notice { message, .. } if message.contains("certificate") && message.contains("over"))),
        "the server flow says it restarts"
    );
}

/// A resume point older than a day (the service's SDKs keep one no longer) is not trusted: the
/// upload starts over, says so, and the old multipart upload is aborted rather than resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_point_older_than_a_day_starts_over_and_says_so() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "paused for two days.mp4", 12 * MIB, 41);
    let flow = UploadFlow::ClientUpload;
    let mut engine = start(engine_config(&emu.base, &data, flow));
    loaded(&mut engine).await;
    let id = add(&mut engine, vec![new_item(&file, parts_of(MIB))]).await[0];
    until_parts_done(&mut engine, id, 3).await;
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Paused } if *of == id)
    })
    .await;
    let old_upload = upload_id_of(&emu, LONG).await;
    engine.shutdown().await;
    // A part sent just before the pause may reach the emulator's counter a little later (on a
    // loaded machine): count once it has settled.
    let mut parts_before = emu.handle.counters().upload(&old_upload).part_requests;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = emu.handle.counters().upload(&old_upload).part_requests;
        if now == parts_before {
            break;
        }
        parts_before = now;
    }
    // Two days pass.
    let db = rusqlite::Connection::open(data.join(voddesk::store::DB_FILE)).unwrap();
    let changed = db
        .execute(
            "UPDATE sessions SET created_at = created_at - 2 * 86400 WHERE item_id = ?1",
            [id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    emu.handle.update_faults(|f| f.bandwidth = None);

    let mut engine = start(engine_config(&emu.base, &data, flow));
    loaded(&mut engine).await;
    engine.send(Command::Resume(id)).await.unwrap();
    let events = events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Done { .. } | ItemState::Failed(_) } if *of == id)
    })
    .await;
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Notice { id: of, message } if *of == id
            && message.contains("more than a day old")
            && message.contains("starting the upload over"))
        ),
        "{events:?}"
    );
    let Some(Event::StateChanged { state, .. }) = events.last() else {
        unreachable!()
    };
    let (_, url, _) = done_urls(state);
    assert_same(&url, &file).await;
    assert_eq!(
        emu.handle.counters().upload(&old_upload).part_requests,
        parts_before,
        "the old upload was resumed"
    );
    assert!(
        emu.handle.open_uploads().unwrap().is_empty(),
        "the old upload was left on the server"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_leaves_nothing_and_pause_resume_keeps_parts() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let a = tmp_file(dir.path(), "cancel me.mp4", 20 * MIB, 11);
    let mut engine = start(engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    ));
    loaded(&mut engine).await;
    let ids = add(&mut engine, vec![new_item(&a, parts_of(MIB))]).await;
    let id = ids[0];
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 3)
    })
    .await;
    // Pause, resume: finished parts stay.
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, LONG, |e| {
        matches!(
            e,
            Event::StateChanged {
                state: ItemState::Paused,
                ..
            }
        )
    })
    .await;
    let upload_id = upload_id_of(&emu, LONG).await;
    let before = emu.handle.open_uploads().unwrap()[0].parts.len();
    assert!(before >= 3);
    engine.send(Command::Resume(id)).await.unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done as usize >= before + 2)
    })
    .await;
    let same = emu.handle.open_uploads().unwrap();
    assert_eq!(same.len(), 1);
    assert_eq!(
        same[0].upload_id, upload_id,
        "resume continues the same upload"
    );
    // Cancel: the multipart upload is aborted on the server.
    engine.send(Command::Cancel(id)).await.unwrap();
    events_until(&mut engine, LONG, |e| {
        matches!(
            e,
            Event::StateChanged {
                state: ItemState::Cancelled,
                ..
            }
        )
    })
    .await;
    assert!(emu.handle.open_uploads().unwrap().is_empty());
    // Retry starts again and finishes; Remove forgets it.
    engine.send(Command::Retry(id)).await.unwrap();
    let states = finish(&mut engine, &ids, LONG).await;
    let (_, url, _) = done_urls(&states[&id]);
    assert_same(&url, &a).await;
    engine.send(Command::Remove(id)).await.unwrap();
    events_until(
        &mut engine,
        LONG,
        |e| matches!(e, Event::Removed(i) if *i == id),
    )
    .await;
    engine.shutdown().await;
}

/// Cancel during an outage: the abort fails, the item is cancelled all the same, and the
/// multipart upload is aborted on the next start, once the service answers again. Both flows:
/// the client-upload flow renews its certificate for the abort, the server API flow uses the
/// one it kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_the_outage_stopped_is_done_on_the_next_start() {
    for flow in [UploadFlow::ClientUpload, UploadFlow::ServerApi] {
        let emu = emulator(slow(4 * MIB)).await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = tmp_file(dir.path(), "cancelled offline.mp4", 20 * MIB, 21);
        let mut engine = start(engine_config(&emu.base, &data, flow));
        loaded(&mut engine).await;
        let id = add(&mut engine, vec![new_item(&a, parts_of(MIB))]).await[0];
        events_until(&mut engine, LONG, |event| {
            matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 2)
        })
        .await;
        let upload_id = upload_id_of(&emu, LONG).await;
        emu.handle.update_faults(|f| f.outage = true);
        engine.send(Command::Cancel(id)).await.unwrap();
        let mut notice = None;
        events_until(&mut engine, LONG, |event| {
            if let Event::Notice { id: of, message } = event
                && *of == id
            {
                notice = Some(message.clone());
            }
            matches!(event, Event::StateChanged { id: of, state: ItemState::Cancelled } if *of == id)
        })
        .await;
        let notice = notice.expect("the failed abort is told");
        assert!(
            notice.contains("could not be removed") && notice.contains("next starts"),
            "{flow:?}: {notice}"
        );
        let open = emu.handle.open_uploads().unwrap();
        assert_eq!(open.len(), 1, "{flow:?}: the outage kept the upload");
        assert_eq!(open[0].upload_id, upload_id);
        engine.shutdown().await;

        // The next start, with the service back: the upload goes, and so does the reminder.
        emu.handle.update_faults(|f| f.outage = false);
        let mut engine = start(engine_config(&emu.base, &data, flow));
        let items = loaded(&mut engine).await;
        assert!(matches!(items[0].state, ItemState::Cancelled));
        let store = voddesk::store::Store::open_in(&data).unwrap();
        assert!(
            wait_for(
                || emu.handle.open_uploads().unwrap().is_empty()
                    && store.leftovers().unwrap().is_empty(),
                LONG
            )
            .await,
            "{flow:?}: the leftover upload was not aborted"
        );
        engine.shutdown().await;
    }
}

/// The app killed while a cancel is under way: the item stays cancelled (it is never
/// resumed) and its upload is aborted on the next start. Killed during the abort, and killed
/// before the job had even stopped (the state is then all there is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_cut_short_by_a_crash_is_finished_on_the_next_start() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = voddesk::store::Store::open_in(&data).unwrap();
    let flow = UploadFlow::ClientUpload;
    for (round, during_abort) in [(0, true), (1, false)] {
        let file = tmp_file(
            dir.path(),
            &format!("cancel {round}.mp4"),
            20 * MIB,
            30 + round,
        );
        let mut engine = start(engine_config(&emu.base, &data, flow));
        loaded(&mut engine).await;
        let id = add(&mut engine, vec![new_item(&file, parts_of(MIB))]).await[0];
        until_parts_done(&mut engine, id, 2).await;
        let upload_id = upload_id_of(&emu, LONG).await;
        if during_abort {
            // Every request now hangs: the abort cannot finish before the crash.
            emu.handle
                .update_faults(|f| f.latency = Duration::from_secs(120));
            engine.send(Command::Cancel(id)).await.unwrap();
            // The job stops and the abort begins (the upload is then a leftover).
            assert!(
                wait_for(|| !store.leftovers().unwrap().is_empty(), LONG).await,
                "the abort never began"
            );
            drop(engine);
            emu.handle.update_faults(|f| f.latency = Duration::ZERO);
        } else {
            drop(engine);
        }
        // The dropped engine winds down: requests it had begun still arrive, and its jobs
        // record where they stopped.
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !during_abort {
            // What a cancel writes first, and all there is when the app dies right after.
            store.set_item_state(id, &ItemState::Cancelled).unwrap();
        }
        let parts_before = emu.handle.counters().upload(&upload_id).part_requests;

        let mut engine = start(engine_config(&emu.base, &data, flow));
        let items = loaded(&mut engine).await;
        let item = items.iter().find(|i| i.id == id).unwrap();
        assert_eq!(item.state, ItemState::Cancelled, "round {round}");
        assert!(
            wait_for(
                || !emu
                    .handle
                    .open_uploads()
                    .unwrap()
                    .iter()
                    .any(|u| u.upload_id == upload_id)
                    && store.leftovers().unwrap().is_empty(),
                LONG
            )
            .await,
            "round {round}: the cancelled upload was not aborted"
        );
        assert!(store.session(id).unwrap().is_none(), "round {round}");
        assert_eq!(
            emu.handle.counters().upload(&upload_id).part_requests,
            parts_before,
            "round {round}: a cancelled upload was resumed"
        );
        engine.shutdown().await;
    }
}

/// Quitting the app right after a pause or a cancel keeps it paused or cancelled: the quit
/// does not turn it into "continue on the next start".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_right_after_a_pause_or_a_cancel_keeps_it() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let flow = UploadFlow::ClientUpload;
    let paused = tmp_file(dir.path(), "paused then quit.mp4", 20 * MIB, 40);
    let cancelled = tmp_file(dir.path(), "cancelled then quit.mp4", 20 * MIB, 41);
    let mut engine = start(engine_config(&emu.base, &data, flow));
    loaded(&mut engine).await;
    let ids = add(
        &mut engine,
        vec![
            new_item(&paused, parts_of(MIB)),
            new_item(&cancelled, parts_of(MIB)),
        ],
    )
    .await;
    let mut uploading = std::collections::HashSet::new();
    events_until(&mut engine, LONG, |event| {
        if let Event::StateChanged {
            id,
            state: ItemState::Uploading { parts_done, .. },
        } = event
            && *parts_done >= 1
        {
            uploading.insert(*id);
        }
        uploading.len() == 2
    })
    .await;
    engine.send(Command::Pause(ids[0])).await.unwrap();
    engine.send(Command::Cancel(ids[1])).await.unwrap();
    engine.shutdown().await;
    // The paused item's multipart upload, which must be the one left open.
    let paused_upload = voddesk::store::Store::open_in(&data)
        .unwrap()
        .session(ids[0])
        .unwrap()
        .and_then(|session| session.upload_id)
        .expect("the paused item keeps its session");

    let mut engine = start(engine_config(&emu.base, &data, flow));
    let items = loaded(&mut engine).await;
    let state = |id| items.iter().find(|i| i.id == id).unwrap().state.clone();
    assert_eq!(state(ids[0]), ItemState::Paused);
    assert_eq!(state(ids[1]), ItemState::Cancelled);
    let open_ids = || -> Vec<String> {
        emu.handle
            .open_uploads()
            .unwrap()
            .into_iter()
            .map(|upload| upload.upload_id)
            .collect()
    };
    assert!(
        wait_for(|| open_ids() == vec![paused_upload.clone()], LONG).await,
        "the cancelled upload is aborted, the paused one ({paused_upload}) kept: {:?}",
        open_ids()
    );
    engine.shutdown().await;
}

/// A paused file added again with new options starts over with them (its old upload is
/// aborted, with a notice); added again with none, it keeps its options. One engine at a
/// time works on a data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_again_with_new_options_starts_over_with_them() {
    let emu = emulator(slow(4 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "renamed later.mp4", 20 * MIB, 61);
    let cover = tmp_file(dir.path(), "poster.jpg", 4 * 1024, 62);
    // The cover as a path relative to the working directory, as a command line gives it.
    let cwd = std::env::current_dir().unwrap();
    let relative_cover = cwd
        .components()
        .skip(1)
        .map(|_| std::path::Component::ParentDir.as_os_str())
        .collect::<PathBuf>()
        .join(cover.strip_prefix("/").unwrap());
    let mut engine = start(engine_config(&emu.base, &data, UploadFlow::ClientUpload));
    loaded(&mut engine).await;

    let second = voddesk::engine::Engine::start(
        engine_config(&emu.base, &data, UploadFlow::ClientUpload),
        &tokio::runtime::Handle::current(),
        std::sync::Arc::new(|| {}),
    );
    let busy = second.expect_err("a second engine on the same data directory");
    assert!(busy.to_string().contains("another VodDesk"), "{busy}");

    let mut options = parts_of(MIB);
    options.media_name = Some("first name".into());
    options.cover = Some(relative_cover.clone());
    let id = add(&mut engine, vec![new_item(&file, options)]).await[0];
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 2)
    })
    .await;
    let old_upload = upload_id_of(&emu, LONG).await;
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Paused } if *of == id)
    })
    .await;

    // Again with no options, then with the same ones: it is only queued again.
    let same = ItemOptions {
        cover: Some(relative_cover),
        ..ItemOptions::default()
    };
    engine
        .send(Command::Add(vec![
            new_item(&file, ItemOptions::default()),
            new_item(&file, same),
        ]))
        .await
        .unwrap();
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Paused } if *of == id)
    })
    .await;
    let store = voddesk::store::Store::open_in(&data).unwrap();
    let kept = store.item(id).unwrap().unwrap();
    assert_eq!(kept.options.media_name.as_deref(), Some("first name"));
    assert_eq!(
        std::fs::canonicalize(kept.options.cover.unwrap()).unwrap(),
        std::fs::canonicalize(&cover).unwrap()
    );
    assert!(store.session(id).unwrap().is_some(), "the upload is kept");
    assert_eq!(
        store.session(id).unwrap().unwrap().upload_id.as_deref(),
        Some(old_upload.as_str())
    );

    let renamed = ItemOptions {
        media_name: Some("新名字".into()),
        ..ItemOptions::default()
    };
    engine
        .send(Command::Add(vec![new_item(&file, renamed)]))
        .await
        .unwrap();
    let mut notice = None;
    let states = finish_collecting(&mut engine, id, &mut notice).await;
    assert!(matches!(states, ItemState::Done { .. }), "{states:?}");
    let notice = notice.expect("the restart is told");
    assert!(notice.contains("starts over"), "{notice}");
    let item = store.item(id).unwrap().unwrap();
    assert_eq!(item.options.media_name.as_deref(), Some("新名字"));
    assert_eq!(item.options.part_size, Some(MIB), "options not given stay");
    assert!(
        wait_for(
            || !emu
                .handle
                .open_uploads()
                .unwrap()
                .iter()
                .any(|u| u.upload_id == old_upload),
            LONG
        )
        .await,
        "the upload begun with the old options was aborted"
    );
    engine.shutdown().await;
}

/// Events until `id` ends; the last notice about it goes to `notice`.
async fn finish_collecting(
    engine: &mut EngineHandle,
    id: ItemId,
    notice: &mut Option<String>,
) -> ItemState {
    let mut end = None;
    events_until(engine, LONG, |event| {
        match event {
            Event::Notice { id: of, message } if *of == id => *notice = Some(message.clone()),
            Event::StateChanged { id: of, state }
                if *of == id && (state.is_terminal() || matches!(state, ItemState::Failed(_))) =>
            {
                end = Some(state.clone());
            }
            _ => {}
        }
        end.is_some()
    })
    .await;
    end.unwrap()
}

/// Signature mode (no API key on this machine): uploads take the client-upload flow with a
/// signature fetched for every request, whatever flow an item asks for; an expiry, which needs
/// the key, is refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_mode_uploads_without_a_key() {
    let emu = emulator(Faults::default()).await;
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&fetched);
    // The team's signature service, answering `{"data":{"signature":…}}`.
    let app = axum::Router::new().route(
        "/sign",
        axum::routing::get(move || {
            let counter = std::sync::Arc::clone(&counter);
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let now = chrono::Utc::now().timestamp();
                let signature = voddesk::tencent::ugc_sign::SignatureParams {
                    secret_id: voddesk::emulator::DEMO_SECRET_ID.into(),
                    current_time: now,
                    expire_time: now + 600,
                    random: 7,
                    ..Default::default()
                }
                .sign(voddesk::emulator::DEMO_SECRET_KEY)
                .unwrap();
                axum::Json(serde_json::json!({ "data": { "signature": signature } }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let mut config = engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    );
    config.service.credentials = None;
    config.service.signature_url = Some(format!("http://{addr}/sign"));
    let small = tmp_file(dir.path(), "signed small.mp4", 300 * 1024, 81);
    let big = tmp_file(dir.path(), "signed big.mp4", 12 * MIB, 82);
    let mut engine = start(config);
    loaded(&mut engine).await;
    let server = ItemOptions {
        flow: Some(UploadFlow::ServerApi),
        ..parts_of(MIB)
    };
    let expiring = ItemOptions {
        expire_time: Some("2031-01-01T00:00:00Z".into()),
        ..ItemOptions::default()
    };
    engine
        .send(Command::Add(vec![
            new_item(&small, ItemOptions::default()),
            new_item(&big, server),
            new_item(&small, expiring),
        ]))
        .await
        .unwrap();
    let mut ids = Vec::new();
    let mut refusal = None;
    events_until(&mut engine, LONG, |event| {
        match event {
            Event::Added(snapshot) => ids.push(snapshot.id),
            Event::Rejected { reason, .. } => refusal = Some(reason.clone()),
            _ => {}
        }
        ids.len() == 2 && refusal.is_some()
    })
    .await;
    assert!(
        refusal.unwrap().contains("needs the API key"),
        "an expiry without the key"
    );
    let states = finish(&mut engine, &ids, LONG).await;
    for (id, path) in ids.iter().zip([&small, &big]) {
        let (_, url, _) = done_urls(&states[id]);
        assert_same(&url, path).await;
    }
    assert!(fetched.load(std::sync::atomic::Ordering::Relaxed) >= 4);
    let counters = emu.handle.counters();
    assert_eq!(counters.action("ApplyUpload"), 0, "{counters:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_by_name_and_others_go_on() {
    let emu = emulator(slow(8 * MIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = tmp_file(d, "good.mp3", 64 * 1024, 12);
    let empty = tmp_file(d, "empty.mp4", 0, 0);
    let folder = d.join("folder.mp4");
    std::fs::create_dir(&folder).unwrap();
    let text = tmp_file(d, "notes.txt", 10, 0);
    let looping = d.join("loop.mp4");
    std::os::unix::fs::symlink(&looping, &looping).unwrap();
    let plain = tmp_file(d, "plain.mp4", 1000, 13);
    let opts = |f: &dyn Fn(&mut ItemOptions)| {
        let mut o = ItemOptions::default();
        f(&mut o);
        o
    };
    let batch = vec![
        new_item(&empty, ItemOptions::default()),
        new_item(&folder, ItemOptions::default()),
        new_item(&text, ItemOptions::default()),
        new_item(&looping, ItemOptions::default()),
        new_item(&plain, opts(&|o| o.cover = Some(d.join("missing.jpg")))),
        new_item(&plain, opts(&|o| o.source_context = Some("x".repeat(251)))),
        new_item(
            &plain,
            opts(&|o| o.expire_time = Some("next tuesday".into())),
        ),
        new_item(&good, ItemOptions::default()),
    ];
    let mut engine = start(engine_config(
        &emu.base,
        &d.join("data"),
        UploadFlow::ClientUpload,
    ));
    loaded(&mut engine).await;
    engine.send(Command::Add(batch)).await.unwrap();
    let mut rejected: Vec<(PathBuf, String)> = Vec::new();
    let mut good_id = None;
    events_until(&mut engine, LONG, |event| {
        match event {
            Event::Rejected { path, reason } => rejected.push((path.clone(), reason.clone())),
            Event::Added(s) => good_id = Some(s.id),
            _ => {}
        }
        rejected.len() == 7 && good_id.is_some()
    })
    .await;
    let reason = |i: usize| rejected[i].1.clone();
    assert_eq!(rejected[0].0, empty);
    assert!(reason(0).contains("empty"), "{}", reason(0));
    assert!(reason(1).contains("folder"), "{}", reason(1));
    assert!(reason(2).contains("not supported"), "{}", reason(2));
    assert!(reason(3).contains("cannot be read"), "{}", reason(3));
    assert!(
        reason(4).contains("cover") && reason(4).contains("missing.jpg"),
        "{}",
        reason(4)
    );
    assert!(reason(5).contains("250"), "{}", reason(5));
    assert!(reason(6).contains("ISO 8601"), "{}", reason(6));
    let good_id = good_id.unwrap();
    let states = finish(&mut engine, &[good_id], LONG).await;
    let (_, url, _) = done_urls(&states[&good_id]);
    assert_same(&url, &good).await;

    // Changed and deleted while uploading: clear failures, the others unaffected.
    let changing = tmp_file(d, "changing.mp4", 24 * MIB, 14);
    let deleted = tmp_file(d, "deleted.mp4", 24 * MIB, 15);
    let good = tmp_file(d, "good two.wav", 3 * MIB, 16);
    let ids = add(
        &mut engine,
        vec![
            new_item(&changing, parts_of(MIB)),
            new_item(&deleted, parts_of(MIB)),
            new_item(&good, ItemOptions::default()),
        ],
    )
    .await;
    let good_id = ids[2];
    let ids = ids[..2].to_vec();
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { state: ItemState::Uploading { parts_done, .. }, .. } if *parts_done >= 2)
    })
    .await;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&changing)
            .unwrap();
        f.write_all(b"more").unwrap();
    }
    std::fs::remove_file(&deleted).unwrap();
    let mut all = ids.clone();
    all.push(good_id);
    let states = finish(&mut engine, &all, LONG).await;
    for id in &ids {
        match &states[id] {
            ItemState::Failed(err) => {
                assert!(
                    err.message.contains("changed or deleted"),
                    "{}",
                    err.message
                );
                assert!(err.retryable);
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    let (_, url, _) = done_urls(&states[&good_id]);
    assert_same(&url, &good).await;

    // Cut shorter than the parts still to read while uploading: the read itself fails, and
    // the failure says it was the file (not the network, which would be retried for long).
    let truncated = tmp_file(d, "truncated.mp4", 24 * MIB, 17);
    let id = add(&mut engine, vec![new_item(&truncated, parts_of(MIB))]).await[0];
    until_parts_done(&mut engine, id, 2).await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(3 * MIB)
        .unwrap();
    let states = finish(&mut engine, &[id], LONG).await;
    match &states[&id] {
        ItemState::Failed(err) => assert!(
            err.message.contains("changed or deleted")
                || err.message.contains("Could not read the file"),
            "{}",
            err.message
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    engine.shutdown().await;
}

/// A dropped folder of over a thousand files is checked and queued in batches; every file
/// still gets its answer in order (the CLI relies on it), a file named twice in different
/// batches is one item, and a refusal in the middle stops nothing.
#[tokio::test]
async fn a_large_batch_answers_every_file_in_order() {
    let emu = emulator(Faults {
        // Slow requests: the first uploads stay in flight while the batch is answered.
        latency: Duration::from_millis(300),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut paths: Vec<PathBuf> = (0..1200)
        .map(|i| {
            let path = dir.path().join(format!("clip {i}.mp4"));
            std::fs::write(&path, b"0123456789").unwrap();
            path
        })
        .collect();
    let refused = dir.path().join("notes.txt");
    std::fs::write(&refused, b"not a video").unwrap();
    paths[3] = refused.clone();
    paths[700] = paths[10].clone();
    let mut engine = start(engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    ));
    let _ = loaded(&mut engine).await;
    let items = paths
        .iter()
        .map(|path| new_item(path, ItemOptions::default()))
        .collect();
    engine.send(Command::Add(items)).await.unwrap();

    let mut answers: Vec<String> = Vec::new();
    let mut ids = std::collections::HashMap::new();
    events_until(&mut engine, LONG, |event| {
        match event {
            Event::Added(snapshot) => {
                ids.insert(snapshot.id, snapshot.path.clone());
                answers.push(format!("added {}", snapshot.path.display()));
            }
            Event::Rejected { path, .. } => answers.push(format!("refused {}", path.display())),
            Event::StateChanged {
                id,
                state: ItemState::Queued,
            } => {
                answers.push(format!("queued again {}", ids[id].display()));
            }
            _ => {}
        }
        answers.len() == paths.len()
    })
    .await;
    let expected: Vec<String> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| match i {
            3 => format!("refused {}", path.display()),
            700 => format!("queued again {}", path.display()),
            _ => format!("added {}", path.display()),
        })
        .collect();
    assert_eq!(answers, expected);
    assert_eq!(ids.len(), 1198, "one item per distinct media file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a figure, not a test: cargo nextest run --run-ignored only adding_ten_thousand --no-capture"]
async fn adding_ten_thousand_files_timing() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut items = Vec::new();
    for i in 0..10_000 {
        let path = dir.path().join(format!("clip {i}.mp4"));
        std::fs::write(&path, b"0123456789").unwrap();
        items.push(new_item(&path, ItemOptions::default()));
    }
    let mut config = engine_config(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    );
    config.tuning.parallel_files = 1;
    let mut engine = start(config);
    let _ = loaded(&mut engine).await;
    let started = std::time::Instant::now();
    engine.send(Command::Add(items)).await.unwrap();
    let mut added = 0;
    let mut first = None;
    events_until(&mut engine, LONG, |event| {
        if let Event::Added(_) = event {
            added += 1;
            first.get_or_insert(started.elapsed());
        }
        added == 10_000
    })
    .await;
    eprintln!(
        "first Added after {:?}, all 10,000 after {:?}",
        first.unwrap(),
        started.elapsed()
    );
}
