//! One item's upload: apply for a session, send the cover and the media (PutObject or
//! multipart, resumable), verify, commit.
//!
//! The job runs on the runtime as its own task with its own cancellation token. It persists as
//! it goes (session, upload id, every finished part) so a later run can continue where this one
//! stopped; it reports to the worker over a channel and never touches the UI.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::api::{
    Destination, Event, ItemId, ItemOptions, ItemState, Progress, PublishState, StallReason,
    UploadFlow, UserError,
};
use super::budget::Budget;
use super::errors::{plain, user_error};
use super::planner::{self, Plan, PlanError};
use super::validate;
use crate::config::ServiceConfig;
use crate::store::{ItemRecord, Leftover, PartRecord, Retire, SessionRecord, Store, StoreError};
use crate::tencent::clock::Clock;
use crate::tencent::cos::{CosClient, CosTarget, FileSlice};
use crate::tencent::crc64::{self, Crc64};
use crate::tencent::error::{ErrorClass, TencentError};
use crate::tencent::models::{ApplyUploadRequest, CommitUploadRequest, ModifyMediaInfoRequest};
use crate::tencent::retry::RetryPolicy;
use crate::tencent::throttle::RateLimiter;
use crate::tencent::ugc::{ApplyRequest, UgcClient};
use crate::tencent::ugc_sign::SignatureParams;
use crate::tencent::vod::VodClient;
use crate::tencent::{Credentials, sign_service};

mod leftovers;
mod meter;
mod multipart;
mod retry;
mod session;
mod signature;
mod wecom;

use leftovers::abort_session;
pub(crate) use leftovers::{abort_leftover_later, retire_item, sweep_leftovers};
use meter::{Meter, SPEED_MIN_SPAN, SPEED_WINDOW, snapshot, speed_of};
use signature::signature;

/// A resume point older than this restarts: the service's SDKs hold one for a day.
pub const RESUME_WINDOW_SECONDS: i64 = 24 * 60 * 60;
/// How long a locally made upload signature is valid.
const SIGNATURE_SECONDS: i64 = 2 * 60 * 60;
/// Renew a client-upload certificate after this share of its lifetime (vod-js-sdk-v6: 90 %).
const RENEW_AT: f64 = 0.9;
/// Server-API certificates closer than this to their expiry are treated as expired (or a
/// tenth of their lifetime, for short ones).
const EXPIRY_MARGIN_SECONDS: i64 = 5;

/// Whether a server-API certificate issued at `issued` and running out at `expires` is (nearly)
/// expired at `now`.
fn expired(now: i64, issued: i64, expires: i64) -> bool {
    let margin = EXPIRY_MARGIN_SECONDS.min((expires.saturating_sub(issued)) / 10);
    now >= expires.saturating_sub(margin)
}
/// Session restarts one run may make before the item fails.
const MAX_RESTARTS: u32 = 3;

/// What the engine shares with every job.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub http: reqwest::Client,
    pub clock: Arc<Clock>,
    pub limiter: Arc<RateLimiter>,
    pub service: ServiceConfig,
    pub retry: RetryPolicy,
    /// What is in flight, for the whole queue.
    pub budget: Arc<Budget>,
    /// Session applications (ApplyUpload, ApplyUploadUGC) within the service's rate.
    pub apply_pace: super::budget::Pacer,
    /// Commits (CommitUpload, CommitUploadUGC) within the service's rate.
    pub commit_pace: super::budget::Pacer,
    /// The WeChat Work client (its token cached for every item), when it has credentials.
    pub wecom: Option<Arc<crate::wecom::WeComClient>>,
}

/// What a job tells the worker.
#[derive(Debug)]
pub(crate) enum JobMsg {
    State(ItemId, ItemState),
    Progress(ItemId, Progress),
    Notice(ItemId, String),
    Finished(ItemId, JobResult),
    /// A background abort (cancel or remove of an item that was not running) ended.
    Aborted(ItemId, AfterAbort, Option<UserError>),
    /// A publishing task learned an item's new publication state.
    Publish(ItemId, PublishState),
    /// A publishing task has an event for the UI (library pages and updates, notices).
    Event(Event),
}

/// What to do once an item's server-side upload is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterAbort {
    Cancel,
    Remove,
}

/// How a job ended.
#[derive(Debug)]
pub(crate) enum JobResult {
    Done(ItemState),
    Failed(UserError),
    Stopped,
}

#[derive(Debug)]
enum JobError {
    Stopped,
    // Boxed: the error is large and travels through every `?`.
    Service {
        doing: String,
        err: Box<TencentError>,
    },
    Credentials {
        doing: String,
        err: Box<TencentError>,
    },
    Store(StoreError),
    User(UserError),
    Restart(String),
}

