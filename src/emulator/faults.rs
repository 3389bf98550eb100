//! Faults and timings that tests (and the `voddesk emulator` flags) can set, and the counters
//! tests read back.
//!
//! Every random decision goes through one seeded RNG so that a test that sets the same seed
//! and sends the same requests in the same order sees the same faults.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Timings and injected faults. `Default` is a well-behaved service with the real lifetimes,
/// except for the review delay, which is seconds rather than hours so that a demo finishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// How long a WeChat publish review takes (WAITING for the first third, then PROCESSING).
    pub review_delay: Duration,
    /// Reviews end `Rejected` instead of `Pass`.
    pub reject_publish: bool,
    /// The account is not identity-verified: publishing answers `FailedOperation.NoPrivileges`.
    pub unverified_account: bool,
    /// Lifetime of the temporary certificates handed out by ApplyUpload / ApplyUploadUGC.
    pub cert_lifetime: Duration,
    /// Lifetime of WeCom access tokens.
    pub wecom_token_lifetime: Duration,
    /// Lifetime of WeCom temporary media.
    pub wecom_media_lifetime: Duration,
    /// Seconds added to the emulator's clock: signature checks, `Date` headers and the UGC
    /// `timestamp` all use the shifted clock.
    pub clock_offset_secs: i64,
    /// Share (0..=1) of PutObject/UploadPart requests answered 500 `InternalError`.
    pub upload_error_rate: f64,
    /// Share (0..=1) of VOD API calls answered 500 with `InternalError` in the envelope.
    pub api_error_rate: f64,
    /// Share (0..=1) of PutObject/UploadPart requests whose connection is dropped after part
    /// of the body was read, without an answer.
    pub cut_rate: f64,
    /// Delay added before every request is handled.
    pub latency: Duration,
    /// Limit on how fast each request body is read, bytes per second.
    pub bandwidth: Option<u64>,
    /// Requests per second allowed on the publishing actions (WeChatMiniProgramPublish,
    /// DescribeTaskDetail) before `RequestLimitExceeded`.
    pub publish_rate_limit: u32,
    /// A service outage: every request is answered 503 by the front door, before any API
    /// sees it (set at run time through the handle, for tests of what waits for the service).
    pub outage: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            review_delay: Duration::from_secs(3),
            reject_publish: false,
            unverified_account: false,
            cert_lifetime: Duration::from_secs(1800),
            wecom_token_lifetime: Duration::from_secs(7200),
            wecom_media_lifetime: Duration::from_secs(3 * 24 * 3600),
            clock_offset_secs: 0,
            upload_error_rate: 0.0,
            api_error_rate: 0.0,
            cut_rate: 0.0,
            latency: Duration::ZERO,
            bandwidth: None,
            publish_rate_limit: 100,
            outage: false,
        }
    }
}

/// Counters of one multipart upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadCounters {
    /// UploadPart requests received (including failed and cut ones).
    pub part_requests: u64,
    /// Body bytes received by UploadPart, including bytes of requests that later failed.
    pub bytes_received: u64,
    /// UploadPart requests that stored a part.
    pub parts_completed: u64,
}

/// A snapshot of what the emulator has seen since it started (not persisted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Per multipart upload id.
    pub uploads: HashMap<String, UploadCounters>,
    /// Body bytes received by PutObject and UploadPart in all, including bytes of requests
    /// that failed or were cut off (what a client sent, whether or not it was kept).
    pub body_bytes: u64,
    /// Per VOD API action (`X-TC-Action`), UGC action (`ApplyUploadUGC`…), COS operation
    /// (`PutObject`, `UploadPart`…) and WeCom call (`gettoken`, `media/upload`…).
    pub actions: HashMap<String, u64>,
}

impl Counters {
    /// Calls of one action (0 when never called).
    #[must_use]
    pub fn action(&self, name: &str) -> u64 {
        self.actions.get(name).copied().unwrap_or_default()
    }

    /// Counters of one upload id (zeros when unknown).
    #[must_use]
    pub fn upload(&self, upload_id: &str) -> UploadCounters {
        self.uploads.get(upload_id).cloned().unwrap_or_default()
    }
}

/// The seeded source of fault decisions.
#[derive(Debug)]
pub(crate) struct Dice(StdRng);

impl Dice {
    pub(crate) fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// True with probability `rate` (clamped to 0..=1); never consumes randomness at rate 0,
    /// so a test that enables one fault is not disturbed by the others.
    pub(crate) fn roll(&mut self, rate: f64) -> bool {
        if rate <= 0.0 || rate.is_nan() {
            return false;
        }
        self.0.random_bool(rate.min(1.0))
    }

    /// A fraction in 0.1..0.9, where a cut connection stops reading.
    pub(crate) fn cut_fraction(&mut self) -> f64 {
        self.0.random_range(0.1..0.9)
    }
}
