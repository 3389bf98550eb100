//! WeChat Work (WeCom) temporary media: `gettoken`, `media/upload`, `media/get`.
//!
//! The access token is cached and refreshed a minute before it expires and whenever the
//! service says it is invalid or expired (40014, 42001), with a cap on those refreshes. Limits
//! are checked before anything is sent so the user learns the rule, not an errcode.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::model::WeComMediaType;

/// How long a media_id lives.
pub const MEDIA_LIFETIME_SECONDS: i64 = 3 * 24 * 3600;
/// The largest chunk `media/get` serves in one request.
const GET_CHUNK: u64 = 20 * 1024 * 1024;
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

impl WeComMediaType {
    /// The `type` query value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::File => "file",
        }
    }

    /// The type a file goes as when none is chosen: images, voice and video as themselves
    /// where they are within that type's limits, everything else (a larger MP4 too) as a file.
    #[must_use]
    pub fn for_file(name: &str, size: u64) -> Self {
        [Self::Image, Self::Voice, Self::Video]
            .into_iter()
            .find(|kind| check_limits(*kind, name, size).is_ok())
            .unwrap_or(Self::File)
    }

    /// Parses `image|voice|video|file`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "image" => Some(Self::Image),
            "voice" => Some(Self::Voice),
            "video" => Some(Self::Video),
            "file" => Some(Self::File),
            _ => None,
        }
    }
}

/// Checks the documented limits for `kind` on a file of `size` bytes named `name`.
///
/// # Errors
/// [`WeComError::Limit`] naming the rule broken.
pub fn check_limits(kind: WeComMediaType, name: &str, size: u64) -> Result<(), WeComError> {
    const MB: u64 = 1024 * 1024;
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let limit = |rule: &str| {
        Err(WeComError::Limit {
            rule: rule.to_owned(),
            path: name.to_owned(),
        })
    };
    if size <= 5 {
        return limit("WeCom accepts only files larger than 5 bytes");
    }
    match kind {
        WeComMediaType::Image if !matches!(ext.as_str(), "jpg" | "jpeg" | "png") => {
            limit("WeCom images must be JPG or PNG")
        }
        WeComMediaType::Image if size > 2 * MB => limit("WeCom images must be at most 2 MB"),
        WeComMediaType::Voice if ext != "amr" => limit("WeCom voice must be AMR"),
        WeComMediaType::Voice if size > 2 * MB => {
            limit("WeCom voice must be at most 2 MB (and 60 s)")
        }
        WeComMediaType::Video if ext != "mp4" => limit("WeCom video must be MP4"),
        WeComMediaType::Video if size > 10 * MB => limit("WeCom video must be at most 10 MB"),
        WeComMediaType::File if size > 20 * MB => limit("WeCom files must be at most 20 MB"),
        _ => Ok(()),
    }
}

/// The longest file name most file systems take, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Makes a server-given file name safe to write: no directories, no `..`, no control
/// characters, at most 255 bytes (the extension kept); empty results become `fallback`.
#[must_use]
pub fn sanitize_file_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() || cleaned == ".." {
        return fallback.to_owned();
    }
    if cleaned.len() <= MAX_NAME_BYTES {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (cleaned.as_str(), String::new()),
    };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", stem[..cut].trim_end())
}

