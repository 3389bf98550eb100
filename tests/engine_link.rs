//! The engine on a modelled user's link (the emulator's link relay: shared bandwidth, delay,
//! window per connection): what a pause, a crash and a finished-but-uncommitted upload cost.

use std::path::Path;
use std::time::{Duration, Instant};

use voddesk::emulator::link::LinkModel;
use voddesk::emulator::{self, EmulatorConfig, Faults};
use voddesk::engine::EngineHandle;
use voddesk::engine::api::{
    Command, Destination, EngineTuning, Event, ItemId, ItemOptions, ItemState, NewItem, UploadFlow,
};

use crate::support::*;

const LONG: Duration = Duration::from_secs(120);

/// 40 Mbit/s (5 MB/s), 40 ms round trip, 256 KiB per connection: an office uplink.
fn office() -> LinkModel {
    LinkModel::new(40.0, 40, 256)
}

async fn emulator_on(link: LinkModel) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::with_data_dir(dir.path().join("emu"));
    config.faults = Faults::default();
    config.link = Some(link);
    let (_addr, handle) = emulator::spawn(config).await.unwrap();
    Emu {
        base: handle.base_url(),
        handle,
        _dir: dir,
    }
}

/// The engine with its automatic defaults (as a new user has them).
fn engine_on(base: &str, data: &Path, flow: UploadFlow) -> EngineHandle {
    let mut config = engine_config(base, data, flow);
    config.tuning = EngineTuning::default();
    start(config)
}

async fn add_one(engine: &mut EngineHandle, path: &Path) -> ItemId {
    match engine.recv().await {
        Some(Event::Loaded(_)) => {}
        other => panic!("expected Loaded, got {other:?}"),
    }
    engine
        .send(Command::Add(vec![NewItem {
            path: path.to_path_buf(),
            destination: Destination::Vod,
            options: ItemOptions::default(),
        }]))
        .await
        .unwrap();
    let mut id = None;
    events_until(engine, LONG, |event| {
        if let Event::Added(snapshot) = event {
            id = Some(snapshot.id);
        }
        id.is_some()
    })
    .await;
    id.unwrap()
}

/// Waits until the item shows at least `bytes` acknowledged; returns the last progress.
async fn until_acked(engine: &mut EngineHandle, id: ItemId, bytes: u64) -> u64 {
    let mut done = 0;
    events_until(engine, LONG, |event| {
        if let Event::Progress { id: of, progress } = event
            && *of == id
        {
            done = progress.bytes_done;
        }
        done >= bytes
    })
    .await;
    done
}

fn body_bytes(emu: &Emu) -> u64 {
    emu.handle.counters().body_bytes
}

/// Pause keeps what the server acknowledged and all but about a second of the link; the
/// progress shown never goes back, across the pause and the resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_keeps_all_but_a_second_of_the_link() {
    let emu = emulator_on(office()).await;
    let dir = tempfile::tempdir().unwrap();
    let size = 40 * MIB;
    let file = tmp_file(dir.path(), "office.mp4", size, 21);
    let mut engine = engine_on(
        &emu.base,
        &dir.path().join("data"),
        UploadFlow::ClientUpload,
    );
    let id = add_one(&mut engine, &file).await;
    let shown_before = until_acked(&mut engine, id, 10 * MIB).await;
    let asked = Instant::now();
    engine.send(Command::Pause(id)).await.unwrap();
    let mut shown = vec![shown_before];
    let events = events_until(&mut engine, LONG, |event| {
        if let Event::Progress { id: of, progress } = event
            && *of == id
        {
            shown.push(progress.bytes_done);
        }
        matches!(event, Event::StateChanged { id: of, state: ItemState::Paused } if *of == id)
    })
    .await;
    let took = asked.elapsed();
    assert!(
        took <= Duration::from_millis(3500),
        "the pause took {took:?}"
    );
    let sent_at_pause = body_bytes(&emu);
    let kept = *shown.last().unwrap();
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Notice { message, .. } if message.contains("on the server"))
        ),
        "no word of what was kept: {events:#?}"
    );

    engine.send(Command::Resume(id)).await.unwrap();
    let resumed_at = Instant::now();
    let mut speeds = Vec::new();
    let states = {
        let mut finals = std::collections::HashMap::new();
        events_until(&mut engine, LONG, |event| {
            match event {
                Event::Progress { id: of, progress } if *of == id => {
                    shown.push(progress.bytes_done);
                    speeds.push((resumed_at.elapsed(), progress.speed));
                }
                Event::StateChanged { id: of, state }
                    if *of == id && matches!(state, ItemState::Done { .. }) =>
                {
                    finals.insert(id, state.clone());
                }
                _ => {}
            }
            finals.contains_key(&id)
        })
        .await;
        finals
    };
    let (_, url, _) = done_urls(&states[&id]);
    assert_same(&url, &file).await;
    assert!(
        shown.windows(2).all(|w| w[0] <= w[1]),
        "went back: {shown:?}"
    );
    // What was sent before the pause and not kept, and so sent again: at most about two
    // seconds of the link (10 MB). The drain keeps parts that finish within a second, but on
    // a loaded two-core CI machine (the whole suite at once) the relay and the engine share
    // the cores and a part due in a second may take two; 7 MiB was seen there. The figure
    // on a quiet machine is in BENCHMARKS.md (`scripts/bench_link.sh pause`: 0-2 MiB).
    let thrown = sent_at_pause.saturating_sub(kept);
    assert!(
        thrown <= 10 * MIB,
        "{} MiB of {} MiB sent before the pause were thrown away",
        thrown / MIB,
        sent_at_pause / MIB
    );
    let twice = body_bytes(&emu) - size;
    assert!(twice <= 10 * MIB, "{} MiB sent twice", twice / MIB);
    engine.shutdown().await;
}

