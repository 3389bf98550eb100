//! The conformance suite (tests/conformance/conformance.py): Tencent's official Python SDKs and
//! wechatpy against the emulator started in-process. `VODDESK_SDK_PYTHON` must name a Python
//! with the pinned packages of `tests/conformance/requirements.txt` (scripts/test.sh makes one
//! and sets it). Without it the test fails and says how to get one: a suite that cannot run
//! must not read as a suite that passed.

use std::time::Duration;

use voddesk::emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_WECOM_CORP_ID, DEMO_WECOM_SECRET};

use crate::emulator_support::start_with;

/// The checks `conformance.py` runs when all goes well.
const MIN_CHECKS: usize = 22;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_conform() {
    let python = std::env::var_os("VODDESK_SDK_PYTHON").filter(|p| !p.is_empty());
    let Some(python) = python else {
        panic!(
            "the conformance suite did not run: VODDESK_SDK_PYTHON is not set. Run \
             `bash scripts/test.sh` (it makes .venv-sdk with the SDK versions pinned in \
             tests/conformance/requirements.txt and sets it), or set VODDESK_SDK_PYTHON to \
             such a Python, e.g. VODDESK_SDK_PYTHON=$PWD/.venv-sdk/bin/python"
        );
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
    // "N passed, 0 failed" with every check of the suite run: a branch skipped for want of an
    // earlier result must not shrink the suite into a pass.
    let passed: usize = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(
        output.status.success() && summary.ends_with(" 0 failed") && passed >= MIN_CHECKS,
        "conformance failed ({summary}; at least {MIN_CHECKS} checks must pass):\n{stdout}\n{stderr}"
    );
    emu.handle.shutdown().await;
}