/// The file name in a `Content-Disposition` header, when there is one.
#[must_use]
pub fn disposition_file_name(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let (key, value) = part.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
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

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
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
            let len = bytes.len() as u64;
            let counter = sent.clone();
            let chunks = (0..bytes.len()).step_by(UPLOAD_CHUNK).map(move |at| {
                let chunk = bytes.slice(at..(at + UPLOAD_CHUNK).min(bytes.len()));
                if let Some(counter) = &counter {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Ok::<_, std::io::Error>(chunk)
            });
            let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
            // With its length given, the form is sent with a Content-Length, not chunked.
            let part = reqwest::multipart::Part::stream_with_length(body, len)
                .file_name(name.clone())
                .mime_str("application/octet-stream")
                .map_err(|err| WeComError::Malformed(err.to_string()))?;
            let form = reqwest::multipart::Form::new().part("media", part);
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
                0 => {
                    // Documented as a string of Unix seconds; a number is taken too. Without
                    // one, the media was created just now, when the answer came: its 3 days
                    // run from then, which errs on the short side by the time of the answer.
                    let created_at = match &answer.created_at {
                        serde_json::Value::String(s) => s.trim().parse().ok(),
                        serde_json::Value::Number(n) => n.as_i64(),
                        _ => None,
                    }
                    .unwrap_or_else(|| chrono::Utc::now().timestamp());
                    return Ok(Uploaded {
                        media_id: answer.media_id,
                        kind: if answer.kind.is_empty() {
                            kind.as_str().to_owned()
                        } else {
                            answer.kind
                        },
                        created_at,
                        expires_at: created_at + MEDIA_LIFETIME_SECONDS,
                    });
                }
                40014 | 42001 if refreshes < MAX_TOKEN_REFRESHES => {
                    refreshes += 1;
                    force = true;
                }
                code => return Err(service_error(code, &answer.errmsg)),
            }
        }
    }

    /// Downloads `media_id` into `output` when it is a directory (under the server's file name,
    /// sanitised, numbered when taken), to `output` when it names a file, or to standard output
    /// when it is `-`. Returns the path written.
    ///
    /// A file is written under a temporary name in its directory and put in place only once
    /// complete: a download that fails leaves nothing behind, and never touches a file that
    /// is already there (a file named by the user is replaced only by the complete media).
    ///
    /// # Errors
    /// File, network and service errors.
    pub async fn download(&self, media_id: &str, output: &Path) -> Result<PathBuf, WeComError> {
        let target = Target::of(output);
        let mut refreshes = 0;
        let mut force = false;
        let mut sink: Option<Sink> = None;
        let mut name: Option<String> = None;
        let mut offset = 0u64;
        loop {
            let token = self.token(force).await?;
            let range = format!("bytes={}-{}", offset, offset + GET_CHUNK - 1);
            let response = self
                .http
                .get(format!("{}/cgi-bin/media/get", self.base))
                .query(&[("access_token", token.as_str()), ("media_id", media_id)])
                .header("Range", range)
                .timeout(Duration::from_secs(300))
                .send()
                .await
                .map_err(network)?;
            let headers = response.headers().clone();
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            // Names are sent as raw UTF-8 (Chinese ones included), which `to_str` refuses.
            let disposition = headers
                .get("content-disposition")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            // Errors come as JSON (sometimes labelled text/plain) without a file name; media
            // always has one, whatever its type (a .txt file is text/plain too).
            if disposition.is_none()
                && (content_type.contains("json") || content_type.starts_with("text/plain"))
            {
                let answer: ErrorAnswer = read_json("media/get", response).await?;
                if matches!(answer.errcode, 40014 | 42001) && refreshes < MAX_TOKEN_REFRESHES {
                    refreshes += 1;
                    force = true;
                    continue;
                }
                return Err(service_error(answer.errcode, &answer.errmsg));
            }
            let total = headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.parse::<u64>().ok());
            let status = response.status();
            let body = response.bytes().await.map_err(network)?;
            if name.is_none() {
                name = Some(sanitize_file_name(
                    &disposition
                        .as_deref()
                        .and_then(disposition_file_name)
                        .unwrap_or_else(|| media_id.to_owned()),
                    media_id,
                ));
            }
            if sink.is_none() {
                sink = Some(Sink::open(&target).await?);
            }
            let Some(out) = sink.as_mut() else {
                return Err(WeComError::Malformed("no output file".into()));
            };
            out.write(&body, &target).await?;
            offset += body.len() as u64;
            // A server without Range support answers 200 with everything at once.
            let done = status != reqwest::StatusCode::PARTIAL_CONTENT
                || body.is_empty()
                || total.is_none_or(|total| offset >= total);
            if done {
                let (Some(out), Some(name)) = (sink.take(), name.take()) else {
                    return Err(WeComError::Malformed("no output file".into()));
                };
                return out.finish(&target, &name).await;
            }
        }
    }
}

/// Where a download goes, decided before anything is fetched.
enum Target {
    /// A folder: under the server's file name, numbered when that is taken.
    Folder(PathBuf),
    /// A file the user named (followed through symbolic links): replaced when complete, as
    /// with `curl -o`. `shown` is the name as given, for the result.
    File { path: PathBuf, shown: PathBuf },
    /// Standard output (`-`) or something that is not a regular file (`/dev/stdout`, a pipe):
    /// written as it comes, since there is nothing to rename.
    Stream(PathBuf),
}

