//! One item's upload: apply for a session, send the cover and the media (PutObject or
//! multipart, resumable), verify, commit.
//!
//! The job runs on the runtime as its own task with its own cancellation token. It persists as
//! it goes (session, upload id, every finished part) so a later run can continue where this one
//! stopped; it reports to the worker over a channel and never touches the UI.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::api::{
    Destination, Event, ItemId, ItemOptions, ItemState, Progress, PublishState, StallReason,
    UploadFlow, UserError,
};
use super::errors::{plain, user_error};
use super::planner::{self, PartPlan, Plan, PlanError};
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
use crate::wecom::held_back;

mod wecom;

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
    pub parallel_parts: AtomicUsize,
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

/// Bytes and stall state the progress ticker reads.
#[derive(Default)]
struct Meter {
    /// Bytes the server has acknowledged (parts, the cover, a single PUT; for WeCom, what its
    /// job counts as received).
    acked: AtomicU64,
    /// WeCom: the bytes handed to the connection, which its job turns into `acked`.
    sent: Arc<AtomicU64>,
    /// The COS bodies being sent, each counting its current attempt's bytes handed to the
    /// connection; a body whose upload ended is gone (its slice dropped).
    bodies: Mutex<Vec<(Weak<AtomicU64>, u64)>>,
    total: AtomicU64,
    stall: Mutex<Option<StallReason>>,
}

impl Meter {
    fn set_stall(&self, stall: Option<StallReason>) {
        if let Ok(mut slot) = self.stall.lock() {
            *slot = stall;
        }
    }

    /// A counter for one more body in flight, of `len` bytes.
    fn body_counter(&self, len: u64) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.retain(|(body, _)| body.strong_count() > 0);
            bodies.push((Arc::downgrade(&counter), len));
        }
        counter
    }

    /// The bytes shown as uploaded: what the server acknowledged, and of each body in flight
    /// what was handed to the connection less what the socket's and the network's buffers
    /// may still hold ([`held_back`]: 1 MiB, or half of a smaller body). Counting those made
    /// the bar and the speed leap at the start (a few MiB per connection in an instant) and
    /// then stall while they drained; on a slow link the estimate fell to nothing and the
    /// time left to hours.
    fn shown(&self) -> u64 {
        // Under the lock that `body_done` takes: a body's bytes count either in flight or as
        // acknowledged, never in both or neither.
        let Ok(bodies) = self.bodies.lock() else {
            return self.acked.load(Ordering::Relaxed);
        };
        let in_flight: u64 = bodies
            .iter()
            .filter_map(|(body, len)| Some((body.upgrade()?, *len)))
            .map(|(sent, len)| sent.load(Ordering::Relaxed).saturating_sub(held_back(len)))
            .sum();
        self.acked.load(Ordering::Relaxed) + in_flight
    }

    /// The server acknowledged the body of `slice`, `len` bytes: they move from in flight to
    /// acknowledged at once.
    fn body_done(&self, slice: &FileSlice, len: u64) {
        let _bodies = self.bodies.lock();
        self.acked.fetch_add(len, Ordering::Relaxed);
        if let Some(sent) = &slice.sent {
            sent.store(0, Ordering::Relaxed);
        }
    }
}

/// How far back the speed looks.
const SPEED_WINDOW: Duration = Duration::from_secs(10);
/// The speed is said once the window spans this much.
const SPEED_MIN_SPAN: Duration = Duration::from_millis(500);

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
    renew_lock: tokio::sync::Mutex<()>,
    last_parts: Mutex<Option<(u32, u32)>>,
}

