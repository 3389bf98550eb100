//! The conformance suite (tests/conformance/conformance.py): Tencent's official Python SDKs and
//! wechatpy against the emulator started in-process. Runs when `VODDESK_SDK_PYTHON` names a
//! Python with those packages (scripts/test.sh sets it); otherwise it says so and passes.

use std::time::Duration;

use voddesk::emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_WECOM_CORP_ID, DEMO_WECOM_SECRET};

use crate::emulator_support::start_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_conform() {
    let Some(python) = std::env::var_os("VODDESK_SDK_PYTHON") else {
        eprintln!(
            "conformance suite skipped: set VODDESK_SDK_PYTHON to a Python with \
             tencentcloud-sdk-python-vod, cos-python-sdk-v5, vod-python-sdk and wechatpy \
             (scripts/test.sh does)"
        );
        return;
    };
    let emu = start_with(|c| c.faults.review_delay = Duration::from_millis(800)).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/conformance.py"
    );
    let output = tokio::process::Command::new(python)
        .arg(script)
        .args(["--base", &emu.base])
        .args([
            "--secret-id",
            DEMO_SECRET_ID,
            "--secret-key",
            DEMO_SECRET_KEY,
        ])
        .args([
            "--wecom-corp",
            DEMO_WECOM_CORP_ID,
            "--wecom-secret",
            DEMO_WECOM_SECRET,
        ])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        output.status.success() && summary.ends_with(" 0 failed"),
        "conformance failed ({summary}):\n{stdout}\n{stderr}"
    );
    emu.handle.shutdown().await;
}
