//! An embedded emulator of the cloud APIs VodDesk talks to, on one loopback port:
//!
//! | path | service |
//! |---|---|
//! | `POST /` with `X-TC-Action` | VOD API 3.0 ([`vod`]) |
//! | `/{key}`, `GET /?uploads` | COS XML object operations ([`cos`]) |
//! | `/v3/index.php?Action=…` | client upload (`ApplyUploadUGC`, `CommitUploadUGC`) ([`ugc`]) |
//! | `/cgi-bin/…` | WeCom `gettoken`, `media/upload`, `media/get` ([`wecom`]) |
//! | `/wechat/{FileId}` | the publishing page with a `<video>` player ([`page`]) |
//! | `/play/{FileId}/…` | unauthenticated, Range-capable media URLs ([`page`]) |
//!
//! State and objects live in the data directory (SQLite in WAL mode plus files) and survive a
//! restart. Timings and faults ([`Faults`]) are set in [`EmulatorConfig`] and changed at runtime
//! through [`EmulatorHandle`]. Start it with [`spawn`] or `voddesk emulator`.
//!
//! COS keys under `play/`, `wechat/`, `cgi-bin/` and `v3/index.php` are shadowed by the other
//! services; the storage paths the emulator hands out never start with those.

pub mod cos;
pub mod faults;
mod files;
pub mod link;
pub mod page;
mod server;
pub mod signature;
mod state;
mod tls;
pub mod ugc;
pub mod vod;
pub mod wecom;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use rand::Rng;
use rand::distr::Alphanumeric;
use tokio_util::sync::CancellationToken;

pub use faults::{Counters, Faults, UploadCounters};
pub use server::spawn;

use faults::Dice;
use state::Db;

/// SecretId of the built-in demo key.
pub const DEMO_SECRET_ID: &str = "AKIDvoddeskDEMO0000000000000000000000";
/// SecretKey of the built-in demo key (the emulator's own; it protects nothing real).
pub const DEMO_SECRET_KEY: &str = "voddeskDEMOsecretKEY0000000000000";
/// CorpID of the built-in demo WeCom application.
pub const DEMO_WECOM_CORP_ID: &str = "wwvoddeskdemo0000";
/// Secret of the built-in demo WeCom application.
pub const DEMO_WECOM_SECRET: &str = "voddesk-demo-wecom-secret";
/// The AppId the emulated account has (the suffix of its bucket name).
pub const DEMO_APP_ID: u64 = 1_250_000_000;
/// Name of the emulated bucket, without the AppId.
pub const BUCKET_NAME: &str = "voddeskemu";

/// How the emulator starts.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Where state and objects live.
    pub data_dir: PathBuf,
    /// The API key the VOD API and the upload signatures are checked against.
    pub secret_id: String,
    /// Its SecretKey.
    pub secret_key: String,
    /// WeCom CorpID accepted by `gettoken`.
    pub wecom_corp_id: String,
    /// WeCom application secret accepted by `gettoken`.
    pub wecom_secret: String,
    /// The account's AppId.
    pub app_id: u64,
    /// Storage region reported when a request names none.
    pub region: String,
    /// Timings and faults at start.
    pub faults: Faults,
    /// Seed of the RNG behind fault decisions.
    pub seed: u64,
    /// Allow a non-loopback `addr`.
    pub allow_remote: bool,
    /// A modelled uplink in front of the emulator ([`link`]); `None` is plain loopback.
    pub link: Option<link::LinkModel>,
    /// Serve https too, on the same port, with a certificate made at start for `localhost`,
    /// `127.0.0.1`, `::1` and these names; `None` serves plain http only.
    pub tls_names: Option<Vec<String>>,
}

impl EmulatorConfig {
    /// The demo account on a free loopback port, with its state and objects in `data_dir`.
    ///
    /// There is no `Default`: where the data lives is the caller's (the app's data directory
    /// is the config layer's business, above the emulator).
    #[must_use]
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            secret_id: DEMO_SECRET_ID.to_owned(),
            secret_key: DEMO_SECRET_KEY.to_owned(),
            wecom_corp_id: DEMO_WECOM_CORP_ID.to_owned(),
            wecom_secret: DEMO_WECOM_SECRET.to_owned(),
            app_id: DEMO_APP_ID,
            region: crate::tencent::DEFAULT_REGION.to_owned(),
            faults: Faults::default(),
            seed: 0x5eed,
            allow_remote: false,
            link: None,
            tls_names: None,
        }
    }
}

