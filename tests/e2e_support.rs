//! Shared helpers for end-to-end tests: an in-process emulator and direct uploads through the
//! crate's own clients.

use std::sync::Arc;

use voddesk::emulator::{self, EmulatorHandle, Faults};
use voddesk::tencent::Credentials;
use voddesk::tencent::clock::Clock;
use voddesk::tencent::cos::{CosClient, CosTarget, FileSlice};
use voddesk::tencent::models::{ApplyUploadRequest, CommitUploadRequest};
use voddesk::tencent::vod::{VodClient, http_client};

/// An emulator on 127.0.0.1:0 (started as the engine tests start theirs), with the demo
/// credentials it accepts and a directory for client-side files.
pub struct Emu {
    pub handle: EmulatorHandle,
    pub base: String,
    pub secret_id: String,
    pub secret_key: String,
    pub wecom_corp_id: String,
    pub wecom_secret: String,
    pub dir: tempfile::TempDir,
    _emulator_dir: tempfile::TempDir,
}

impl Emu {
    pub async fn start(change: impl FnOnce(&mut Faults)) -> Self {
        let mut faults = Faults::default();
        change(&mut faults);
        let started = crate::support::emulator(faults).await;
        Self {
            handle: started.handle,
            base: started.base,
            secret_id: emulator::DEMO_SECRET_ID.to_owned(),
            secret_key: emulator::DEMO_SECRET_KEY.to_owned(),
            wecom_corp_id: emulator::DEMO_WECOM_CORP_ID.to_owned(),
            wecom_secret: emulator::DEMO_WECOM_SECRET.to_owned(),
            dir: tempfile::tempdir().unwrap(),
            _emulator_dir: started._dir,
        }
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.secret_id, &self.secret_key)
    }

    pub fn vod(&self) -> VodClient {
        VodClient::new(
            http_client().unwrap(),
            &self.base,
            "ap-guangzhou",
            self.credentials(),
            Arc::new(Clock::new()),
        )
        .unwrap()
    }

    /// Environment for running the real binary against this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TENCENTCLOUD_SECRET_ID", self.secret_id.clone()),
            ("TENCENTCLOUD_SECRET_KEY", self.secret_key.clone()),
            ("VODDESK_VOD_ENDPOINT", self.base.clone()),
            ("VODDESK_COS_ENDPOINT", self.base.clone()),
            ("VODDESK_UGC_ENDPOINT", self.base.clone()),
            ("VODDESK_WECOM_ENDPOINT", self.base.clone()),
            ("WECOM_CORP_ID", self.wecom_corp_id.clone()),
            ("WECOM_CORP_SECRET", self.wecom_secret.clone()),
            (
                "VODDESK_DATA_DIR",
                self.dir.path().join("client").display().to_string(),
            ),
        ]
    }

    /// Uploads `bytes` as a media file of type `ext` through ApplyUpload → PutObject →
    /// CommitUpload with the crate's clients; returns the FileId.
    pub async fn upload(&self, name: &str, ext: &str, bytes: &[u8]) -> String {
        let vod = self.vod();
        let applied = vod
            .call(&ApplyUploadRequest {
                media_type: ext.into(),
                media_name: Some(name.into()),
                ..ApplyUploadRequest::default()
            })
            .await
            .unwrap();
        let cert = applied.temp_certificate.clone().unwrap();
        let cos = CosClient::new(
            http_client().unwrap(),
            CosTarget {
                bucket: applied.storage_bucket.clone(),
                region: applied.storage_region.clone(),
                endpoint: Some(self.base.clone()),
            },
            Credentials::new(cert.secret_id, cert.secret_key).with_token(Some(cert.token)),
            Arc::new(Clock::new()),
        );
        let path = self.dir.path().join(format!("{name}.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        cos.put_object(
            &applied.media_storage_path,
            &FileSlice {
                path,
                offset: 0,
                len: bytes.len() as u64,
                limiter: None,
                sent: None,
                wire: None,
            },
            "application/octet-stream",
        )
        .await
        .unwrap();
        vod.call(&CommitUploadRequest {
            vod_session_key: applied.vod_session_key,
            sub_app_id: None,
        })
        .await
        .unwrap()
        .file_id
    }
}

/// Runs the real binary with `env` and `args`; returns (exit code, stdout, stderr).
pub async fn run_cli(env: &[(&'static str, String)], args: &[&str]) -> (i32, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    command
        .args(args)
        .env_clear()
        .stdin(std::process::Stdio::null());
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