impl From<StoreError> for JobError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<PlanError> for JobError {
    fn from(err: PlanError) -> Self {
        Self::User(plain(format!("Cannot plan the upload: {err}."), false))
    }
}

impl JobError {
    /// Whether trying the same again later may succeed: network and service trouble.
    fn may_pass(&self) -> bool {
        match self {
            Self::Service { err, .. } | Self::Credentials { err, .. } => {
                err.is_retryable() || err.class() == ErrorClass::ClockSkew
            }
            Self::Stopped | Self::Store(_) | Self::User(_) | Self::Restart(_) => false,
        }
    }

    fn into_user(self) -> UserError {
        match self {
            Self::Stopped => plain("Stopped.", true),
            Self::Service { doing, err } | Self::Credentials { doing, err } => {
                user_error(&doing, &err)
            }
            Self::Store(err) => plain(
                format!(
                    "The queue database could not be written ({err:#}). Check free disk space, then retry."
                ),
                true,
            ),
            Self::User(err) => err,
            Self::Restart(reason) => plain(
                format!("{reason}, and the upload was restarted too often. Try again later."),
                true,
            ),
        }
    }
}

/// A session that is open: its record, its COS client and its certificate times.
struct Live {
    record: SessionRecord,
    cos: CosClient,
    cert: Mutex<(i64, i64)>,
    /// Applied for in this run (not resumed): uploading has not stopped since.
    fresh: bool,
}

/// One item's upload.
pub(crate) struct Job {
    shared: Arc<Shared>,
    item: ItemRecord,
    flow: UploadFlow,
    token: CancellationToken,
    tx: mpsc::Sender<JobMsg>,
    meter: Arc<Meter>,
    /// Fires for a pause or a quit: parts that finish soon may, then the job stops.
    drain: CancellationToken,
    /// Whether bodies are being sent (the multipart driver drains them itself); otherwise a
    /// drain stops the job at once.
    sending: AtomicBool,
    renew_lock: tokio::sync::Mutex<()>,
    last_parts: Mutex<Option<(u32, u32)>>,
}

impl Job {
    pub(crate) fn new(
        shared: Arc<Shared>,
        item: ItemRecord,
        flow: UploadFlow,
        token: CancellationToken,
        drain: CancellationToken,
        tx: mpsc::Sender<JobMsg>,
    ) -> Self {
        Self {
            shared,
            item,
            flow,
            token,
            drain,
            sending: AtomicBool::new(false),
            tx,
            meter: Arc::new(Meter::default()),
            renew_lock: tokio::sync::Mutex::new(()),
            last_parts: Mutex::new(None),
        }
    }

    /// Runs the upload to its end and reports the result.
    pub(crate) async fn run(mut self) {
        let ticker = self.spawn_ticker();
        let result = match self.upload().await {
            Ok(done) => JobResult::Done(done),
            Err(JobError::Stopped) => JobResult::Stopped,
            Err(err) if self.token.is_cancelled() => {
                // Anything that failed because the job was being stopped is a stop.
                tracing::debug!(item = self.item.id, "stopped: {err:?}");
                JobResult::Stopped
            }
            Err(err) => JobResult::Failed(err.into_user()),
        };
        ticker.cancel();
        self.send_progress();
        let _ = self.tx.send(JobMsg::Finished(self.item.id, result)).await;
    }

