//! Helpers shared by the engine and CLI tests: an in-process emulator on 127.0.0.1:0, an
//! engine pointed at it, test files, and waiting without fixed sleeps.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use voddesk::config::{Endpoints, ServiceConfig};
use voddesk::emulator::{self, EmulatorConfig, EmulatorHandle, Faults};
use voddesk::engine::api::{EngineTuning, Event, ItemState, UploadFlow};
use voddesk::engine::{Engine, EngineConfig, EngineHandle};
use voddesk::tencent::Credentials;
use voddesk::tencent::retry::RetryPolicy;

pub const MIB: u64 = 1 << 20;

/// A running emulator with its data in a temporary directory.
pub struct Emu {
    pub handle: EmulatorHandle,
    pub base: String,
    pub _dir: tempfile::TempDir,
}

pub async fn emulator(faults: Faults) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::with_data_dir(dir.path().join("emu"));
    config.faults = faults;
    let (_addr, handle) = emulator::spawn(config).await.unwrap();
    Emu {
        base: handle.base_url(),
        handle,
        _dir: dir,
    }
}

pub fn service(base: &str, data_dir: &Path) -> ServiceConfig {
    ServiceConfig {
        credentials: Some(Credentials::new(
            emulator::DEMO_SECRET_ID,
            emulator::DEMO_SECRET_KEY,
        )),
        region: "ap-guangzhou".into(),
        endpoints: Endpoints::all_at(base),
        signature_url: None,
        signature_token: None,
        sub_app_id: None,
        wecom: None,
        data_dir: data_dir.to_path_buf(),
    }
}

/// Fast retries, so that injected faults do not make the tests slow.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        base: Duration::from_millis(20),
        max: Duration::from_millis(500),
    }
}

pub fn engine_config(base: &str, data_dir: &Path, flow: UploadFlow) -> EngineConfig {
    let mut config = EngineConfig::new(service(base, data_dir));
    config.default_flow = flow;
    config.retry = fast_retry();
    config.tuning = EngineTuning {
        parallel_files: 2,
        parallel_parts: 4,
        bandwidth_limit: None,
    };
    config
}

pub fn start(config: EngineConfig) -> EngineHandle {
    Engine::start(config, &tokio::runtime::Handle::current(), Arc::new(|| {})).unwrap()
}

/// Deterministic, incompressible-looking bytes.
pub fn write_file(path: &Path, size: u64, seed: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut left = size;
    let mut buf = Vec::with_capacity(1 << 16);
    while left > 0 {
        buf.clear();
        let n = left.min(1 << 16);
        for _ in 0..n {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            buf.push((state >> 33) as u8);
        }
        file.write_all(&buf).unwrap();
        left -= n;
    }
    file.flush().unwrap();
}

/// Polls `predicate` until it holds or `timeout` passes.
pub async fn wait_for(mut predicate: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if predicate() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    predicate()
}

/// Receives events until `predicate` matches one; returns every event seen.
pub async fn events_until(
    engine: &mut EngineHandle,
    timeout: Duration,
    mut predicate: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, engine.recv()).await {
            Ok(Some(event)) => {
                let hit = predicate(&event);
                seen.push(event);
                if hit {
                    return seen;
                }
            }
            Ok(None) => panic!("the engine stopped; events: {seen:#?}"),
            Err(_) => panic!("timed out; events: {:#?}", tail(&seen)),
        }
    }
}

fn tail(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| !matches!(e, Event::Progress { .. }))
        .rev()
        .take(30)
        .collect()
}

/// The final state of each of `ids`, once all are done, failed or cancelled.
pub async fn finish(
    engine: &mut EngineHandle,
    ids: &[i64],
    timeout: Duration,
) -> std::collections::HashMap<i64, ItemState> {
    let mut states = std::collections::HashMap::new();
    events_until(engine, timeout, |event| {
        if let Event::StateChanged { id, state } = event
            && ids.contains(id)
        {
            if matches!(
                state,
                ItemState::Done { .. } | ItemState::Failed(_) | ItemState::Cancelled
            ) {
                states.insert(*id, state.clone());
            } else {
                states.remove(id);
            }
        }
        ids.iter().all(|id| states.contains_key(id))
    })
    .await;
    states
}

/// GETs a URL's bytes.
pub async fn get(url: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

/// Asserts that `url` serves exactly the bytes of `path`.
pub async fn assert_same(url: &str, path: &Path) {
    let served = get(url).await;
    let local = std::fs::read(path).unwrap();
    assert_eq!(served.len(), local.len(), "{url} vs {}", path.display());
    assert!(served == local, "{url} differs from {}", path.display());
}

pub fn done_urls(state: &ItemState) -> (String, String, Option<String>) {
    match state {
        ItemState::Done {
            file_id,
            media_url,
            cover_url,
            ..
        } => (file_id.clone(), media_url.clone(), cover_url.clone()),
        other => panic!("not done: {other:?}"),
    }
}

pub fn tmp_file(dir: &Path, name: &str, size: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    write_file(&path, size, seed);
    path
}