/// Why the emulator could not start or answer a handle call.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The address is not loopback and remote access was not allowed.
    #[error(
        "refusing to listen on {0}: it is not a loopback address; pass --allow-remote to expose the emulator"
    )]
    NotLoopback(SocketAddr),
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory could not be used.
    #[error("cannot use the emulator data directory: {source}: {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state database failed.
    #[error("the emulator state database failed: {0}")]
    Db(#[from] rusqlite::Error),
    /// The TLS certificate could not be made or written.
    #[error("cannot set up https for the emulator: {detail}: {}", path.display())]
    Tls {
        /// What went wrong.
        detail: String,
        /// The certificate's path.
        path: PathBuf,
    },
}

/// Marks the connection a request came on; cancelling it drops the connection unanswered.
#[derive(Debug, Clone)]
pub(crate) struct ConnCut(pub CancellationToken);

/// Directories inside the data directory.
#[derive(Debug, Clone)]
pub(crate) struct Dirs {
    pub objects: PathBuf,
    pub parts: PathBuf,
    pub tmp: PathBuf,
    pub wecom: PathBuf,
}

/// The shared state of a running emulator.
pub(crate) struct Emu {
    pub db: Db,
    pub dirs: Dirs,
    pub secret_id: String,
    pub secret_key: String,
    pub wecom_corp_id: String,
    pub wecom_secret: String,
    pub app_id: u64,
    pub region: String,
    pub local_addr: SocketAddr,
    faults: RwLock<Faults>,
    dice: Mutex<Dice>,
    counters: Mutex<Counters>,
    publish_window: Mutex<VecDeque<Instant>>,
    pub http: reqwest::Client,
    /// What the modelled link carried, when there is one.
    pub link: Option<Arc<link::LinkStats>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters and dice stay usable after a panic elsewhere; they hold no invariants.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a request's key was refused; each service answers it with its own error code.
pub(crate) enum KeyRefusal {
    /// No such SecretId.
    Unknown,
    /// A temporary SecretId without its token, or with another one.
    WrongToken,
    /// A temporary certificate that has run out.
    Expired,
}

impl Emu {
    /// The SecretKey of `secret_id`: the emulator's own key, or a temporary certificate's,
    /// which must come with its `token` and must not have run out at `now`.
    pub(crate) fn secret_key_of(
        &self,
        secret_id: &str,
        token: Option<&str>,
        now: i64,
    ) -> rusqlite::Result<Result<String, KeyRefusal>> {
        if secret_id == self.secret_id {
            return Ok(Ok(self.secret_key.clone()));
        }
        let Some(cert) = self.db.cert(secret_id)? else {
            return Ok(Err(KeyRefusal::Unknown));
        };
        Ok(if token != Some(cert.token.as_str()) {
            Err(KeyRefusal::WrongToken)
        } else if cert.expires <= now {
            Err(KeyRefusal::Expired)
        } else {
            Ok(cert.secret_key)
        })
    }

    /// The current faults.
    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The emulator's clock (Unix seconds, offset applied).
    pub(crate) fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.faults().clock_offset_secs
    }