    fn spawn_ticker(&self) -> CancellationToken {
        let stop = CancellationToken::new();
        let guard = stop.clone();
        let meter = Arc::clone(&self.meter);
        let budget = Arc::clone(&self.shared.budget);
        let tx = self.tx.clone();
        let id = self.item.id;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(100));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let started = Instant::now();
            // (when, bytes acknowledged) over the last SPEED_WINDOW.
            let mut samples: std::collections::VecDeque<(Instant, u64)> =
                std::collections::VecDeque::new();
            let mut last: Option<Progress> = None;
            let mut ticks = 0u32;
            loop {
                tokio::select! {
                    () = guard.cancelled() => return,
                    _ = interval.tick() => {}
                }
                ticks += 1;
                if ticks.is_multiple_of(3) {
                    budget.tick();
                }
                let now = Instant::now();
                let (acked, in_flight) = meter.shown();
                // This run's bytes: what resumed was sent before.
                let sent_now = acked.saturating_sub(meter.resumed.load(Ordering::Relaxed));
                samples.push_back((now, sent_now));
                while samples
                    .front()
                    .is_some_and(|&(at, _)| now.duration_since(at) > SPEED_WINDOW)
                {
                    samples.pop_front();
                }
                let speed = if now.duration_since(started) >= SPEED_MIN_SPAN && sent_now > 0 {
                    speed_of(&samples)
                } else {
                    0.0
                };
                let progress = snapshot(&meter, acked, in_flight, speed);
                if last.as_ref() != Some(&progress) {
                    let _ = tx.try_send(JobMsg::Progress(id, progress.clone()));
                    last = Some(progress);
                }
            }
        });
        stop
    }

    fn send_progress(&self) {
        let (acked, _) = self.meter.shown();
        let _ = self.tx.try_send(JobMsg::Progress(
            self.item.id,
            snapshot(&self.meter, acked, 0, 0.0),
        ));
    }

    async fn state(&self, state: ItemState) {
        let _ = self.tx.send(JobMsg::State(self.item.id, state)).await;
    }

    async fn notice(&self, message: String) {
        tracing::info!(item = self.item.id, "{message}");
        let _ = self.tx.send(JobMsg::Notice(self.item.id, message)).await;
    }

    fn name(&self) -> String {
        self.item.path.file_name().map_or_else(
            || self.item.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    fn cover(&self) -> Option<PathBuf> {
        self.item.options.cover.clone()
    }

    // ----- the run -------------------------------------------------------------------------

    async fn upload(&mut self) -> Result<ItemState, JobError> {
        if let Destination::WeCom(kind) = self.item.destination {
            return self.upload_wecom(kind).await;
        }
        self.check_file_at_start().await?;
        let cover_size = match self.cover() {
            Some(cover) => std::fs::metadata(&cover)
                .map_err(|err| {
                    JobError::User(plain(
                        format!(
                            "The cover cannot be read ({err}): {}. Choose another cover, then retry.",
                            cover.display()
                        ),
                        true,
                    ))
                })?
                .len(),
            None => 0,
        };
        self.meter
            .total
            .store(self.item.size + cover_size, Ordering::Relaxed);
        let mut restarts = 0;
        loop {
            self.meter.acked.store(0, Ordering::Relaxed);
            self.meter.resumed.store(0, Ordering::Relaxed);
            match self.attempt(cover_size).await {
                Err(JobError::Restart(reason)) if restarts < MAX_RESTARTS => {
                    restarts += 1;
                    self.notice(format!(
                        "{reason}; starting the upload of {} over.",
                        self.name()
                    ))
                    .await;
                    self.shared.store.delete_session(self.item.id)?;
                }
                other => return other,
            }
        }
    }

    /// Compares the file with what was queued; a changed file never continues an old upload.
    async fn check_file_at_start(&mut self) -> Result<(), JobError> {
        let metadata = std::fs::metadata(&self.item.path).map_err(|err| {
            JobError::User(plain(
                format!(
                    "The file cannot be read ({err}): {}. Check that it still exists, then retry.",
                    self.item.path.display()
                ),
                true,
            ))
        })?;
        let (size, mtime) = (metadata.len(), validate::mtime_ns(&metadata));
        if size == self.item.size && mtime == self.item.mtime_ns {
            return Ok(());
        }
        if size == 0 {
            return Err(JobError::User(plain(
                format!("The file is now empty: {}.", self.item.path.display()),
                false,
            )));
        }
        let had_session = self.shared.store.session(self.item.id)?.is_some();
        if had_session {
            self.discard_session().await;
        }
        self.shared.store.set_item_file(self.item.id, size, mtime)?;
        self.notice(format!(
            "{} changed since it was queued ({} → {size} bytes, or a new modification time); uploading the new version from the start.",
            self.name(),
            self.item.size
        ))
        .await;
        self.item.size = size;
        self.item.mtime_ns = mtime;
        Ok(())
    }

    /// Fails when the file is no longer what is being uploaded.
    fn check_file_unchanged(&self) -> Result<(), JobError> {
        let changed = match std::fs::metadata(&self.item.path) {
            Ok(metadata) => {
                metadata.len() != self.item.size
                    || validate::mtime_ns(&metadata) != self.item.mtime_ns
            }
            Err(_) => true,
        };
        if changed {
            return Err(JobError::User(plain(
                format!(
                    "{} was changed or deleted while it was uploading, so the upload stopped rather than store a mix of old and new bytes. Retrying uploads the current version: {}",
                    self.name(),
                    self.item.path.display()
                ),
                true,
            )));
        }
        Ok(())
    }

    async fn attempt(&self, cover_size: u64) -> Result<ItemState, JobError> {
        self.sending.store(false, Ordering::Relaxed);
        self.state(ItemState::Applying).await;
        let plan = planner::plan(self.item.size, self.item.options.part_size)?;
        let live = self.open_session(&plan).await?;
        // From here bodies are sent: a pause lets those about to finish finish.
        self.sending.store(true, Ordering::Relaxed);
        if let (Some(cover), Some(key)) = (self.cover(), live.record.cover_key.clone()) {
            if live.record.cover_done {
                self.meter.add_resumed(cover_size);
            } else {
                self.put_whole(&live, &key, &cover, cover_size, "uploading the cover")
                    .await?;
                self.shared.store.set_cover_done(self.item.id)?;
            }
        }
        if live.record.media_done {
            self.meter.add_resumed(self.item.size);
        } else {
            // A session begun as multipart stays multipart: its parts are on the server.
            match plan {
                Plan::Single { size } if live.record.upload_id.is_none() => {
                    self.state(ItemState::Uploading {
                        parts_done: 0,
                        parts_total: 1,
                    })
                    .await;
                    let key = live.record.media_key.clone();
                    self.put_whole(&live, &key, &self.item.path, size, "uploading the file")
                        .await?;
                    self.state(ItemState::Uploading {
                        parts_done: 1,
                        parts_total: 1,
                    })
                    .await;
                }
                _ => self.multipart(&live).await?,
            }
            self.check_file_unchanged()?;
            self.shared.store.set_media_done(self.item.id)?;
        }
        // The commit is one request: a pause stops before it, and the resume commits.
        self.sending.store(false, Ordering::Relaxed);
        self.state(ItemState::Committing).await;
        let done = self.commit(&live).await?;
        self.shared.store.delete_session(self.item.id)?;
        Ok(done)
    }

    /// Sends a whole file as one PutObject (the cover, a small file) under a grant of the
    /// budget. A resumed session first asks whether the server already has it (a crash
    /// after it was sent and before that was recorded). A pause lets it finish when it can
    /// within a second.
    async fn put_whole(
        &self,
        live: &Live,
        key: &str,
        path: &Path,
        len: u64,
        doing: &str,
    ) -> Result<(), JobError> {
        if !live.fresh && self.finished_object(live, key, path).await? {
            self.meter.add_resumed(len);
            return Ok(());
        }
        let mut grant = tokio::select! {
            grant = self.shared.budget.acquire(self.item.id) => grant,
            () = self.token.cancelled() => return Err(JobError::Stopped),
            () = self.drain.cancelled() => return Err(JobError::Stopped),
        };
        grant.set_len(len);
        let slice = self.slice(path, 0, len);
        let content_type = content_type(path);
        let started = Instant::now();
        let put = self.cos_op(live, doing, || {
            multipart::watch_stall(live.cos.put_object(key, &slice, &content_type), &slice)
        });
        tokio::pin!(put);
        let result = tokio::select! {
            result = &mut put => result,
            () = self.drain.cancelled() => {
                let sent = slice.sent.as_ref().map_or(0, |s| s.load(Ordering::Relaxed));
                let controller = self.shared.budget.controller();
                if !multipart::finishes_soon(&controller, len, sent, started) {
                    return Err(JobError::Stopped);
                }
                put.await
            }
        };
        if result?.crc64.is_none() {
            // Only its length was checked: COS answers every PUT with its CRC-64.
            tracing::warn!(
                item = self.item.id,
                key,
                "the server sent no CRC-64 for the object"
            );
        }
        self.meter.body_done(&slice, len);
        grant.done();
        Ok(())
    }

    fn slice(&self, path: &Path, offset: u64, len: u64) -> FileSlice {
        FileSlice {
            path: path.to_path_buf(),
            offset,
            len,
            limiter: Some(Arc::clone(&self.shared.limiter)),
            sent: Some(self.meter.body_counter()),
            wire: Some(self.shared.budget.wire()),
        }
    }
}

fn is_no_such_upload(err: &TencentError) -> bool {
    matches!(err, TencentError::Cos { error, .. } if error.code == "NoSuchUpload")
}

fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"')
        .eq_ignore_ascii_case(b.trim_matches('"'))
}

/// The CRC-64 of `len` bytes of `path` from `offset`.
fn crc_range(path: &Path, offset: u64, len: u64) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut crc = Crc64::new();
    let mut left = len;
    let mut buf = vec![0u8; 256 * 1024];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..want])?;
        crc.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(crc.sum())
}

fn content_type(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The media name: the option, or the file's stem made acceptable to the service.
fn media_name(path: &Path, option: &Option<String>) -> String {
    match option {
        Some(name) => name.clone(),
        None => stem(path)
            .chars()
            .map(|c| {
                if validate::FORBIDDEN_NAME_CHARS.contains(&c) || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect(),
    }
}

fn no_credentials() -> UserError {
    plain(
        "No API key is set: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or enter them in the settings), or name a signature service.",
        false,
    )
}
