//! Helpers shared by the emulator tests: an in-process emulator on 127.0.0.1:0 with fast
//! timings, `wait_for`, and raw signed requests for the cases the crate's clients refuse to
//! send.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use voddesk::emulator::{self, EmulatorConfig, EmulatorHandle, Faults};
use voddesk::tencent::clock::Clock;
use voddesk::tencent::cos::{CosClient, CosTarget, FileSlice};
use voddesk::tencent::models::{ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest};
use voddesk::tencent::retry::RetryPolicy;
use voddesk::tencent::vod::VodClient;
use voddesk::tencent::{Credentials, cos_sign, tc3};

/// A running emulator and its data directory.
pub struct TestEmulator {
    pub handle: EmulatorHandle,
    pub base: String,
    pub dir: tempfile::TempDir,
}

/// Faults with timings small enough for tests.
pub fn fast_faults() -> Faults {
    Faults {
        review_delay: Duration::from_millis(600),
        ..Faults::default()
    }
}

/// Starts an emulator with the demo credentials and fast timings.
pub async fn start() -> TestEmulator {
    start_with(|_| {}).await
}

/// Starts an emulator after `change` adjusted its configuration.
pub async fn start_with(change: impl FnOnce(&mut EmulatorConfig)) -> TestEmulator {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::with_data_dir(dir.path());
    config.faults = fast_faults();
    change(&mut config);
    let (addr, handle) = emulator::spawn(config).await.unwrap();
    TestEmulator {
        handle,
        base: format!("http://{addr}"),
        dir,
    }
}

/// Polls `predicate` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub async fn wait_for<F, Fut>(mut predicate: F, timeout: Duration) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if predicate().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A plain HTTP client that never goes through a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The demo key.
pub fn demo_credentials() -> Credentials {
    Credentials::new(emulator::DEMO_SECRET_ID, emulator::DEMO_SECRET_KEY)
}

/// The crate's VOD client against the emulator, without retries.
pub fn vod(emu: &TestEmulator) -> VodClient {
    VodClient::new(
        http(),
        &emu.base,
        "ap-guangzhou",
        demo_credentials(),
        Arc::new(Clock::new()),
    )
    .unwrap()
    .with_retry(RetryPolicy::none())
}

/// The crate's COS client for the bucket of an ApplyUpload answer.
pub fn cos(emu: &TestEmulator, applied: &ApplyUploadResponse) -> CosClient {
    let cert = applied.temp_certificate.clone().unwrap();
    CosClient::new(
        http(),
        CosTarget {
            bucket: applied.storage_bucket.clone(),
            region: applied.storage_region.clone(),
            endpoint: Some(emu.base.clone()),
        },
        Credentials::new(cert.secret_id, cert.secret_key).with_token(Some(cert.token)),
        Arc::new(Clock::new()),
    )
}

/// Writes `bytes` to a file in the emulator's temp dir and returns a slice of all of it.
pub fn slice_of(emu: &TestEmulator, name: &str, bytes: &[u8]) -> FileSlice {
    let path = emu.dir.path().join(format!("src-{name}"));
    std::fs::write(&path, bytes).unwrap();
    FileSlice {
        path,
        offset: 0,
        len: bytes.len() as u64,
        limiter: None,
        sent: None,
        wire: None,
    }
}

/// Deterministic test bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// ApplyUpload → PutObject → CommitUpload; returns the FileId and the media URL.
pub async fn make_media(emu: &TestEmulator, media_type: &str, content: &[u8]) -> (String, String) {
    let (file_id, media_url, _) = make_media_at(emu, media_type, content).await;
    (file_id, media_url)
}