impl Target {
    fn of(output: &Path) -> Self {
        if output == Path::new("-") {
            return Self::Stream(output.to_path_buf());
        }
        match std::fs::metadata(output) {
            Ok(meta) if meta.is_dir() => Self::Folder(output.to_path_buf()),
            Ok(meta) if !meta.is_file() => Self::Stream(output.to_path_buf()),
            // An existing file is replaced where it really is, so a link to it stays a link.
            Ok(_) => Self::File {
                path: std::fs::canonicalize(output).unwrap_or_else(|_| output.to_path_buf()),
                shown: output.to_path_buf(),
            },
            Err(_) => Self::File {
                path: output.to_path_buf(),
                shown: output.to_path_buf(),
            },
        }
    }

    /// The path errors name: what the user asked for, not the temporary file.
    fn shown(&self) -> &Path {
        match self {
            Self::Folder(path) | Self::Stream(path) | Self::File { shown: path, .. } => path,
        }
    }

    fn error(&self, err: &std::io::Error) -> WeComError {
        WeComError::File {
            detail: err.to_string(),
            path: self.shown().display().to_string(),
        }
    }
}

/// Where the bytes go while they arrive.
enum Sink {
    /// Standard output or a device.
    Stream(Box<dyn tokio::io::AsyncWrite + Unpin + Send>),
    /// A temporary file beside the final one.
    Part(PartFile),
}

impl Sink {
    async fn open(target: &Target) -> Result<Self, WeComError> {
        let opened = match target {
            Target::Stream(path) if path == Path::new("-") => {
                return Ok(Self::Stream(Box::new(tokio::io::stdout())));
            }
            Target::Stream(path) => tokio::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .await
                .map(|file| Self::Stream(Box::new(file))),
            Target::Folder(dir) => PartFile::create(dir).await.map(Self::Part),
            Target::File { path, .. } => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                PartFile::create(dir).await.map(Self::Part)
            }
        };
        opened.map_err(|err| target.error(&err))
    }

    async fn write(&mut self, bytes: &[u8], target: &Target) -> Result<(), WeComError> {
        let written = match self {
            Self::Stream(out) => out.write_all(bytes).await,
            Self::Part(part) => part.write(bytes).await,
        };
        written.map_err(|err| target.error(&err))
    }

    /// Completes the download: flushed, and a file put in place under its final name.
    async fn finish(self, target: &Target, name: &str) -> Result<PathBuf, WeComError> {
        let mut part = match self {
            Self::Stream(mut out) => {
                out.flush().await.map_err(|err| target.error(&err))?;
                return Ok(target.shown().to_path_buf());
            }
            Self::Part(part) => part,
        };
        part.close().await.map_err(|err| target.error(&err))?;
        let placed = match target {
            Target::Folder(dir) => {
                let (dir, name) = (dir.clone(), name.to_owned());
                tokio::task::spawn_blocking(move || part.keep_beside(&dir, &name)).await
            }
            Target::File { path, shown } => {
                let (path, shown) = (path.clone(), shown.clone());
                tokio::task::spawn_blocking(move || part.replace(&path).map(|()| shown)).await
            }
            Target::Stream(_) => return Err(WeComError::Malformed("no output file".into())),
        };
        placed
            .map_err(std::io::Error::other)
            .and_then(|placed| placed)
            .map_err(|err| target.error(&err))
    }
}

/// A download's temporary file (`.voddesk-….part`, hidden) in the directory of its final
/// name. Dropped before it was put in place, it is removed (tempfile's [`TempPath`]): a
/// failed or cancelled download leaves nothing behind.
///
/// [`TempPath`]: tempfile::TempPath
struct PartFile {
    path: tempfile::TempPath,
    /// `None` once closed.
    file: Option<tokio::fs::File>,
}

/// How a download's temporary file is named: `{PART_PREFIX}` and 16 random characters
/// and `{PART_SUFFIX}`, hidden.
const PART_PREFIX: &str = ".voddesk-";
const PART_SUFFIX: &str = ".part";

/// A download's temporary file untouched for this long was left by a process that was killed
/// (a live download writes as the bytes come, and gives up long before).
const STALE_PART_FILE: Duration = Duration::from_secs(3600);

