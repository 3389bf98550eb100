//! WeChat Work (WeCom) temporary media: `gettoken`, `media/upload`, `media/get`.
//!
//! The access token is cached and refreshed a minute before it expires and whenever the
//! service says it is invalid or expired (40014, 42001), with a cap on those refreshes. Limits
//! are checked before anything is sent so the user learns the rule, not an errcode.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::model::WeComMediaType;

mod download;
mod limits;

pub use download::{disposition_file_name, sanitize_file_name};
pub use limits::check_limits;

/// How long a media_id lives.
pub const MEDIA_LIFETIME_SECONDS: i64 = 3 * 24 * 3600;
/// The pieces a media/upload body is handed to the connection in (progress granularity).
const UPLOAD_CHUNK: usize = 256 * 1024;
/// Token refreshes forced by 40014/42001 before giving up on one call.
const MAX_TOKEN_REFRESHES: u32 = 2;
/// Refresh this long before the token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A WeCom error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeComError {
    /// A rule was broken before sending.
    #[error("{path}: {rule}")]
    Limit {
        /// The rule, in plain words.
        rule: String,
        /// The file.
        path: String,
    },
    /// The service answered with a non-zero errcode.
    #[error("WeCom error {errcode}: {message}")]
    Service {
        /// The errcode.
        errcode: i64,
        /// Plain words (the service's errmsg appended).
        message: String,
    },
    /// No HTTP answer.
    #[error("could not reach WeCom: {0}")]
    Network(String),
    /// An answer that could not be read.
    #[error("WeCom answered with something this client cannot read: {0}")]
    Malformed(String),
    /// A local file problem.
    #[error("{detail}: {path}")]
    File {
        /// What went wrong.
        detail: String,
        /// The path.
        path: String,
    },
}

/// Plain words for the documented errcodes.
#[must_use]
pub fn describe_errcode(errcode: i64) -> &'static str {
    match errcode {
        -1 => "the service is busy; try again",
        40001 => "the application secret is wrong",
        40004 => "the media file type is not accepted for this kind",
        40005 => "the media type parameter is invalid",
        40006 => "the file size is not accepted",
        40007 => "the media_id is invalid or has expired (media live 3 days)",
        40009 => "the image is too large",
        40011 => "the video is too large",
        40013 => "the CorpID is wrong",
        40014 | 42001 => "the access token is invalid or expired",
        41001 => "the access token is missing",
        44001 => "the media file is empty",
        45001 => "the media file is larger than the service allows",
        45009 => "too many calls; the service's frequency limit was reached",
        48002 => "this application may not call this API",
        60020 => "this machine's IP address is not on the application's allow-list",
        830002 => "the file is larger than 20 MB and must be fetched in ranges",
        _ => "unknown error",
    }
}

/// Reads a WeCom JSON answer tolerantly: `null` is taken as absent, unknown fields are ignored.
async fn read_json<T: serde::de::DeserializeOwned>(
    call: &str,
    response: reqwest::Response,
) -> Result<T, WeComError> {
    let bytes = response.bytes().await.map_err(network)?;
    crate::tencent::lenient::from_slice(&bytes)
        .map_err(|err| WeComError::Malformed(format!("{call}: {err}")))
}

/// An answer that says success but lacks what the call is for.
fn missing_field(call: &str, field: &str) -> WeComError {
    WeComError::Malformed(format!(
        "{call} answered errcode 0 without {field}; nothing can be done without it, try again later"
    ))
}

fn service_error(errcode: i64, errmsg: &str) -> WeComError {
    WeComError::Service {
        errcode,
        message: format!("{} ({errmsg})", describe_errcode(errcode)),
    }
}

/// The result of an upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Uploaded {
    /// Valid for 3 days.
    pub media_id: String,
    /// `image`, `voice`, `video` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct UploadAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    media_id: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    created_at: serde_json::Value,
}

