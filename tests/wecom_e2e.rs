//! WeChat Work temporary media through the CLI against the emulator.

use crate::e2e_support::{Emu, run_cli};

#[tokio::test]
async fn upload_get_and_limits() {
    let emu = Emu::start(|_| {}).await;
    let env = emu.env();
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("短片 clip.mp4");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&video, &bytes).unwrap();

    let (code, out, err) = run_cli(
        &env,
        &[
            "wecom",
            "upload",
            video.to_str().unwrap(),
            "--type",
            "video",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let media_id = line["media_id"].as_str().unwrap().to_owned();
    assert_eq!(line["type"], "video");
    let created = line["created_at"].as_i64().unwrap();
    assert!(created > 1_700_000_000);
    assert_eq!(
        line["expires_at"].as_i64().unwrap(),
        created + 3 * 24 * 3600
    );

    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (code, out, err) = run_cli(
        &env,
        &[
            "wecom",
            "get",
            &media_id,
            "--output",
            out_dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let written = std::path::PathBuf::from(out.trim());
    // Saved under the name it was sent with, Chinese included.
    assert_eq!(written, out_dir.join("短片 clip.mp4"));
    assert_eq!(std::fs::read(&written).unwrap(), bytes);
    // A second download into the same folder leaves the first file alone.
    std::fs::write(&written, b"edited locally").unwrap();
    let (code, out, err) = run_cli(
        &env,
        &[
            "wecom",
            "get",
            &media_id,
            "--output",
            out_dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::path::PathBuf::from(out.trim()),
        out_dir.join("短片 clip (2).mp4")
    );
    assert_eq!(
        std::fs::read(out_dir.join("短片 clip (2).mp4")).unwrap(),
        bytes
    );
    assert_eq!(std::fs::read(&written).unwrap(), b"edited locally");

    // `--output -` writes the media to standard output, and nothing else.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "第一行\nsecond line\n").unwrap();
    let (code, out, err) = run_cli(
        &env,
        &[
            "wecom",
            "upload",
            notes.to_str().unwrap(),
            "--type",
            "file",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let notes_id = line["media_id"].as_str().unwrap().to_owned();
    let (code, out, err) = run_cli(&env, &["wecom", "get", &notes_id, "--output", "-"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "第一行\nsecond line\n");
    assert!(!std::path::Path::new("-").exists());
    // So does a device named as the output: the line saying where the file went is left out.
    let (code, out, err) = run_cli(
        &env,
        &["wecom", "get", &notes_id, "--output", "/dev/stdout"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "第一行\nsecond line\n");

    // Checked before sending, with the rule named.
    let big = dir.path().join("big.mp4");
    std::fs::write(&big, vec![0u8; 10 * 1024 * 1024 + 1]).unwrap();
    let uploads_before = emu.handle.counters().action("media/upload");
    let (code, _, err) = run_cli(
        &env,
        &["wecom", "upload", big.to_str().unwrap(), "--type", "video"],
    )
    .await;
    assert_eq!(code, 1);
    // The client's own rule, not WeCom's answer (45001) passed on: nothing was sent.
    assert!(err.contains("WeCom video must be at most 10 MB"), "{err}");
    assert!(!err.contains("45001"), "{err}");
    assert_eq!(
        emu.handle.counters().action("media/upload"),
        uploads_before,
        "the file was sent"
    );

    let (code, _, err) = run_cli(
        &env,
        &[
            "wecom",
            "get",
            "no-such-media",
            "--output",
            out_dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("40007"), "{err}");

    let mut wrong = env.clone();
    wrong.retain(|(name, _)| *name != "WECOM_CORP_SECRET");
    wrong.push(("WECOM_CORP_SECRET", "wrong".into()));
    let (code, _, err) = run_cli(
        &wrong,
        &[
            "wecom",
            "upload",
            video.to_str().unwrap(),
            "--type",
            "video",
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("40001") && err.contains("secret"), "{err}");
    emu.handle.shutdown().await;
}