impl Job {
    pub(crate) fn new(
        shared: Arc<Shared>,
        item: ItemRecord,
        flow: UploadFlow,
        token: CancellationToken,
        tx: mpsc::Sender<JobMsg>,
    ) -> Self {
        Self {
            shared,
            item,
            flow,
            token,
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
        let tx = self.tx.clone();
        let id = self.item.id;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(100));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // (when, bytes shown) over the last SPEED_WINDOW.
            let mut samples: std::collections::VecDeque<(Instant, u64)> =
                std::collections::VecDeque::new();
            let mut last: Option<Progress> = None;
            loop {
                tokio::select! {
                    () = guard.cancelled() => return,
                    _ = interval.tick() => {}
                }
                let now = Instant::now();
                let shown = meter.shown();
                if samples.back().is_some_and(|&(_, before)| shown < before) {
                    // An attempt or the upload started over.
                    samples.clear();
                }
                samples.push_back((now, shown));
                while samples
                    .front()
                    .is_some_and(|&(at, _)| now.duration_since(at) > SPEED_WINDOW)
                {
                    samples.pop_front();
                }
                let speed = speed_of(&samples);
                let progress = snapshot(&meter, shown, speed);
                if last.as_ref() != Some(&progress) {
                    let _ = tx.try_send(JobMsg::Progress(id, progress.clone()));
                    last = Some(progress);
                }
            }
        });
        stop
    }

    fn send_progress(&self) {
        let _ = self.tx.try_send(JobMsg::Progress(
            self.item.id,
            snapshot(&self.meter, self.meter.shown(), 0.0),
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
        self.state(ItemState::Applying).await;
        let plan = planner::plan(self.item.size, self.item.options.part_size)?;
        let live = self.open_session(&plan).await?;
        if let (Some(cover), Some(key)) = (self.cover(), live.record.cover_key.clone()) {
            if !live.record.cover_done {
                let slice = self.slice(&cover, 0, cover_size);
                let content_type = content_type(&cover);
                self.cos_op(&live, "uploading the cover", || {
                    live.cos.put_object(&key, &slice, &content_type)
                })
                .await?;
                self.meter.body_done(&slice, cover_size);
                self.shared.store.set_cover_done(self.item.id)?;
            } else {
                self.meter.acked.fetch_add(cover_size, Ordering::Relaxed);
            }
        }
        if live.record.media_done {
            self.meter
                .acked
                .fetch_add(self.item.size, Ordering::Relaxed);
        } else {
            // A session planned with another part size keeps it: its parts are on the server.
            let plan = match (plan, live.record.upload_id.is_some()) {
                (Plan::Multipart(_), true) if live.record.part_size >= planner::MIN_PART => {
                    Plan::Multipart(planner::plan_parts(
                        self.item.size,
                        Some(live.record.part_size),
                    )?)
                }
                (plan, _) => plan,
            };
            match plan {
                Plan::Single { size } => {
                    self.state(ItemState::Uploading {
                        parts_done: 0,
                        parts_total: 1,
                    })
                    .await;
                    let slice = self.slice(&self.item.path, 0, size);
                    let content_type = content_type(&self.item.path);
                    let key = live.record.media_key.clone();
                    self.cos_op(&live, "uploading the file", || {
                        live.cos.put_object(&key, &slice, &content_type)
                    })
                    .await?;
                    self.meter.body_done(&slice, size);
                    self.state(ItemState::Uploading {
                        parts_done: 1,
                        parts_total: 1,
                    })
                    .await;
                }
                Plan::Multipart(parts) => self.multipart(&live, &parts).await?,
            }
            self.check_file_unchanged()?;
            self.shared.store.set_media_done(self.item.id)?;
        }
        self.state(ItemState::Committing).await;
        let done = self.commit(&live).await?;
        self.shared.store.delete_session(self.item.id)?;
        Ok(done)
    }

    fn slice(&self, path: &Path, offset: u64, len: u64) -> FileSlice {
        FileSlice {
            path: path.to_path_buf(),
            offset,
            len,
            limiter: Some(Arc::clone(&self.shared.limiter)),
            sent: Some(self.meter.body_counter(len)),
        }
    }

    // ----- sessions ------------------------------------------------------------------------

    async fn open_session(&self, plan: &Plan) -> Result<Live, JobError> {
        if let Some(record) = self.shared.store.session(self.item.id)? {
            let age = self.shared.clock.now() - record.created_at;
            if record.flow != self.flow {
                self.discard_session().await;
            } else if age > RESUME_WINDOW_SECONDS {
                self.notice(format!(
                    "The resume point of {} is more than a day old, longer than the service keeps one; starting the upload over.",
                    self.name()
                ))
                .await;
                self.discard_session().await;
            } else {
                return self.reopen(record).await;
            }
        }
        let record = match self.flow {
            UploadFlow::ClientUpload => self.apply_client(plan).await?,
            UploadFlow::ServerApi => self.apply_server(plan).await?,
        };
        let credentials = record
            .certificate
            .clone()
            .or_else(|| self.shared.service.credentials.clone())
            .ok_or_else(|| JobError::User(no_credentials()))?;
        let mut stored = record.clone();
        if self.flow == UploadFlow::ClientUpload {
            // The client flow keeps no certificate at rest: it renews one on resume.
            stored.certificate = None;
        }
        self.shared.store.put_session(&stored)?;
        Ok(self.live(record, credentials, true))
    }

    async fn reopen(&self, record: SessionRecord) -> Result<Live, JobError> {
        match self.flow {
            UploadFlow::ServerApi => {
                let Some(certificate) = record.certificate.clone() else {
                    return Err(JobError::Restart(
                        "The saved upload session has no certificate".to_owned(),
                    ));
                };
                if expired(
                    self.shared.clock.now(),
                    record.cert_issued_at,
                    record.cert_expires_at,
                ) {
                    return Err(JobError::Restart(format!(
                        "The temporary upload certificate of {} expired while it was not uploading, and the server API flow cannot renew one",
                        self.name()
                    )));
                }
                Ok(self.live(record, certificate, false))
            }
            UploadFlow::ClientUpload => {
                // A placeholder until the renewal below replaces it.
                let placeholder = Credentials::new("-", "-");
                let live = self.live(record, placeholder, false);
                match self.renew(&live).await {
                    Ok(()) => Ok(live),
                    Err(JobError::Service { err, .. }) if err.class() == ErrorClass::Fatal => {
                        Err(JobError::Restart(format!(
                            "The service no longer accepts the saved upload session of {} ({err})",
                            self.name()
                        )))
                    }
                    Err(err) => Err(err),
                }
            }
        }
    }

    fn live(&self, record: SessionRecord, credentials: Credentials, fresh: bool) -> Live {
        let cos = CosClient::new(
            self.shared.http.clone(),
            CosTarget {
                bucket: record.bucket.clone(),
                region: record.region.clone(),
                endpoint: self.shared.service.endpoints.cos.clone(),
            },
            credentials,
            Arc::clone(&self.shared.clock),
        );
        let cert = Mutex::new((record.cert_issued_at, record.cert_expires_at));
        Live {
            record,
            cos,
            cert,
            fresh,
        }
    }

    /// Forgets the item's session, aborting its multipart upload when that is possible.
    async fn discard_session(&self) {
        if let Err(err) = abort_session(&self.shared, &self.item).await {
            tracing::warn!(
                item = self.item.id,
                "could not abort the old upload: {}",
                err.into_user()
            );
        }
        if let Err(err) = self.shared.store.delete_session(self.item.id) {
            tracing::warn!(
                item = self.item.id,
                "could not forget the old session: {err:#}"
            );
        }
    }

    async fn apply_client(&self, plan: &Plan) -> Result<SessionRecord, JobError> {
        let size = match plan {
            Plan::Single { size } => *size,
            Plan::Multipart(parts) => parts.size,
        };
        let cover = self.cover();
        let cover_size = cover
            .as_ref()
            .and_then(|c| std::fs::metadata(c).ok())
            .map(|m| m.len());
        let ugc = self.ugc()?;
        let media_name = media_name(&self.item.path, &self.item.options.media_name);
        let data = self
            .retrying("asking VOD for an upload session", || async {
                let request = ApplyRequest {
                    signature: signature(&self.shared, &self.item.options).await?,
                    video_name: Some(media_name.clone()),
                    video_type: validate::extension(&self.item.path),
                    video_size: Some(size),
                    cover_name: cover.as_ref().map(|c| stem(c)),
                    cover_type: cover.as_deref().and_then(validate::extension),
                    cover_size,
                    vod_session_key: None,
                    storage_region: self.item.options.storage_region.clone(),
                };
                ugc.apply(&request).await
            })
            .await?;
        self.shared.clock.observe_server_time(data.timestamp);
        let cert = &data.temp_certificate;
        Ok(SessionRecord {
            item_id: self.item.id,
            flow: UploadFlow::ClientUpload,
            vod_session_key: data.vod_session_key.clone(),
            bucket: data.bucket(),
            region: if data.storage_region_v5.is_empty() {
                data.storage_region.clone()
            } else {
                data.storage_region_v5.clone()
            },
            media_key: data.video.storage_path.trim_start_matches('/').to_owned(),
            cover_key: data
                .cover
                .as_ref()
                .filter(|_| cover.is_some())
                .map(|c| c.storage_path.trim_start_matches('/').to_owned()),
            cover_done: false,
            media_done: false,
            certificate: Some(
                Credentials::new(&cert.secret_id, &cert.secret_key)
                    .with_token(Some(cert.token.clone())),
            ),
            cert_issued_at: if data.timestamp > 0 {
                data.timestamp
            } else {
                self.shared.clock.now()
            },
            cert_expires_at: cert.expired_time,
            upload_id: None,
            part_size: 0,
            created_at: self.shared.clock.now(),
        })
    }

    async fn apply_server(&self, _plan: &Plan) -> Result<SessionRecord, JobError> {
        let vod = self.vod()?;
        let options = &self.item.options;
        let request = ApplyUploadRequest {
            media_type: validate::extension(&self.item.path).unwrap_or_default(),
            sub_app_id: options.sub_app_id.or(self.shared.service.sub_app_id),
            media_name: Some(media_name(&self.item.path, &options.media_name)),
            cover_type: options.cover.as_deref().and_then(validate::extension),
            procedure: options.procedure.clone(),
            expire_time: options.expire_time.clone(),
            storage_region: options.storage_region.clone(),
            class_id: options.class_id,
            source_context: options.source_context.clone(),
            session_context: None,
        };
        let response = self
            .retrying("asking VOD for an upload session", || vod.call(&request))
            .await?;
        let now = self.shared.clock.now();
        let (certificate, expires) = match &response.temp_certificate {
            Some(cert) => (
                Some(
                    Credentials::new(&cert.secret_id, &cert.secret_key)
                        .with_token(Some(cert.token.clone())),
                ),
                i64::try_from(cert.expired_time).unwrap_or(i64::MAX),
            ),
            // No temporary certificate: the caller's own key signs COS requests, and it does
            // not expire.
            None => (self.shared.service.credentials.clone(), i64::MAX),
        };
        Ok(SessionRecord {
            item_id: self.item.id,
            flow: UploadFlow::ServerApi,
            vod_session_key: response.vod_session_key,
            bucket: response.storage_bucket,
            region: response.storage_region,
            media_key: response
                .media_storage_path
                .trim_start_matches('/')
                .to_owned(),
            cover_key: options
                .cover
                .as_ref()
                .filter(|_| !response.cover_storage_path.is_empty())
                .map(|_| {
                    response
                        .cover_storage_path
                        .trim_start_matches('/')
                        .to_owned()
                }),
            cover_done: false,
            media_done: false,
            certificate,
            cert_issued_at: now,
            cert_expires_at: expires,
            upload_id: None,
            part_size: 0,
            created_at: now,
        })
    }

    fn vod(&self) -> Result<VodClient, JobError> {
        let credentials = self
            .shared
            .service
            .credentials
            .clone()
            .ok_or_else(|| JobError::User(no_credentials()))?;
        VodClient::new(
            self.shared.http.clone(),
            &self.shared.service.endpoints.vod,
            &self.shared.service.region,
            credentials,
            Arc::clone(&self.shared.clock),
        )
        .map(|client| client.with_retry(RetryPolicy::none()))
        .map_err(|err| JobError::Service {
            doing: "connecting to VOD".into(),
            err: Box::new(err),
        })
    }

    fn ugc(&self) -> Result<UgcClient, JobError> {
        UgcClient::new(self.shared.http.clone(), &self.shared.service.endpoints.ugc)
            .map(|client| client.with_clock(Arc::clone(&self.shared.clock)))
            .map_err(|err| JobError::Service {
                doing: "connecting to the client-upload service".into(),
                err: Box::new(err),
            })
    }

    /// Renews a client-upload certificate with `ApplyUploadUGC {signature, vodSessionKey}`.
    async fn renew(&self, live: &Live) -> Result<(), JobError> {
        let ugc = self.ugc()?;
        self.meter
            .set_stall(Some(StallReason::WaitingForCredentials));
        let data = self
            .retrying("renewing the upload credentials", || async {
                let request = ApplyRequest {
                    signature: signature(&self.shared, &self.item.options).await?,
                    vod_session_key: Some(live.record.vod_session_key.clone()),
                    ..ApplyRequest::default()
                };
                ugc.apply(&request).await
            })
            .await?;
        self.meter.set_stall(None);
        self.shared.clock.observe_server_time(data.timestamp);
        let cert = &data.temp_certificate;
        live.cos.set_credentials(
            Credentials::new(&cert.secret_id, &cert.secret_key)
                .with_token(Some(cert.token.clone())),
        );
        let issued = if data.timestamp > 0 {
            data.timestamp
        } else {
            self.shared.clock.now()
        };
        if let Ok(mut slot) = live.cert.lock() {
            *slot = (issued, cert.expired_time);
        }
        self.shared
            .store
            .set_certificate(self.item.id, None, issued, cert.expired_time)?;
        tracing::debug!(item = self.item.id, "renewed the temporary certificate");
        Ok(())
    }

    /// Makes sure the certificate will last: renews at 90 % of its life (client flow) or
    /// restarts the session when it ran out (server API flow).
    async fn ensure_fresh(&self, live: &Live, force: bool) -> Result<(), JobError> {
        let stale = |live: &Live| {
            let (issued, expires) = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
            let now = self.shared.clock.now();
            match self.flow {
                UploadFlow::ClientUpload => {
                    let lifetime = (expires - issued).max(0) as f64;
                    (now - issued) as f64 >= RENEW_AT * lifetime
                }
                UploadFlow::ServerApi => expired(now, issued, expires),
            }
        };
        if !force && !stale(live) {
            return Ok(());
        }
        match self.flow {
            UploadFlow::ClientUpload => {
                let before = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                let _guard = self.renew_lock.lock().await;
                let after = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                // Another part renewed while this one waited for the lock.
                if before != after && !stale(live) {
                    return Ok(());
                }
                self.renew(live).await
            }
            // Ran out while uploading without a stop since the session began: the upload
            // outlasts the certificate, and starting over would only end the same way.
            UploadFlow::ServerApi if live.fresh => {
                let (issued, expires) = live.cert.lock().map(|c| *c).unwrap_or((0, 0));
                let minutes = ((expires - issued).max(0) + 59) / 60;
                Err(JobError::User(plain(
                    format!(
                        "Uploading {} takes longer than the temporary certificate of the server API flow lasts (about {minutes} min), and that flow cannot renew one. Choose the client-upload flow (it renews certificates), then retry.",
                        self.name()
                    ),
                    true,
                )))
            }
            UploadFlow::ServerApi => Err(JobError::Restart(format!(
                "The temporary upload certificate of {} ran out, and the server API flow cannot renew one",
                self.name()
            ))),
        }
    }

    // ----- retries -------------------------------------------------------------------------

    /// Runs `op` until it succeeds, retrying transient errors with backoff and jitter.
    async fn retrying<T, F, Fut>(&self, doing: &str, mut op: F) -> Result<T, JobError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TencentError>>,
    {
        let mut attempt = 0u32;
        let mut immediate = 0u32;
        loop {
            if self.token.is_cancelled() {
                return Err(JobError::Stopped);
            }
            let result = tokio::select! {
                () = self.token.cancelled() => return Err(JobError::Stopped),
                result = op() => result,
            };
            let err = match result {
                Ok(value) => {
                    if attempt > 0 {
                        self.meter.set_stall(None);
                    }
                    return Ok(value);
                }
                Err(err) => err,
            };
            match err.class() {
                ErrorClass::Retry if attempt + 1 < self.shared.retry.max_attempts => {
                    // A read error of a deleted or changed file looks like a network error:
                    // retrying cannot help then.
                    self.check_file_unchanged()?;
                    attempt += 1;
                    let reason = err.to_string();
                    tracing::debug!(
                        item = self.item.id,
                        attempt,
                        "{doing}: retrying after {reason}"
                    );
                    let stall = match &err {
                        TencentError::Network { .. } if attempt >= 3 => StallReason::Offline,
                        TencentError::Api(api) if api.code.starts_with("RequestLimitExceeded") => {
                            StallReason::RateLimited
                        }
                        TencentError::Cos { error, .. } if error.code == "SlowDown" => {
                            StallReason::RateLimited
                        }
                        TencentError::SignatureRefused { .. } => StallReason::RateLimited,
                        _ => StallReason::Retrying { attempt, reason },
                    };
                    self.meter.set_stall(Some(stall));
                    // A signature service's Retry-After is a floor: sooner is refused again.
                    let delay = self
                        .shared
                        .retry
                        .jittered_delay(attempt)
                        .max(err.retry_after().unwrap_or_default());
                    tokio::select! {
                        () = self.token.cancelled() => return Err(JobError::Stopped),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                // The clients learned the server's time from the answer's Date header; a new
                // signature is made on the next attempt.
                ErrorClass::ClockSkew | ErrorClass::SignatureExpired if immediate < 3 => {
                    immediate += 1;
                    tracing::debug!(item = self.item.id, "{doing}: signing again after {err}");
                }
                ErrorClass::CredentialsExpired => {
                    return Err(JobError::Credentials {
                        doing: doing.to_owned(),
                        err: Box::new(err),
                    });
                }
                _ => {
                    self.meter.set_stall(None);
                    return Err(JobError::Service {
                        doing: doing.to_owned(),
                        err: Box::new(err),
                    });
                }
            }
        }
    }

    /// A COS operation: fresh credentials first, renewed (or the session restarted) when the
    /// service says they ran out, and the file checked when a send fails.
    async fn cos_op<T, F, Fut>(&self, live: &Live, doing: &str, mut op: F) -> Result<T, JobError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TencentError>>,
    {
        let mut renewals = 0;
        loop {
            self.ensure_fresh(live, false).await?;
            match self.retrying(doing, &mut op).await {
                Ok(value) => return Ok(value),
                Err(JobError::Credentials { doing, err }) => {
                    renewals += 1;
                    if renewals > 3 {
                        return Err(JobError::Service { doing, err });
                    }
                    self.ensure_fresh(live, true).await?;
                }
                Err(err @ (JobError::Service { .. } | JobError::Restart(_))) => {
                    // A read error of a changed or deleted file looks like a network error.
                    self.check_file_unchanged()?;
                    return Err(err);
                }
                Err(err) => return Err(err),
            }
        }
    }

    // ----- multipart -----------------------------------------------------------------------

    async fn multipart(&self, live: &Live, plan: &PartPlan) -> Result<(), JobError> {
        let key = live.record.media_key.clone();
        let mut done: BTreeMap<u32, PartRecord> = BTreeMap::new();
        let existing = match &live.record.upload_id {
            Some(upload_id) => match self.reconcile(live, upload_id, plan).await? {
                Some(parts) => {
                    done = parts;
                    Some(upload_id.clone())
                }
                None => {
                    self.notice(format!(
                        "The server no longer has the unfinished upload of {}; sending it again from the start.",
                        self.name()
                    ))
                    .await;
                    None
                }
            },
            None => None,
        };
        let upload_id = match existing {
            Some(id) => id,
            None => {
                let content_type = content_type(&self.item.path);
                let id = self
                    .cos_op(live, "starting the multipart upload", || {
                        live.cos.initiate(&key, &content_type)
                    })
                    .await?;
                // Persisted the moment it exists, so a crash right after can resume it.
                self.shared
                    .store
                    .set_upload_id(self.item.id, Some(&id), plan.part_size)?;
                id
            }
        };
        let resumed: u64 = done.values().map(|p| p.size).sum();
        self.shared
            .store
            .set_item_resumed_bytes(self.item.id, resumed)?;
        if resumed > 0 {
            tracing::info!(
                item = self.item.id,
                resumed,
                "resuming from the server's parts"
            );
        }
        self.meter.acked.fetch_add(resumed, Ordering::Relaxed);
        self.parts_state(done.len(), plan.count).await;

        let todo: Vec<u32> = (1..=plan.count).filter(|n| !done.contains_key(n)).collect();
        let parallel = self.shared.parallel_parts.load(Ordering::Relaxed).max(1);
        let mut results = futures_util::stream::iter(todo)
            .map(|number| self.upload_part(live, &upload_id, plan, number))
            .buffer_unordered(parallel);
        while let Some(result) = results.next().await {
            let part = result?;
            done.insert(part.number, part);
            self.parts_state(done.len(), plan.count).await;
        }
        drop(results);

        // Before completing: contiguous, ascending, and the sizes add up to the file.
        let numbers: Vec<u32> = done.keys().copied().collect();
        let expected: Vec<u32> = (1..=plan.count).collect();
        let total: u64 = done.values().map(|p| p.size).sum();
        if numbers != expected || total != plan.size {
            return Err(JobError::Service {
                doing: "checking the parts before completing".into(),
                err: Box::new(TencentError::Integrity(format!(
                    "{} parts with {total} bytes are recorded where {} parts with {} bytes were planned",
                    numbers.len(),
                    plan.count,
                    plan.size
                ))),
            });
        }
        self.check_file_unchanged()?;
        let list: Vec<(u32, String)> = done.values().map(|p| (p.number, p.etag.clone())).collect();
        let combined = done
            .values()
            .fold(None, |acc: Option<u64>, p| {
                Some(match acc {
                    None => p.crc64,
                    Some(crc) => crc64::combine(crc, p.crc64, p.size),
                })
            })
            .unwrap_or(0);
        let completed = match self
            .cos_op(live, "completing the multipart upload", || {
                live.cos.complete(&key, &upload_id, &list)
            })
            .await
        {
            Ok(completed) => completed.crc64,
            // A connection cut after the server completed makes the retry find no upload:
            // the object itself says whether it is complete.
            Err(JobError::Service { err, .. }) if is_no_such_upload(&err) => {
                let head = self
                    .cos_op(live, "checking the completed object", || {
                        live.cos.head(&key)
                    })
                    .await?;
                if head.size != plan.size {
                    return Err(JobError::Restart(format!(
                        "The server lost the unfinished upload of {}",
                        self.name()
                    )));
                }
                head.crc64
            }
            Err(err) => return Err(err),
        };
        match completed {
            Some(crc) if crc != combined => Err(JobError::Service {
                doing: "verifying the uploaded object".into(),
                err: Box::new(TencentError::Integrity(format!(
                    "the whole object's CRC-64 is {crc} on the server but {combined} for the parts sent"
                ))),
            }),
            Some(_) => Ok(()),
            None => {
                tracing::warn!(
                    item = self.item.id,
                    "the server sent no CRC-64 for the object"
                );
                Ok(())
            }
        }
    }

    async fn parts_state(&self, done: usize, total: u32) {
        let done = u32::try_from(done).unwrap_or(u32::MAX);
        let changed = self
            .last_parts
            .lock()
            .map(|mut last| {
                let changed = *last != Some((done, total));
                *last = Some((done, total));
                changed
            })
            .unwrap_or(true);
        if changed {
            self.state(ItemState::Uploading {
                parts_done: done,
                parts_total: total,
            })
            .await;
        }
    }

    async fn upload_part(
        &self,
        live: &Live,
        upload_id: &str,
        plan: &PartPlan,
        number: u32,
    ) -> Result<PartRecord, JobError> {
        let (offset, len) = plan.range(number);
        // The slice re-reads the file from its offset on every attempt. Its digests are of
        // the bytes sent (the ETag checks the transfer); a file changed meanwhile is caught
        // by its size and modification time before the upload completes.
        let slice = self.slice(&self.item.path, offset, len);
        let key = &live.record.media_key;
        let (stored, sent) = self
            .cos_op(live, &format!("uploading part {number}"), || {
                live.cos.upload_part(key, upload_id, number, &slice)
            })
            .await?;
        let part = PartRecord {
            number,
            etag: stored.etag,
            size: len,
            crc64: sent.crc64,
        };
        self.shared.store.put_part(self.item.id, &part)?;
        self.meter.body_done(&slice, len);
        Ok(part)
    }

    /// Matches the local part records with the server's list (the server is the truth).
    /// `None` when the upload is gone.
    async fn reconcile(
        &self,
        live: &Live,
        upload_id: &str,
        plan: &PartPlan,
    ) -> Result<Option<BTreeMap<u32, PartRecord>>, JobError> {
        let key = live.record.media_key.clone();
        let listed = match self
            .cos_op(live, "listing the parts already uploaded", || {
                live.cos.list_parts(&key, upload_id)
            })
            .await
        {
            Ok(listed) => listed,
            Err(JobError::Service { err, .. }) if is_no_such_upload(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        let local: BTreeMap<u32, PartRecord> = self
            .shared
            .store
            .parts(self.item.id)?
            .into_iter()
            .map(|p| (p.number, p))
            .collect();
        let mut done = BTreeMap::new();
        for server in listed {
            let number = server.part_number;
            if number == 0 || number > plan.count {
                continue;
            }
            let (offset, len) = plan.range(number);
            if server.size != len {
                continue;
            }
            if let Some(part) = local.get(&number)
                && same_etag(&part.etag, &server.etag)
            {
                done.insert(number, part.clone());
                continue;
            }
            // The server has a part this run did not record (a crash between its answer and
            // the database write): keep it only if it is the file's bytes.
            let path = self.item.path.clone();
            let digest = tokio::task::spawn_blocking(move || hash_range(&path, offset, len))
                .await
                .ok()
                .and_then(Result::ok);
            if let Some((md5_hex, crc)) = digest
                && same_etag(&md5_hex, &server.etag)
            {
                let part = PartRecord {
                    number,
                    etag: server.etag.clone(),
                    size: len,
                    crc64: crc,
                };
                self.shared.store.put_part(self.item.id, &part)?;
                done.insert(number, part);
            }
        }
        let kept: HashSet<u32> = done.keys().copied().collect();
        for number in local.keys().filter(|n| !kept.contains(n)) {
            self.shared.store.delete_part(self.item.id, *number)?;
        }
        Ok(Some(done))
    }

    // ----- commit --------------------------------------------------------------------------

    /// Sets a committed media's expiry (`ModifyMediaInfo`, with the API key). The upload is
    /// done either way; a failure is told, since the media would otherwise never expire.
    async fn set_expiry(&self, file_id: &str, expiry: &str) {
        let result = async {
            let vod = self.vod()?;
            let request = ModifyMediaInfoRequest {
                file_id: file_id.to_owned(),
                sub_app_id: self
                    .item
                    .options
                    .sub_app_id
                    .or(self.shared.service.sub_app_id),
                expire_time: Some(expiry.trim().to_owned()),
            };
            self.retrying("setting the expiry time", || vod.call(&request))
                .await
        }
        .await;
        if let Err(err) = result {
            self.notice(format!(
                "{} is uploaded ({file_id}), but its expiry time {expiry} could not be set: {} Set it in the VOD console.",
                self.name(),
                err.into_user().message
            ))
            .await;
        }
    }

    async fn commit(&self, live: &Live) -> Result<ItemState, JobError> {
        let key = live.record.vod_session_key.clone();
        match self.flow {
            UploadFlow::ClientUpload => {
                let ugc = self.ugc()?;
                let data = self
                    .retrying("committing the upload to VOD", || async {
                        let signature = signature(&self.shared, &self.item.options).await?;
                        ugc.commit(&signature, &key).await
                    })
                    .await?;
                // The client-upload API has no expiry field: it is set once the media exists.
                if let Some(expiry) = &self.item.options.expire_time {
                    self.set_expiry(&data.file_id, expiry).await;
                }
                Ok(ItemState::Done {
                    file_id: data.file_id,
                    media_url: data.video.url,
                    cover_url: data.cover.map(|c| c.url).filter(|u| !u.is_empty()),
                    expires_at: None,
                })
            }
            UploadFlow::ServerApi => {
                let vod = self.vod()?;
                let request = CommitUploadRequest {
                    vod_session_key: key,
                    sub_app_id: self
                        .item
                        .options
                        .sub_app_id
                        .or(self.shared.service.sub_app_id),
                };
                let response = self
                    .retrying("committing the upload to VOD", || vod.call(&request))
                    .await?;
                Ok(ItemState::Done {
                    file_id: response.file_id,
                    media_url: response.media_url,
                    cover_url: Some(response.cover_url).filter(|u| !u.is_empty()),
                    expires_at: None,
                })
            }
        }
    }
}

/// The speed over the samples (when, bytes shown) of the last [`SPEED_WINDOW`]: the bytes
/// shown since the oldest over the time since, once that spans [`SPEED_MIN_SPAN`] (0
/// before). Bodies are handed to the connection a chunk at a time, so on a slow link most
/// ticks see nothing and some a whole chunk: only an average over seconds says the rate.
fn speed_of(samples: &std::collections::VecDeque<(Instant, u64)>) -> f64 {
    match (samples.front(), samples.back()) {
        (Some(&(first_at, first)), Some(&(last_at, last)))
            if last_at.duration_since(first_at) >= SPEED_MIN_SPAN =>
        {
            last.saturating_sub(first) as f64 / last_at.duration_since(first_at).as_secs_f64()
        }
        _ => 0.0,
    }
}

/// The progress of `done` bytes shown (from [`Meter::shown`]) at `speed`.
fn snapshot(meter: &Meter, done: u64, speed: f64) -> Progress {
    let total = meter.total.load(Ordering::Relaxed);
    let stalled = meter.stall.lock().ok().and_then(|s| s.clone());
    // Rounded so that tiny jitter does not count as a change worth an event.
    let speed = (speed / 1024.0).round() * 1024.0;
    let eta = (speed > 0.0 && stalled.is_none())
        .then(|| Duration::from_secs_f64(total.saturating_sub(done) as f64 / speed));
    Progress {
        bytes_done: done.min(total),
        bytes_total: total,
        speed,
        eta: eta.map(|d| Duration::from_secs(d.as_secs())),
        stalled,
    }
}

fn is_no_such_upload(err: &TencentError) -> bool {
    matches!(err, TencentError::Cos { error, .. } if error.code == "NoSuchUpload")
}

fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"')
        .eq_ignore_ascii_case(b.trim_matches('"'))
}

fn hash_range(path: &Path, offset: u64, len: u64) -> std::io::Result<(String, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut md5 = Md5::new();
    let mut crc = Crc64::new();
    let mut left = len;
    let mut buf = vec![0u8; 256 * 1024];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..want])?;
        md5.update(&buf[..want]);
        crc.update(&buf[..want]);
        left -= want as u64;
    }
    Ok((hex::encode(md5.finalize()), crc.sum()))
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

/// A fresh upload signature for one request: made locally from the API key, or fetched from
/// the signature service. Never reused, so one-time signatures work.
async fn signature(shared: &Shared, options: &ItemOptions) -> Result<String, TencentError> {
    if let Some(url) = &shared.service.signature_url {
        return sign_service::fetch(&shared.http, url, shared.service.signature_token.as_ref())
            .await;
    }
    let Some(credentials) = &shared.service.credentials else {
        return Err(TencentError::Malformed {
            service: "configuration",
            detail: "no API key and no signature service is set".into(),
        });
    };
    let now = shared.clock.now();
    let params = SignatureParams {
        secret_id: credentials.secret_id.clone(),
        current_time: now,
        expire_time: now + SIGNATURE_SECONDS,
        random: rand::random(),
        procedure: options.procedure.clone(),
        source_context: options.source_context.clone(),
        class_id: options.class_id,
        vod_sub_app_id: options.sub_app_id.or(shared.service.sub_app_id),
        storage_region: options.storage_region.clone(),
        ..SignatureParams::default()
    };
    params
        .sign(credentials.secret_key())
        .map_err(|err| TencentError::Malformed {
            service: "upload signature",
            detail: err.to_string(),
        })
}

/// Aborts an item's multipart upload on the server, when it has one. Used by cancel, remove
/// and restarts; the session rows stay for the caller to delete. When the abort fails for a
/// reason that may pass (the network, the service), the upload is kept as a leftover for
/// [`sweep_leftovers`] to abort on a later start.
async fn abort_session(shared: &Shared, item: &ItemRecord) -> Result<(), JobError> {
    let Some(record) = shared.store.session(item.id)? else {
        return Ok(());
    };
    let result = abort_upload(shared, &record, &item.options).await;
    if let Err(err) = &result
        && err.may_pass()
        && let Err(store) = shared.store.add_leftover(&record, &item.options)
    {
        tracing::warn!(
            item = item.id,
            "cannot remember an upload to abort: {store:#}"
        );
    }
    result
}

/// Aborts at most this many leftovers per sweep (a start with the service still down then
/// costs little).
const SWEEP_MAX: usize = 50;
/// Leftovers older than this are forgotten: VOD sessions last a day, and the service removes
/// what was never committed.
const LEFTOVER_DAYS: i64 = 7;

/// Aborts the multipart uploads that earlier aborts left on the server (see
/// [`abort_session`]); returns how many were removed from the server.
pub(crate) async fn sweep_leftovers(shared: &Shared) -> usize {
    let leftovers = match shared.store.leftovers() {
        Ok(leftovers) => leftovers,
        Err(err) => {
            tracing::warn!("cannot read the uploads left to abort: {err:#}");
            return 0;
        }
    };
    let mut removed = 0;
    for leftover in leftovers.into_iter().take(SWEEP_MAX) {
        if shared.clock.now() - leftover.created_at > LEFTOVER_DAYS * 86_400 {
            forget_leftover(shared, leftover.id);
            continue;
        }
        match abort_leftover(shared, &leftover).await {
            Ok(()) => removed += 1,
            Err(err) => {
                tracing::warn!(
                    "an upload left on the server could not be aborted{}: {}",
                    if err.may_pass() {
                        " (tried again on the next start)"
                    } else {
                        ""
                    },
                    err.into_user()
                );
            }
        }
    }
    if removed > 0 {
        tracing::info!("aborted {removed} upload(s) that an earlier abort left on the server");
    }
    removed
}

/// Aborts `record`'s multipart upload, when it has one, renewing the certificate of the
/// client-upload flow (with `options` in the signature).
async fn abort_upload(
    shared: &Shared,
    record: &SessionRecord,
    options: &ItemOptions,
) -> Result<(), JobError> {
    let Some(upload_id) = record.upload_id.clone() else {
        return Ok(());
    };
    let credentials = match record.flow {
        UploadFlow::ServerApi => match record.certificate.clone() {
            Some(cert) if shared.clock.now() < record.cert_expires_at => cert,
            _ => {
                return Err(JobError::User(plain(
                    "The temporary certificate expired, so the unfinished upload cannot be aborted; the service removes it in time.",
                    false,
                )));
            }
        },
        UploadFlow::ClientUpload => {
            let ugc = UgcClient::new(shared.http.clone(), &shared.service.endpoints.ugc)
                .map(|client| client.with_clock(Arc::clone(&shared.clock)))
                .map_err(|err| JobError::Service {
                    doing: "connecting to the client-upload service".into(),
                    err: Box::new(err),
                })?;
            let mut last = None;
            let mut data = None;
            for attempt in 1..=shared.retry.max_attempts.min(4) {
                let result = async {
                    let request = ApplyRequest {
                        signature: signature(shared, options).await?,
                        vod_session_key: Some(record.vod_session_key.clone()),
                        ..ApplyRequest::default()
                    };
                    ugc.apply(&request).await
                }
                .await;
                match result {
                    Ok(ok) => {
                        data = Some(ok);
                        break;
                    }
                    Err(err) if err.is_retryable() => {
                        last = Some(err);
                        tokio::time::sleep(shared.retry.jittered_delay(attempt)).await;
                    }
                    Err(err) => {
                        last = Some(err);
                        break;
                    }
                }
            }
            let Some(data) = data else {
                return Err(JobError::Service {
                    doing: "renewing credentials to abort the upload".into(),
                    err: Box::new(last.unwrap_or(TencentError::Malformed {
                        service: "client upload",
                        detail: "no answer".into(),
                    })),
                });
            };
            let cert = data.temp_certificate;
            Credentials::new(cert.secret_id, cert.secret_key).with_token(Some(cert.token))
        }
    };
    let cos = CosClient::new(
        shared.http.clone(),
        CosTarget {
            bucket: record.bucket.clone(),
            region: record.region.clone(),
            endpoint: shared.service.endpoints.cos.clone(),
        },
        credentials,
        Arc::clone(&shared.clock),
    );
    let mut last = None;
    for attempt in 1..=shared.retry.max_attempts.min(5) {
        match cos.abort(&record.media_key, &upload_id).await {
            Ok(()) => return Ok(()),
            Err(err) if err.is_retryable() || err.class() == ErrorClass::ClockSkew => {
                last = Some(err);
                tokio::time::sleep(shared.retry.jittered_delay(attempt)).await;
            }
            Err(err) => {
                last = Some(err);
                break;
            }
        }
    }
    Err(JobError::Service {
        doing: "aborting the unfinished upload".into(),
        err: Box::new(last.unwrap_or(TencentError::Malformed {
            service: "COS",
            detail: "no answer".into(),
        })),
    })
}

/// Aborts `leftover`'s multipart upload and forgets it, unless the abort failed for a
/// reason that may pass (then a later sweep tries again).
async fn abort_leftover(shared: &Shared, leftover: &Leftover) -> Result<(), JobError> {
    let result = abort_upload(shared, &leftover.session, &leftover.options).await;
    if result.as_ref().is_ok() || result.as_ref().is_err_and(|err| !err.may_pass()) {
        forget_leftover(shared, leftover.id);
    }
    result
}

/// [`abort_leftover`] in the background, for an upload given up without anyone waiting.
pub(crate) fn abort_leftover_later(shared: Arc<Shared>, leftover: Leftover) {
    tokio::spawn(async move {
        if let Err(err) = abort_leftover(&shared, &leftover).await {
            tracing::warn!(
                "an upload given up could not be aborted: {}",
                err.into_user()
            );
        }
    });
}

fn forget_leftover(shared: &Shared, id: i64) {
    if let Err(err) = shared.store.delete_leftover(id) {
        tracing::warn!("cannot forget an upload left to abort: {err:#}");
    }
}

/// Gives up an item's upload for a cancel or a remove: the store marks it first (see
/// [`Store::retire_session`]), then the multipart upload is aborted. The error is in plain
/// words.
pub(crate) async fn retire_item(
    shared: &Shared,
    item: &ItemRecord,
    retire: Retire,
) -> Result<(), UserError> {
    let leftover = match shared.store.retire_session(item.id, &item.options, retire) {
        Ok(leftover) => leftover,
        Err(err) => {
            // The session is still stored: abort it directly, as a best effort.
            tracing::warn!(item = item.id, "cannot mark a cancelled upload: {err:#}");
            return abort_session(shared, item).await.map_err(user_abort_error);
        }
    };
    match leftover {
        Some(leftover) => abort_leftover(shared, &leftover)
            .await
            .map_err(user_abort_error),
        None => Ok(()),
    }
}

fn user_abort_error(err: JobError) -> UserError {
    let later = err.may_pass();
    let mut user = err.into_user();
    if later {
        user.message
            .push_str(" VodDesk tries to remove it again when it next starts.");
    }
    user
}