/// [`make_media`], with the object key its bytes are stored under.
pub async fn make_media_at(
    emu: &TestEmulator,
    media_type: &str,
    content: &[u8],
) -> (String, String, String) {
    let client = vod(emu);
    let applied = client
        .call(&ApplyUploadRequest {
            media_type: media_type.to_owned(),
            media_name: Some(format!("test {media_type}")),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap();
    let cos = cos(emu, &applied);
    let slice = slice_of(emu, media_type, content);
    cos.put_object(&applied.media_storage_path, &slice, "video/mp4")
        .await
        .unwrap();
    let committed = client
        .call(&CommitUploadRequest {
            vod_session_key: applied.vod_session_key,
            sub_app_id: None,
        })
        .await
        .unwrap();
    (
        committed.file_id,
        committed.media_url,
        applied.media_storage_path,
    )
}

/// A raw, signed API 3.0 call: `(HTTP status, headers, JSON body)`.
pub struct RawCall<'a> {
    pub action: Option<&'a str>,
    pub version: &'a str,
    pub body: &'a [u8],
    /// Body the signature is computed over (defaults to `body`).
    pub signed_body: Option<&'a [u8]>,
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    pub token: Option<&'a str>,
    pub timestamp: i64,
}

impl<'a> RawCall<'a> {
    pub fn new(action: &'a str, body: &'a [u8]) -> Self {
        Self {
            action: Some(action),
            version: tc3::VOD_VERSION,
            body,
            signed_body: None,
            secret_id: emulator::DEMO_SECRET_ID,
            secret_key: emulator::DEMO_SECRET_KEY,
            token: None,
            timestamp: chrono::Utc::now().timestamp(),
        }
    }

    pub async fn send(&self, base: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        let host = base.trim_start_matches("http://");
        let auth = tc3::authorization(
            self.secret_id,
            self.secret_key,
            tc3::VOD_SERVICE,
            host,
            "application/json",
            self.signed_body.unwrap_or(self.body),
            self.timestamp,
        );
        let mut request = http()
            .post(format!("{base}/"))
            .header("Content-Type", "application/json")
            .header("X-TC-Version", self.version)
            .header("X-TC-Timestamp", self.timestamp.to_string())
            .header("Authorization", auth)
            .body(self.body.to_vec());
        if let Some(action) = self.action {
            request = request.header("X-TC-Action", action);
        }
        if let Some(token) = self.token {
            request = request.header("X-TC-Token", token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        (status, headers, body)
    }
}

/// The error code of an envelope, or `None` on success.
pub fn error_code(body: &Value) -> Option<String> {
    body["Response"]["Error"]["Code"]
        .as_str()
        .map(str::to_owned)
}

/// A raw COS request signed like cos-python-sdk-v5, for cases the crate's client never sends.
pub struct RawCos<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub params: Vec<(&'a str, &'a str)>,
    pub body: Vec<u8>,
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
    pub key_time: cos_sign::KeyTime,
    /// Host to sign (defaults to the sent one, with port).
    pub signed_host: Option<String>,
    /// Send no Authorization at all.
    pub unsigned: bool,
    /// More headers, sent and signed (e.g. `range`, which COS signs).
    pub extra_headers: Vec<(&'a str, String)>,
}

impl<'a> RawCos<'a> {
    pub fn new(method: &'a str, key: &'a str, applied: &ApplyUploadResponse) -> Self {
        let cert = applied.temp_certificate.clone().unwrap();
        Self {
            method,
            key,
            params: Vec::new(),
            body: Vec::new(),
            secret_id: cert.secret_id,
            secret_key: cert.secret_key,
            token: Some(cert.token),
            key_time: cos_sign::KeyTime::around(chrono::Utc::now().timestamp(), 600),
            signed_host: None,
            unsigned: false,
            extra_headers: Vec::new(),
        }
    }

    pub async fn send(&self, base: &str) -> reqwest::Response {
        let host = base.trim_start_matches("http://").to_owned();
        let length = self.body.len().to_string();
        let signed_host = self.signed_host.clone().unwrap_or_else(|| host.clone());
        let mut headers: Vec<(&str, &str)> =
            vec![("content-length", &length), ("host", &signed_host)];
        if let Some(token) = &self.token {
            headers.push(("x-cos-security-token", token));
        }
        for (name, value) in &self.extra_headers {
            headers.push((name, value));
        }
        let auth = cos_sign::authorization(
            &self.secret_id,
            &self.secret_key,
            self.key_time,
            &cos_sign::SignInput {
                method: self.method,
                key: self.key,
                params: &self.params,
                headers: &headers,
            },
        );
        let query: Vec<String> = self
            .params
            .iter()
            .map(|(n, v)| {
                if v.is_empty() {
                    (*n).to_owned()
                } else {
                    format!("{n}={}", voddesk::tencent::encoding::strict(v))
                }
            })
            .collect();
        let mut url = format!("{base}/{}", voddesk::tencent::encoding::key_path(self.key));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = http()
            .request(method, url)
            .header("Content-Length", length.clone())
            .body(self.body.clone());
        if !self.unsigned {
            request = request.header("Authorization", auth);
        }
        if let Some(token) = &self.token {
            request = request.header("x-cos-security-token", token);
        }
        for (name, value) in &self.extra_headers {
            request = request.header(*name, value);
        }
        request.send().await.unwrap()
    }
}

/// The `<Code>` of a COS error body.
pub fn cos_code(text: &str) -> String {
    text.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_default()
        .to_owned()
}