impl UploadAnswer {
    /// The upload's result from a successful answer; `kind` is the type asked for, taken when
    /// the answer names none.
    fn uploaded(self, kind: WeComMediaType) -> Uploaded {
        // Documented as a string of Unix seconds; a number is taken too. Without one, the
        // media was created just now, when the answer came: its 3 days run from then, which
        // errs on the short side by the time of the answer.
        let created_at = match &self.created_at {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
        Uploaded {
            media_id: self.media_id,
            kind: if self.kind.is_empty() {
                kind.as_str().to_owned()
            } else {
                self.kind
            },
            created_at,
            expires_at: created_at + MEDIA_LIFETIME_SECONDS,
        }
    }
}

/// The `media/upload` form: the file's `bytes` as its one part, named `name`, handed to the
/// connection in pieces of [`UPLOAD_CHUNK`] that are added to `sent` as they go.
fn media_form(
    bytes: bytes::Bytes,
    name: &str,
    sent: Option<Arc<AtomicU64>>,
) -> Result<reqwest::multipart::Form, WeComError> {
    let len = bytes.len() as u64;
    let chunks = (0..bytes.len()).step_by(UPLOAD_CHUNK).map(move |at| {
        let chunk = bytes.slice(at..(at + UPLOAD_CHUNK).min(bytes.len()));
        if let Some(counter) = &sent {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    // With its length given, the form is sent with a Content-Length, not chunked.
    let part = reqwest::multipart::Part::stream_with_length(body, len)
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .map_err(|err| WeComError::Malformed(err.to_string()))?;
    Ok(reqwest::multipart::Form::new().part("media", part))
}

struct CachedToken {
    token: String,
    expires: Instant,
}

/// A WeCom client for one application, with a cached token.
pub struct WeComClient {
    http: reqwest::Client,
    base: String,
    corp_id: String,
    secret: String,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for WeComClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeComClient")
            .field("base", &self.base)
            .field("corp_id", &self.corp_id)
            .finish_non_exhaustive()
    }
}

/// The network error, without the request's query: WeCom takes the corp secret (`gettoken`)
/// and the access token in the URL, and reqwest's message would show them.
fn network(mut err: reqwest::Error) -> WeComError {
    if let Some(url) = err.url_mut() {
        url.set_query(None);
    }
    WeComError::Network(crate::tencent::error::with_causes(&err))
}

impl WeComClient {
    /// A client for `base` (e.g. `https://qyapi.weixin.qq.com` or an emulator).
    #[must_use]
    pub fn new(http: reqwest::Client, base: &str, corp_id: &str, secret: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            corp_id: corp_id.to_owned(),
            secret: secret.to_owned(),
            token: Mutex::new(None),
        }
    }

    /// The application's CorpID.
    #[must_use]
    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// The WeCom base URL this client calls.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The cached token, fetched when absent, near expiry, or `force`d.
    async fn token(&self, force: bool) -> Result<String, WeComError> {
        let mut slot = self.token.lock().await;
        if !force
            && let Some(cached) = slot.as_ref()
            && cached.expires > Instant::now() + REFRESH_MARGIN
        {
            return Ok(cached.token.clone());
        }
        let response = self
            .http
            .get(format!("{}/cgi-bin/gettoken", self.base))
            .query(&[("corpid", &self.corp_id), ("corpsecret", &self.secret)])
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(network)?;
        let answer: TokenAnswer = read_json("gettoken", response).await?;
        if answer.errcode != 0 {
            return Err(service_error(answer.errcode, &answer.errmsg));
        }
        if answer.access_token.trim().is_empty() {
            return Err(missing_field("gettoken", "access_token"));
        }
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        *slot = Some(CachedToken {
            token: answer.access_token.clone(),
            expires: Instant::now() + lifetime,
        });
        Ok(answer.access_token)
    }

    /// Uploads `path` as temporary media of `kind`.
    ///
    /// # Errors
    /// Limits, file, network and service errors.
    pub async fn upload(&self, path: &Path, kind: WeComMediaType) -> Result<Uploaded, WeComError> {
        self.upload_counted(path, kind, None).await
    }

    /// [`Self::upload`], adding the file's bytes to `sent` as they are handed to the
    /// connection, for a progress display. An attempt after a token refresh starts again
    /// from where `sent` stood at the call.
    ///
    /// # Errors
    /// Limits, file, network and service errors.
    pub async fn upload_counted(
        &self,
        path: &Path,
        kind: WeComMediaType,
        sent: Option<Arc<AtomicU64>>,
    ) -> Result<Uploaded, WeComError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("media")
            .to_owned();
        let file_error = |err: std::io::Error| WeComError::File {
            detail: err.to_string(),
            path: path.display().to_string(),
        };
        let size = tokio::fs::metadata(path).await.map_err(file_error)?.len();
        check_limits(kind, &name, size)?;
        let mut refreshes = 0;
        let mut force = false;
        // Where `sent` stood before the first attempt: an attempt after a token refresh
        // counts from there again, not on top of the bytes the refused one sent.
        let before = sent.as_ref().map(|counter| counter.load(Ordering::Relaxed));
        loop {
            if let (Some(counter), Some(before)) = (&sent, before) {
                counter.store(before, Ordering::Relaxed);
            }
            let token = self.token(force).await?;
            // At most 20 MB, so reading it whole is bounded.
            let bytes = bytes::Bytes::from(tokio::fs::read(path).await.map_err(file_error)?);
            let form = media_form(bytes, &name, sent.clone())?;
            let response = self
                .http
                .post(format!("{}/cgi-bin/media/upload", self.base))
                .query(&[("access_token", token.as_str()), ("type", kind.as_str())])
                .multipart(form)
                .timeout(Duration::from_secs(300))
                .send()
                .await
                .map_err(network)?;
            let answer: UploadAnswer = read_json("media/upload", response).await?;
            match answer.errcode {
                0 if answer.media_id.trim().is_empty() => {
                    return Err(missing_field("media/upload", "media_id"));
                }
                0 => return Ok(answer.uploaded(kind)),
                40014 | 42001 if refreshes < MAX_TOKEN_REFRESHES => {
                    refreshes += 1;
                    force = true;
                }
                code => return Err(service_error(code, &answer.errmsg)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_service_is_said_without_the_secret() {
        // Nothing listens on port 1 of loopback.
        let client = WeComClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:1",
            "wwcorp",
            "the-corp-secret",
        );
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("a.png");
        std::fs::write(&image, b"\x89PNG\r\n\x1a\n-image-bytes").unwrap();
        let err = client
            .upload(&image, WeComMediaType::Image)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("could not reach WeCom"), "{err}");
        assert!(err.contains("/cgi-bin/gettoken"), "{err}");
        assert!(!err.contains("the-corp-secret"), "{err}");
        assert!(!err.contains("corpsecret"), "{err}");
    }
}
