//! `voddesk upload`, `queue`, `info`: the real binary in a fresh directory against an
//! in-process emulator.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use voddesk::emulator::{self, Faults};

use crate::support::*;

fn voddesk(base: &str, data: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TENCENTCLOUD_SECRET_ID", emulator::DEMO_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", emulator::DEMO_SECRET_KEY)
        .env("VODDESK_VOD_ENDPOINT", base)
        .env("VODDESK_COS_ENDPOINT", base)
        .env("VODDESK_UGC_ENDPOINT", base)
        .env("VODDESK_DATA_DIR", data)
        .kill_on_drop(true);
    command
}

async fn run(mut command: tokio::process::Command) -> Output {
    tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the command finished in time")
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect()
}

fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_json_info_and_queue() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let media = d.join("media");
    std::fs::create_dir(&media).unwrap();
    let a = tmp_file(&media, "第一 clip.mp4", 200 * 1024, 21);
    let cover = tmp_file(&media, "第一 clip.png", 10 * 1024, 22);
    let b = tmp_file(&media, "second.m4a", 12 * MIB, 23);
    let empty = tmp_file(d, "empty.mp4", 0, 0);

    let mut command = voddesk(&emu.base, &data);
    command.arg("upload").arg(&media).arg(&empty).args([
        "--part-size",
        "1048576",
        "--json",
        "--source-context",
        "ci",
    ]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("empty.mp4") && stderr.contains("empty"),
        "{stderr}"
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", text(&out.stdout));
    for line in &lines {
        assert_eq!(
            keys(line),
            [
                "cover_url",
                "file_id",
                "media_url",
                "path",
                "resumed_bytes",
                "size"
            ]
        );
        assert_eq!(line["resumed_bytes"], 0);
    }
    let first = lines
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with("第一 clip.mp4"))
        .unwrap();
    assert_eq!(first["size"], 200 * 1024);
    assert_same(first["media_url"].as_str().unwrap(), &a).await;
    assert_same(first["cover_url"].as_str().unwrap(), &cover).await;
    let second = lines
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with("second.m4a"))
        .unwrap();
    assert!(second["cover_url"].is_null());
    assert_same(second["media_url"].as_str().unwrap(), &b).await;

    // info --json, and an unknown FileId exits 1 with a message.
    let file_id = first["file_id"].as_str().unwrap().to_owned();
    let mut command = voddesk(&emu.base, &data);
    command.args(["info", &file_id, "--json"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let info = json_lines(&out.stdout);
    assert_eq!(
        keys(&info[0]),
        [
            "cover_url",
            "file_id",
            "media_url",
            "name",
            "publish_url",
            "status"
        ]
    );
    assert_eq!(info[0]["file_id"], file_id.as_str());
    assert_eq!(info[0]["name"], "第一 clip");
    let mut command = voddesk(&emu.base, &data);
    command.args(["info", "999999999999", "--json"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no such media"),
        "{}",
        text(&out.stderr)
    );

    // queue --json lists both as done.
    let mut command = voddesk(&emu.base, &data);
    command.args(["queue", "--json"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0));
    let queue = json_lines(&out.stdout);
    assert_eq!(queue.len(), 2);
    assert!(queue.iter().all(|item| item["state"] == "done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_upload_again_resumes() {
    kill_9_then_resume(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_queue_resume_resumes() {
    kill_9_then_resume(true).await;
}

async fn kill_9_then_resume(with_queue_resume: bool) {
    let emu = emulator(Faults {
        bandwidth: Some(4 * MIB),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "killed upload.mp4", 40 * MIB, 24);
    // 1 MiB parts, 4 in flight: the same both times.
    let upload = |command: &mut tokio::process::Command| {
        command.arg("upload").arg(&file).args([
            "--part-size",
            "1048576",
            "--concurrency",
            "4",
            "--json",
        ]);
    };
    let mut command = voddesk(&emu.base, &data);
    upload(&mut command);
    let mut child = command.spawn().unwrap();
    let handle = &emu.handle;
    assert!(
        wait_for(
            || handle
                .open_uploads()
                .unwrap()
                .first()
                .is_some_and(|u| u.parts.len() >= 12),
            Duration::from_secs(60)
        )
        .await
    );
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let upload_id = handle.open_uploads().unwrap()[0].upload_id.clone();

    let mut command = voddesk(&emu.base, &data);
    if with_queue_resume {
        command.args(["queue", "--json"]);
        let listed = json_lines(&run(command).await.stdout);
        assert_eq!(listed.len(), 1);
        // Nothing works on it any more: not "uploading".
        assert_eq!(listed[0]["state"], "interrupted", "{listed:?}");
        let mut plain = voddesk(&emu.base, &data);
        plain.arg("queue");
        let out = run(plain).await;
        assert!(
            text(&out.stdout).contains("\tinterrupted\t"),
            "{}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("voddesk queue resume"),
            "{}",
            text(&out.stderr)
        );
        // The server had 12 parts when the kill came; up to 4 of them (those in
        // flight) may have been stored there before the client heard back and
        // recorded them, so the local record may be 4 behind.
        let listed_bytes = listed[0]["uploaded_bytes"].as_u64().unwrap();
        assert!(listed_bytes >= 8 * MIB, "listed {listed_bytes}");
        command = voddesk(&emu.base, &data);
        command.args(["queue", "resume", "--json"]);
    } else {
        upload(&mut command);
    }
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    let resumed = lines[0]["resumed_bytes"].as_u64().unwrap();
    assert!(resumed >= 12 * MIB, "resumed {resumed}");
    assert_same(lines[0]["media_url"].as_str().unwrap(), &file).await;
    let counters = handle.counters().upload(&upload_id);
    assert!(counters.part_requests <= 40 + 4, "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_may_pass_says_how_to_retry_and_the_retry_finishes() {
    // The service is down for the whole run: the CLI gives up after its retries (about 12 to
    // 25 s of backoff) and says which command retries.
    let emu = emulator(Faults {
        outage: true,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "during the outage.mp4", 64 * 1024, 61);
    let mut command = voddesk(&emu.base, &data);
    command.arg("upload").arg(&file);
    let out = run(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("during the outage.mp4"), "{stderr}");
    assert!(
        stderr.contains("note: to retry, run `voddesk queue resume`"),
        "{stderr}"
    );

    // Doing what it says, once the service is back, finishes the upload.
    emu.handle.update_faults(|f| f.outage = false);
    let mut command = voddesk(&emu.base, &data);
    command.args(["queue", "resume", "--json"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    assert_same(lines[0]["media_url"].as_str().unwrap(), &file).await;
}

/// Runs `command` (`what`, for messages), which has no API key: it must be refused as bad
/// usage with the one missing-key message. Returns its stderr.
async fn refused_for_no_key(command: tokio::process::Command, what: &str) -> String {
    let out = run(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.starts_with("error: no API key: set TENCENTCLOUD_SECRET_ID"),
        "{what}: {stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_says_how_to_set_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = tmp_file(dir.path(), "a.mp4", 10, 1);
    // A command run with no API key anywhere.
    let keyless = || {
        let mut command = voddesk("http://127.0.0.1:9", &dir.path().join("data"));
        command
            .env_remove("TENCENTCLOUD_SECRET_ID")
            .env_remove("TENCENTCLOUD_SECRET_KEY");
        command
    };
    let mut command = keyless();
    command.arg("upload").arg(&file);
    let out = run(command).await;
    // No key is a setup problem every command names the same way, with the same exit code as
    // other usage errors: nothing was sent.
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("TENCENTCLOUD_SECRET_ID"), "{stderr}");
    assert!(stderr.contains("VODDESK_SIGNATURE_URL"), "{stderr}");
    // The server API flow needs the key itself: a signature service is no way out there, so
    // the message does not offer one (and nothing is sent to it).
    let mut command = keyless();
    command
        .env("VODDESK_SIGNATURE_URL", "http://127.0.0.1:9/sign")
        .args(["upload", "--flow", "server"])
        .arg(&file);
    let stderr = refused_for_no_key(command, "upload --flow server").await;
    assert!(!stderr.contains("VODDESK_SIGNATURE_URL"), "{stderr}");
    for args in [
        &["info", "F1"][..],
        &["publish", "F1"],
        &["suspend", "F1"],
        &["delete", "F1", "--yes"],
        &["sign"],
    ] {
        let mut command = keyless();
        command.args(args);
        refused_for_no_key(command, &format!("{args:?}")).await;
    }
    let mut command = voddesk("http://127.0.0.1:9", &dir.path().join("data"));
    command.args(["upload"]);
    assert_eq!(run(command).await.status.code(), Some(2));
}

/// Files named more than once (twice, through `./`, `..` or a link that loops back into the
/// folder) upload once and the command ends; an expiry is set in the client-upload flow too;
/// usage errors name what is missing; a closed pipe ends the listing quietly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_paths_expiry_usage_and_closed_pipes() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let a = tmp_file(d, "a.mp4", 100 * 1024, 51);
    let sub = d.join("tree").join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let b = tmp_file(&sub, "b.mp4", 50 * 1024, 52);
    std::os::unix::fs::symlink("..", sub.join("loop")).unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::create_dir(d.join("notes")).unwrap();
    std::fs::write(d.join("notes").join("readme.txt"), b"not media").unwrap();

    let mut command = voddesk(&emu.base, &data);
    command.current_dir(d).args([
        "upload",
        "a.mp4",
        "./a.mp4",
        "tree/../a.mp4",
        "tree",
        "empty",
        "notes",
        "--json",
    ]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["a.mp4", "tree/sub/b.mp4"], "{}", text(&out.stderr));
    assert_same(lines[0]["media_url"].as_str().unwrap(), &a).await;
    assert_same(lines[1]["media_url"].as_str().unwrap(), &b).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("./a.mp4: the same file as a.mp4"),
        "{stderr}"
    );
    // Folders that gave nothing are said, not silently passed over.
    assert!(
        stderr.contains("skipped empty: the folder holds no media files"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped notes/readme.txt: not a supported media type"),
        "{stderr}"
    );

    // An expiry in the client-upload flow is set after the commit (that API has no field).
    let c = tmp_file(d, "expires.mp4", 30 * 1024, 53);
    let mut command = voddesk(&emu.base, &data);
    command.arg("upload").arg(&c).args([
        "--flow",
        "client",
        "--expire-time",
        "2031-01-01T00:00:00Z",
        "--json",
    ]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let file_id = json_lines(&out.stdout)[0]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vod = voddesk::tencent::vod::VodClient::new(
        reqwest::Client::new(),
        &emu.base,
        "ap-guangzhou",
        voddesk::tencent::Credentials::new(emulator::DEMO_SECRET_ID, emulator::DEMO_SECRET_KEY),
        std::sync::Arc::new(voddesk::tencent::clock::Clock::new()),
    )
    .unwrap();
    let info = vod
        .call(&voddesk::tencent::models::DescribeMediaInfosRequest {
            file_ids: vec![file_id],
            ..Default::default()
        })
        .await
        .unwrap();
    let basic = info.media_info_set[0].basic_info.clone().unwrap();
    assert_eq!(basic.expire_time, "2031-01-01T00:00:00Z");

    // A region with no storage for the application fails in both flows, at once (a parameter
    // error is not retried), naming the region and the service's code.
    let r = tmp_file(d, "region.mp4", 10 * 1024, 55);
    for flow in ["server", "client"] {
        let mut command = voddesk(&emu.base, &data);
        command
            .arg("upload")
            .arg(&r)
            .args(["--storage-region", "ap-nowhere", "--flow", flow]);
        let started = std::time::Instant::now();
        let out = run(command).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flow}: {stderr}");
        assert!(stderr.contains("ap-nowhere"), "{flow}: {stderr}");
        let code = if flow == "server" {
            "InvalidParameterValue.StorageRegion"
        } else {
            "code 10015"
        };
        assert!(stderr.contains(code), "{flow}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{flow}: retried"
        );
    }

    // A tab in a name does not break the columns of the text listing.
    let tabbed = tmp_file(d, "tab\tname.mp4", 20 * 1024, 54);
    let mut command = voddesk(&emu.base, &data);
    command.arg("upload").arg(&tabbed);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let mut command = voddesk(&emu.base, &data);
    command.arg("queue");
    let listing = text(&run(command).await.stdout);
    let line = listing
        .lines()
        .find(|l| l.contains("tab\\tname.mp4"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert_eq!(line.split('\t').count(), 5, "{line}");

    let mut command = voddesk(&emu.base, &data);
    command.arg("upload");
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("<PATHS>"),
        "{}",
        text(&out.stderr)
    );
    // Parts in flight are bounded as in the app's settings.
    for concurrency in ["0", "33"] {
        let mut command = voddesk(&emu.base, &data);
        command.args(["upload", "any.mp4", "--concurrency", concurrency]);
        let out = run(command).await;
        assert_eq!(out.status.code(), Some(2), "--concurrency {concurrency}");
        assert!(
            text(&out.stderr).contains("from 1 to 32"),
            "{}",
            text(&out.stderr)
        );
    }

    // The reader of the listing is gone before it is written: no panic (exit 101). The pipe's
    // read end is closed before the command starts, so the write always fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut listing = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    listing
        .args(["queue", "--json"])
        .env("VODDESK_DATA_DIR", &data)
        .stdout(std::process::Stdio::from(writer))
        .kill_on_drop(true);
    let out = run(listing).await;
    assert!(
        matches!(out.status.code(), Some(0 | 141) | None),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(101));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );

    // An API error answered with a 5xx status keeps its code and RequestId.
    emu.handle.update_faults(|f| f.api_error_rate = 1.0);
    let mut command = voddesk(&emu.base, &data);
    command.args(["info", "5285485487985271487"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("InternalError") && stderr.contains("RequestId"),
        "{stderr}"
    );
}

/// With nothing in the environment, the command uses what the app saved: its settings (here
/// the emulator's addresses and a class) and its API key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_environment_uses_the_apps_saved_settings_and_key() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "saved settings.mp4", 64 * 1024, 71);
    let settings = voddesk::settings::Settings {
        vod_endpoint: emu.base.clone(),
        cos_endpoint: emu.base.clone(),
        ugc_endpoint: emu.base.clone(),
        class_id: Some(0),
        ..voddesk::settings::Settings::default()
    };
    settings.save(&data).unwrap();
    voddesk::settings::credentials::CredentialStore::file_only(&data)
        .save(emulator::DEMO_SECRET_ID, emulator::DEMO_SECRET_KEY)
        .unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VODDESK_DATA_DIR", &data)
        .kill_on_drop(true)
        .arg("upload")
        .arg(&file)
        .arg("--json");
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_same(lines[0]["media_url"].as_str().unwrap(), &file).await;
    let store = voddesk::store::Store::open_in(&data).unwrap();
    let items = store.items().unwrap();
    assert_eq!(
        items[0].options.class_id,
        Some(0),
        "the saved default class"
    );
}

/// `queue resume` continues an item the app left paused (from where it stopped) and retries
/// one that failed for a reason that has passed; both are printed like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_resume_continues_paused_and_retries_failed_items() {
    use voddesk::engine::api::{
        Command, Destination, Event, ItemOptions, ItemState, NewItem, UploadFlow,
    };
    let emu = emulator(Faults {
        bandwidth: Some(4 * MIB),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = tmp_file(dir.path(), "paused in the app.mp4", 12 * MIB, 91);
    let mut engine = start(engine_config(&emu.base, &data, UploadFlow::ClientUpload));
    engine
        .send(Command::Add(vec![NewItem {
            path: file.clone(),
            destination: Destination::Vod,
            options: ItemOptions {
                part_size: Some(MIB),
                ..ItemOptions::default()
            },
        }]))
        .await
        .unwrap();
    let mut id = None;
    events_until(&mut engine, Duration::from_secs(60), |event| {
        if let Event::StateChanged {
            id: of,
            state: ItemState::Uploading { parts_done, .. },
        } = event
            && *parts_done >= 2
        {
            id = Some(*of);
        }
        id.is_some()
    })
    .await;
    let id = id.unwrap();
    engine.send(Command::Pause(id)).await.unwrap();
    events_until(&mut engine, Duration::from_secs(60), |event| {
        matches!(event, Event::StateChanged { id: of, state: ItemState::Paused } if *of == id)
    })
    .await;
    // A second file fails while the service is down: a failure that may pass.
    emu.handle.update_faults(|f| f.outage = true);
    let failing = tmp_file(dir.path(), "failed offline.mp4", 64 * 1024, 92);
    engine
        .send(Command::Add(vec![NewItem {
            path: failing.clone(),
            destination: Destination::Vod,
            options: ItemOptions::default(),
        }]))
        .await
        .unwrap();
    events_until(&mut engine, Duration::from_secs(60), |event| {
        matches!(event, Event::StateChanged { state: ItemState::Failed(err), .. } if err.retryable)
    })
    .await;
    engine.shutdown().await;
    emu.handle.update_faults(|f| {
        f.bandwidth = None;
        f.outage = false;
    });

    let mut command = voddesk(&emu.base, &data);
    command.args(["queue", "resume", "--json"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", text(&out.stdout));
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    let paused = line("paused in the app.mp4");
    assert!(paused["resumed_bytes"].as_u64().unwrap() >= 2 * MIB);
    assert_same(paused["media_url"].as_str().unwrap(), &file).await;
    let retried = line("failed offline.mp4");
    assert_same(retried["media_url"].as_str().unwrap(), &failing).await;
}

/// `http://` to another host would carry signed requests and temporary tokens in clear: every
/// command that talks to the services refuses it before sending anything (exit 2, naming the
/// variable and why), whether it came from the environment or from the app's saved settings.
#[tokio::test]
async fn plain_http_beyond_this_computer_is_refused_before_sending() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let media = dir.path().join("talk.mp4");
    std::fs::write(&media, b"not sent").unwrap();
    let mut command = voddesk(&emu.base, &data);
    command
        .env("VODDESK_UGC_ENDPOINT", "http://vod2.example.com")
        .arg("upload")
        .arg(&media);
    let out = run(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("VODDESK_UGC_ENDPOINT") && stderr.contains("https://"),
        "{stderr}"
    );
    assert_eq!(emu.handle.counters().action("ApplyUpload"), 0);
    // Saved in the app's settings, it is refused the same way.
    std::fs::create_dir_all(&data).unwrap();
    let settings = voddesk::settings::Settings {
        vod_endpoint: "http://vod.example.com".into(),
        ..Default::default()
    };
    settings.save(&data).unwrap();
    let mut command = voddesk(&emu.base, &data);
    command
        .env_remove("VODDESK_VOD_ENDPOINT")
        .args(["info", "123"]);
    let out = run(command).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("VODDESK_VOD_ENDPOINT") && stderr.contains("saved setting"),
        "{stderr}"
    );
    // To this computer, http:// is fine.
    let mut command = voddesk(&emu.base, &data);
    command.args(["info", "123"]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