/// A crash (the engine dropped without a word) resends at most what was in flight, and
/// what is in flight follows the link: about two seconds of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_resends_at_most_two_seconds_of_the_link() {
    let emu = emulator_on(office()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let size = 40 * MIB;
    let file = tmp_file(dir.path(), "crash.mp4", size, 22);
    let mut engine = engine_on(&emu.base, &data, UploadFlow::ServerApi);
    let id = add_one(&mut engine, &file).await;
    until_acked(&mut engine, id, 12 * MIB).await;
    drop(engine);
    // Whatever was on its way when the process went.
    let sent = body_bytes(&emu);
    let mut engine = engine_on(&emu.base, &data, UploadFlow::ServerApi);
    match engine.recv().await {
        Some(Event::Loaded(_)) => {}
        other => panic!("expected Loaded, got {other:?}"),
    }
    let states = finish(&mut engine, &[id], LONG).await;
    let (_, url, _) = done_urls(&states[&id]);
    assert_same(&url, &file).await;
    let twice = body_bytes(&emu) - size;
    assert!(
        twice <= 10 * MIB,
        "{} MiB sent twice (of {} MiB sent before the crash)",
        twice / MIB,
        sent / MIB
    );
    engine.shutdown().await;
}

/// Killed after COS completed the object and before VOD's commit: the next run finds the
/// finished object (its size and CRC-64 are the file's) and only commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_object_was_complete_only_commits() {
    // Every request waits 300 ms, so that the engine stops while the commit waits.
    let emu = emulator(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let size = 12 * MIB;
    let file = tmp_file(dir.path(), "complete.mp4", size, 23);
    let mut engine = engine_on(&emu.base, &data, UploadFlow::ServerApi);
    let id = add_one(&mut engine, &file).await;
    // The engine stops while the commit waits for its answer.
    events_until(&mut engine, LONG, |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Committing } if *of == id)
    })
    .await;
    engine.shutdown().await;
    // The crash came between COS's answer to the completion and the record of it: the
    // session still names its multipart upload (which the server no longer has, as after
    // any completion) and the media is not marked done.
    let db = rusqlite::Connection::open(data.join(voddesk::store::DB_FILE)).unwrap();
    let changed = db
        .execute(
            "UPDATE sessions SET media_done = 0, upload_id = 'completed-before-the-crash'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let parts_before = emu.handle.counters().action("UploadPart");
    let puts_before = emu.handle.counters().action("PutObject");

    let mut engine = engine_on(&emu.base, &data, UploadFlow::ServerApi);
    match engine.recv().await {
        Some(Event::Loaded(_)) => {}
        other => panic!("expected Loaded, got {other:?}"),
    }
    let mut said = false;
    let mut state = None;
    events_until(&mut engine, LONG, |event| {
        match event {
            Event::Notice { message, .. } => said |= message.contains("already complete"),
            Event::StateChanged { id: of, state: s }
                if *of == id && matches!(s, ItemState::Done { .. } | ItemState::Failed(_)) =>
            {
                state = Some(s.clone());
            }
            _ => {}
        }
        state.is_some()
    })
    .await;
    let state = state.unwrap();
    assert!(matches!(state, ItemState::Done { .. }), "{state:?}");
    assert!(said, "no word that the object was already there");
    assert_eq!(emu.handle.counters().action("UploadPart"), parts_before);
    assert_eq!(emu.handle.counters().action("PutObject"), puts_before);
    let (_, url, _) = done_urls(&state);
    assert_same(&url, &file).await;
    engine.shutdown().await;
}