/// Removes the temporary files (`.voddesk-….part`) of killed downloads from `dir`, best effort:
/// a crash or `kill -9` skips [`PartFile`]'s drop, and the next download into the same folder
/// clears them.
async fn sweep_stale_part_files(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PART_PREFIX) && name.ends_with(PART_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        let idle = meta
            .modified()
            .ok()
            .and_then(|modified| modified.elapsed().ok());
        if meta.is_file() && idle.is_some_and(|idle| idle >= STALE_PART_FILE) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

impl PartFile {
    async fn create(dir: &Path) -> std::io::Result<Self> {
        sweep_stale_part_files(dir).await;
        let dir = dir.to_path_buf();
        let created = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(PART_PREFIX)
                .suffix(PART_SUFFIX)
                .rand_bytes(16)
                // As a plain new file would be: 0o666 less the umask (tempfile's own is 0o600).
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .tempfile_in(dir)
        })
        .await
        .map_err(std::io::Error::other)??;
        let (file, path) = created.into_parts();
        Ok(Self {
            path,
            file: Some(tokio::fs::File::from_std(file)),
        })
    }

    fn closed() -> std::io::Error {
        std::io::Error::other("the download's temporary file is already closed")
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file
            .as_mut()
            .ok_or_else(Self::closed)?
            .write_all(bytes)
            .await
    }

    /// Flushes, syncs and closes the file: on disk before it takes the final name, so a
    /// crash cannot leave that name empty.
    async fn close(&mut self) -> std::io::Result<()> {
        let mut file = self.file.take().ok_or_else(Self::closed)?;
        file.flush().await?;
        file.sync_all().await
    }

    /// Renames the file over `path`, which the user chose (its permissions are kept).
    fn replace(self, path: &Path) -> std::io::Result<()> {
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(&self.path, meta.permissions());
        }
        self.path.persist(path).map_err(|err| err.error)
    }

    /// Gives the file `name` in `dir`, or `stem (2).ext`, `stem (3).ext` … when that name is
    /// taken. tempfile's `persist_noclobber` renames without replacing (`RENAME_NOREPLACE`,
    /// or a hard link where the file system lacks it): no file already there is ever
    /// replaced.
    fn keep_beside(self, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (name, String::new()),
        };
        let mut path = self.path;
        for n in 1..=1000u32 {
            let candidate = if n == 1 {
                dir.join(name)
            } else {
                dir.join(format!("{stem} ({n}){ext}"))
            };
            match path.persist_noclobber(&candidate) {
                Ok(()) => return Ok(candidate),
                Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    path = err.path;
                }
                Err(err) => return Err(err.error),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("a thousand files named like {name} are already there"),
        ))
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

    #[test]
    fn limits_name_the_rule() {
        let mb = 1024 * 1024;
        assert!(check_limits(WeComMediaType::Video, "a.mp4", 10 * mb).is_ok());
        let err = check_limits(WeComMediaType::Video, "a.mp4", 10 * mb + 1).unwrap_err();
        assert!(err.to_string().contains("10 MB"), "{err}");
        assert!(check_limits(WeComMediaType::Video, "a.mov", 100).is_err());
        assert!(check_limits(WeComMediaType::Voice, "a.amr", 100).is_ok());
        assert!(check_limits(WeComMediaType::Voice, "a.mp3", 100).is_err());
        assert!(check_limits(WeComMediaType::Image, "a.PNG", 100).is_ok());
        assert!(check_limits(WeComMediaType::Image, "a.gif", 100).is_err());
        assert!(check_limits(WeComMediaType::File, "a.bin", 5).is_err());
        assert!(check_limits(WeComMediaType::File, "a.bin", 20 * mb + 1).is_err());
    }

    #[test]
    fn server_names_are_sanitised() {
        assert_eq!(sanitize_file_name("../../etc/passwd", "M"), "passwd");
        assert_eq!(sanitize_file_name("..\\..\\x.jpg", "M"), "x.jpg");
        assert_eq!(sanitize_file_name("..", "M"), "M");
        assert_eq!(sanitize_file_name("", "M"), "M");
        assert_eq!(sanitize_file_name(".hidden", "M"), "hidden");
        assert_eq!(sanitize_file_name("视频 1.mp4", "M"), "视频 1.mp4");
        // Over 255 bytes: cut at a character, the extension kept.
        let long = format!("{}.mp4", "长".repeat(100));
        let short = sanitize_file_name(&long, "M");
        assert!(short.len() <= 255, "{}", short.len());
        assert!(short.ends_with("长.mp4"), "{short}");
        assert_eq!(sanitize_file_name(&"x".repeat(300), "M").len(), 255);
        assert_eq!(
            disposition_file_name("attachment; filename=\"MEDIA_ID.jpg\""),
            Some("MEDIA_ID.jpg".into())
        );
    }
}