    /// The emulator's clock in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.faults().clock_offset_secs * 1000
    }

    /// A fault decision.
    pub(crate) fn roll(&self, rate: f64) -> bool {
        lock(&self.dice).roll(rate)
    }

    /// Where a cut connection stops reading a body of `len` bytes.
    pub(crate) fn cut_point(&self, len: u64) -> u64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let at = (len as f64 * lock(&self.dice).cut_fraction()) as u64;
        at
    }

    pub(crate) fn count_action(&self, name: &str) {
        *lock(&self.counters)
            .actions
            .entry(name.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn count_part_request(&self, upload_id: &str) {
        lock(&self.counters)
            .uploads
            .entry(upload_id.to_owned())
            .or_default()
            .part_requests += 1;
    }

    pub(crate) fn count_part_done(&self, upload_id: &str) {
        lock(&self.counters)
            .uploads
            .entry(upload_id.to_owned())
            .or_default()
            .parts_completed += 1;
    }

    pub(crate) fn count_bytes(&self, upload_id: Option<&str>, bytes: u64) {
        let mut counters = lock(&self.counters);
        counters.body_bytes += bytes;
        if let Some(id) = upload_id {
            counters
                .uploads
                .entry(id.to_owned())
                .or_default()
                .bytes_received += bytes;
        }
    }

    /// Admits one call of a rate-limited publishing action; false when over the limit.
    pub(crate) fn admit_publishing_call(&self) -> bool {
        let limit = self.faults().publish_rate_limit as usize;
        let mut window = lock(&self.publish_window);
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit {
            return false;
        }
        window.push_back(now);
        true
    }

    /// The base URL clients reach this emulator at, from the request's `Host`.
    pub(crate) fn base_url(
        &self,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> String {
        let scheme = if extensions.get::<tls::Https>().is_some() {
            "https"
        } else {
            "http"
        };
        match headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
            Some(host) if !host.is_empty() => format!("{scheme}://{host}"),
            _ => format!("{scheme}://{}", self.local_addr),
        }
    }

    /// The file of a stored object.
    pub(crate) fn object_file(&self, file: &str) -> PathBuf {
        self.dirs.objects.join(file)
    }
}

/// A random string of ASCII letters and digits.
pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new request id in the services' uuid form.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An HTTP date (RFC 7231) of a Unix time.
pub(crate) fn http_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// ISO 8601 (UTC, seconds) of a Unix time.
pub(crate) fn iso_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A running emulator.
pub struct EmulatorHandle {
    emu: Arc<Emu>,
    addr: SocketAddr,
    tls_certificate: Option<PathBuf>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// An open multipart upload, as tests inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    /// The object key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// Stored parts as `(number, size, etag)`.
    pub parts: Vec<(u32, u64, String)>,
}

impl EmulatorHandle {
    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM certificate https is served with, when it is (`tls_names`).
    #[must_use]
    pub fn tls_certificate(&self) -> Option<&Path> {
        self.tls_certificate.as_deref()
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults in force.
    #[must_use]
    pub fn faults(&self) -> Faults {
        self.emu.faults()
    }

    /// Replaces the faults; takes effect for the next request.
    pub fn set_faults(&self, faults: Faults) {
        *self
            .emu
            .faults
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    }

    /// Changes some faults in place.
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        let mut faults = self
            .emu
            .faults
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut faults);
    }

    /// Restarts the fault RNG from `seed`.
    pub fn reseed(&self, seed: u64) {
        *lock(&self.emu.dice) = Dice::new(seed);
    }

    /// What the modelled link carried, when there is one.
    #[must_use]
    pub fn link_counts(&self) -> Option<link::LinkCounts> {
        self.emu.link.as_ref().map(|stats| stats.snapshot())
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn counters(&self) -> Counters {
        lock(&self.emu.counters).clone()
    }

    /// The bytes of a stored COS object (key with or without its leading `/`).
    ///
    /// # Errors
    /// When the state database or the object file cannot be read.
    pub fn object_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, EmulatorError> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let Some(object) = self.emu.db.object(key)? else {
            return Ok(None);
        };
        let path = self.emu.object_file(&object.file);
        files::read_object(&path)
            .map(Some)
            .map_err(|source| EmulatorError::Io { path, source })
    }

    /// The files holding a stored COS object's bytes, in order (a multipart object is kept as
    /// its parts), for tests that hash big objects without reading them into memory.
    ///
    /// # Errors
    /// When the state database or the data directory cannot be read.
    pub fn object_files(&self, key: &str) -> Result<Option<Vec<PathBuf>>, EmulatorError> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let Some(object) = self.emu.db.object(key)? else {
            return Ok(None);
        };
        let path = self.emu.object_file(&object.file);
        files::segments(&path)
            .map(|segments| Some(segments.into_iter().map(|(file, _)| file).collect()))
            .map_err(|source| EmulatorError::Io { path, source })
    }

    /// Open multipart uploads with their stored parts.
    ///
    /// # Errors
    /// When the state database cannot be read.
    pub fn open_uploads(&self) -> Result<Vec<OpenUpload>, EmulatorError> {
        let mut out = Vec::new();
        for upload in self.emu.db.uploads("")? {
            let parts = self
                .emu
                .db
                .parts(&upload.upload_id)?
                .into_iter()
                .map(|p| (p.number, p.size, p.etag))
                .collect();
            out.push(OpenUpload {
                key: upload.key,
                upload_id: upload.upload_id,
                parts,
            });
        }
        Ok(out)
    }

    /// Stops accepting, drops open connections and waits for the server task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}
