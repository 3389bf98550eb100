//! WeChat publishing end to end against the emulator: the CLI as a user runs it, and the
//! publisher the engine uses.

use std::time::Duration;

use voddesk::engine::publish::ReviewOutcome;
use voddesk::engine::publisher::Publisher;
use voddesk::tencent::models::DescribeMediaInfosRequest;

use crate::e2e_support::{Emu, run_cli};

async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn publish_wait_json_then_suspend_restore_delete() {
    let emu = Emu::start(|f| f.review_delay = Duration::from_millis(600)).await;
    let file_id = emu
        .upload("发布会 clip", "mp4", &vec![7u8; 64 * 1024])
        .await;
    let env = emu.env();

    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--wait", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["file_id"], file_id.as_str());
    assert_eq!(line["publish_result"], "Pass");
    assert_eq!(line["state"], "published");
    assert!(!line["task_id"].as_str().unwrap().is_empty());
    let url = line["url"].as_str().unwrap().to_owned();
    assert!(url.contains(&format!("/wechat/{file_id}")), "{url}");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<video"));

    let (code, out, err) = run_cli(&env, &["info", &file_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let info: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(info["publish_url"], url.as_str());
    assert_eq!(info["status"], "Normal");

    // The QR drawn for that URL decodes back to it.
    let image = voddesk::qr::QrMatrix::encode(&url).unwrap().to_image(4);
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let (_, decoded) = prepared.detect_grids()[0].decode().unwrap();
    assert_eq!(decoded, url);

    let (code, _, err) = run_cli(&env, &["suspend", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_of(&url).await, 403);
    let (code, _, err) = run_cli(&env, &["restore", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_of(&url).await, 200);

    // Without --yes and without a terminal, delete refuses (exit 2) and deletes nothing.
    let (code, _, err) = run_cli(&env, &["delete", &file_id]).await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(status_of(&url).await, 200);
    let (code, out, err) = run_cli(&env, &["delete", &file_id, "--yes"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted"));
    assert_eq!(status_of(&url).await, 410);

    let (code, _, err) = run_cli(&env, &["info", &file_id]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("deleted"), "{err}");

    // Acting on a deleted file is a clear failure, not a crash.
    let (code, _, err) = run_cli(&env, &["suspend", &file_id]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("no media with FileId {file_id} in VOD")),
        "{err}"
    );
    // Named once, not twice.
    assert_eq!(err.matches(file_id.as_str()).count(), 1, "{err}");
    emu.handle.shutdown().await;
}

/// Ctrl-C while `publish --wait` waits stops the waiting, not the review: the task id is still
/// printed, and the message says the review goes on and how to check it.
#[tokio::test]
async fn ctrl_c_during_wait_keeps_the_task_id_and_says_the_review_goes_on() {
    let emu = Emu::start(|f| f.review_delay = Duration::from_secs(60)).await;
    let file_id = emu
        .upload("interrupted", "mp4", &vec![5u8; 32 * 1024])
        .await;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    command
        .args(["publish", &file_id, "--wait", "--json"])
        .env_clear()
        .envs(emu.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    // Waiting has begun once the review task is being polled.
    let started = std::time::Instant::now();
    while emu.handle.counters().action("DescribeTaskDetail") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "publish never polled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("publish stopped on Ctrl-C")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["state"], "under_review");
    let task_id = line["task_id"].as_str().unwrap();
    assert!(!task_id.is_empty());
    assert!(stderr.contains("goes on at the service"), "{stderr}");
    assert!(stderr.contains(task_id), "{stderr}");
    assert!(
        stderr.contains(&format!("voddesk publish {file_id} --wait")),
        "{stderr}"
    );

    // Running publish again follows that review instead of starting another.
    let env = emu.env();
    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let again: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(again["task_id"], task_id);
    assert_eq!(again["state"], "under_review");
    assert_eq!(emu.handle.counters().action("WeChatMiniProgramPublish"), 1);
    let (code, out, err) = run_cli(&env, &["info", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("under review for"), "{out}");
    assert!(out.contains(task_id), "{out}");
    emu.handle.shutdown().await;
}

/// A review is remembered by FileId: running publish again (or with --wait after a run
/// without) follows it, and the queue's item of that file shows each change of its
/// publication, down to its deletion.
#[tokio::test]
async fn publish_again_follows_the_review_and_the_queue_keeps_in_step() {
    let emu = Emu::start(|f| f.review_delay = Duration::from_millis(1500)).await;
    let env = emu.env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("上新 clip.mp4");
    std::fs::write(&path, vec![9u8; 50_000]).unwrap();
    let (code, out, err) = run_cli(&env, &["upload", path.to_str().unwrap(), "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let uploaded: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let file_id = uploaded["file_id"].as_str().unwrap().to_owned();
    let queue = || async {
        let (code, out, err) = run_cli(&env, &["queue", "--json"]).await;
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    assert_eq!(queue().await["publish"], "not_published");

    // Runs started together submit one review between them.
    let runs = {
        let args = ["publish", file_id.as_str()];
        futures_util::future::join_all((0..3).map(|_| run_cli(&env, &args))).await
    };
    for (code, _, err) in &runs {
        assert_eq!(*code, 0, "{err}");
    }
    let said: Vec<&str> = runs.iter().map(|(_, out, _)| out.as_str()).collect();
    assert_eq!(
        said.iter()
            .filter(|out| out.contains("submitted for WeChat review"))
            .count(),
        1,
        "{said:?}"
    );
    assert_eq!(emu.handle.counters().action("WeChatMiniProgramPublish"), 1);
    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let first: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(first["state"], "under_review");
    let (code, out, err) = run_cli(&env, &["publish", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already under review"), "{out}");
    assert!(out.contains("not submitted again"), "{out}");
    assert_eq!(queue().await["publish"], "under_review");

    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--wait", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let done: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done["state"], "published");
    assert_eq!(done["task_id"], first["task_id"]);
    assert_eq!(
        emu.handle.counters().action("WeChatMiniProgramPublish"),
        1,
        "one review, followed by every run"
    );
    let listed = queue().await;
    assert_eq!(listed["publish"], "published");
    assert_eq!(listed["publish_url"], done["url"]);

    let (code, out, err) = run_cli(&env, &["suspend", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": suspended"), "{out}");
    let (code, out, err) = run_cli(&env, &["suspend", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already suspended"), "{out}");
    assert_eq!(queue().await["publish"], "suspended");
    let (code, _, err) = run_cli(&env, &["restore", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(queue().await["publish"], "published");

    // Published once, then submitted again: info shows the earlier URL and the review now
    // running, and the next run follows that review.
    emu.handle
        .update_faults(|f| f.review_delay = Duration::from_secs(600));
    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let second: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_ne!(second["task_id"], first["task_id"]);
    let (code, out, err) = run_cli(&env, &["info", &file_id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("published: http"), "{out}");
    assert!(out.contains("under review for"), "{out}");
    let (code, out, err) = run_cli(&env, &["publish", &file_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let again: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(again["task_id"], second["task_id"]);
    assert_eq!(emu.handle.counters().action("WeChatMiniProgramPublish"), 2);

    let (code, _, err) = run_cli(&env, &["delete", &file_id, "--yes"]).await;
    assert_eq!(code, 0, "{err}");
    let listed = queue().await;
    assert_eq!(listed["publish"], "deleted_from_vod");
    assert_eq!(listed["publish_url"], serde_json::Value::Null);
    let (code, out, err) = run_cli(&env, &["queue"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted from VOD"), "{out}");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn auto_pick_chooses_the_highest_bitrate_mp4() {
    let emu = Emu::start(|f| f.review_delay = Duration::from_millis(300)).await;
    let file_id = emu.upload("source", "mov", &vec![1u8; 10_000]).await;
    let infos = emu
        .vod()
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![file_id.clone()],
            sub_app_id: None,
            filters: None,
        })
        .await
        .unwrap();
    let outputs = &infos.media_info_set[0]
        .transcode_info
        .as_ref()
        .unwrap()
        .transcode_set;
    let best_mp4 = outputs
        .iter()
        .filter(|t| t.definition != 0 && t.container.eq_ignore_ascii_case("mp4"))
        .max_by_key(|t| t.bitrate)
        .unwrap();
    // The emulator offers a non-MP4 output with an even higher bitrate: it must be skipped.
    assert!(
        outputs
            .iter()
            .any(|t| !t.container.eq_ignore_ascii_case("mp4") && t.bitrate > best_mp4.bitrate),
        "{outputs:?}"
    );
    let publisher = Publisher::new(emu.vod(), None);
    let submitted = publisher.submit(&file_id, None).await.unwrap();
    assert_eq!(submitted.definition, best_mp4.definition);
    let outcome = publisher
        .wait_review(&submitted.task_id, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome, ReviewOutcome::Passed);
    let url = publisher
        .published_url(&file_id, submitted.definition)
        .await
        .unwrap();
    assert!(url.contains("/wechat/"), "{url}");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn rejected_audio_and_unverified_are_explained() {
    let emu = Emu::start(|f| {
        f.review_delay = Duration::from_millis(300);
        f.reject_publish = true;
    })
    .await;
    let env = emu.env();
    let video = emu.upload("clip", "mp4", &vec![2u8; 10_000]).await;
    let (code, out, err) = run_cli(&env, &["publish", &video, "--wait", "--json"]).await;
    assert_eq!(code, 1, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["publish_result"], "Rejected");
    assert!(err.contains("rejected"), "{err}");
    // A review followed without --wait: info says how it ended.
    let (code, _, err) = run_cli(&env, &["publish", &video]).await;
    assert_eq!(code, 0, "{err}");
    let started = std::time::Instant::now();
    loop {
        let (code, out, err) = run_cli(&env, &["info", &video]).await;
        assert_eq!(code, 0, "{err}");
        if out.contains("rejected the video") {
            break;
        }
        assert!(out.contains("under review"), "{out}");
        assert!(started.elapsed() < Duration::from_secs(20), "{out}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let audio = emu.upload("podcast", "mp3", &vec![3u8; 10_000]).await;
    let (code, _, err) = run_cli(&env, &["publish", &audio]).await;
    assert_eq!(code, 1);
    assert!(err.contains("audio"), "{err}");
    // Forcing definition 0 reaches the service, whose refusal is explained too.
    let (code, _, err) = run_cli(&env, &["publish", &audio, "--definition", "0"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("only videos"), "{err}");
    assert!(err.contains("RequestId"), "{err}");

    emu.handle.update_faults(|f| f.unverified_account = true);
    let (code, _, err) = run_cli(&env, &["publish", &video]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("Console → User Center → Account Information"),
        "{err}"
    );
    assert!(err.contains("RequestId"), "{err}");
    assert!(!err.contains(&emu.secret_key));
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn library_lists_newest_first_with_publish_state() {
    let emu = Emu::start(|f| f.review_delay = Duration::from_millis(200)).await;
    let first = emu.upload("first", "mp4", &vec![4u8; 5_000]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = emu.upload("second", "mp4", &vec![5u8; 5_000]).await;
    let publisher = Publisher::new(emu.vod(), None);
    let submitted = publisher.submit(&first, Some(0)).await.unwrap();
    publisher
        .wait_review(&submitted.task_id, Duration::ZERO)
        .await
        .unwrap();
    let page = publisher.search(None, 0, 10).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.entries[0].file_id, second);
    assert_eq!(page.entries[1].file_id, first);
    assert!(matches!(
        page.entries[1].publish,
        voddesk::engine::api::PublishState::Published { .. }
    ));
    let named = publisher.search(Some("seco"), 0, 10).await.unwrap();
    assert_eq!(named.entries.len(), 1);
    assert_eq!(named.entries[0].file_id, second);
    emu.handle.shutdown().await;
}
