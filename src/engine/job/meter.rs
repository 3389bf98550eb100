//! What an upload has done, as its progress shows it: bytes acknowledged, bytes on their way,
//! the speed over the last seconds and a stall.

use super::*;

/// Bytes and stall state the progress ticker reads.
#[derive(Default)]
pub(super) struct Meter {
    /// Bytes the server has acknowledged (parts, the cover, a single PUT; for WeCom, the
    /// whole file once it answered). This alone is the item's progress.
    pub(super) acked: AtomicU64,
    /// Of `acked`, what earlier runs had sent (resumed parts, a finished cover): not this
    /// run's speed.
    pub(super) resumed: AtomicU64,
    /// WeCom: the bytes handed to the connection.
    pub(super) sent: Arc<AtomicU64>,
    /// WeCom: whether its request is on its way (its `sent` then counts as in flight).
    pub(super) wecom_sending: AtomicBool,
    /// The COS bodies being sent, each counting its current attempt's bytes handed to the
    /// connection; a body whose upload ended is gone (its slice dropped).
    pub(super) bodies: Mutex<Vec<Weak<AtomicU64>>>,
    pub(super) total: AtomicU64,
    pub(super) stall: Mutex<Option<StallReason>>,
}

impl Meter {
    pub(super) fn set_stall(&self, stall: Option<StallReason>) {
        if let Ok(mut slot) = self.stall.lock() {
            *slot = stall;
        }
    }

    /// Bytes an earlier run sent, acknowledged now without being sent.
    pub(super) fn add_resumed(&self, bytes: u64) {
        self.resumed.fetch_add(bytes, Ordering::Relaxed);
        self.acked.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A counter for one more body in flight.
    pub(super) fn body_counter(&self) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.retain(|body| body.strong_count() > 0);
            bodies.push(Arc::downgrade(&counter));
        }
        counter
    }

    /// (acknowledged, in flight): what the server has, and the bytes handed to connections
    /// whose bodies it has not acknowledged yet. Only the first is progress: the second may
    /// still sit in buffers, and a pause or crash may throw it away.
    pub(super) fn shown(&self) -> (u64, u64) {
        // Under the lock that `body_done` takes: a body's bytes count either in flight or as
        // acknowledged, never in both.
        let Ok(bodies) = self.bodies.lock() else {
            return (self.acked.load(Ordering::Relaxed), 0);
        };
        let mut in_flight: u64 = bodies
            .iter()
            .filter_map(Weak::upgrade)
            .map(|sent| sent.load(Ordering::Relaxed))
            .sum();
        if self.wecom_sending.load(Ordering::Relaxed) {
            in_flight += self.sent.load(Ordering::Relaxed);
        }
        (self.acked.load(Ordering::Relaxed), in_flight)
    }

    /// The server acknowledged the body of `slice`, `len` bytes: they move from in flight to
    /// acknowledged at once.
    pub(super) fn body_done(&self, slice: &FileSlice, len: u64) {
        let _bodies = self.bodies.lock();
        self.acked.fetch_add(len, Ordering::Relaxed);
        if let Some(sent) = &slice.sent {
            sent.store(0, Ordering::Relaxed);
        }
    }
}

/// How far back the speed looks.
pub(super) const SPEED_WINDOW: Duration = Duration::from_secs(6);

/// No speed is said before a run has lasted this long: the first acknowledgements come in
/// lumps, and a figure from them would be noise ("7 KiB/s, 6:05:42").
pub(super) const SPEED_MIN_SPAN: Duration = Duration::from_secs(2);

/// The acknowledged rate over the samples (when, bytes acknowledged) of the last
/// [`SPEED_WINDOW`]. Parts are acknowledged a part at a time, so only an average over
/// seconds says the rate.
pub(super) fn speed_of(samples: &std::collections::VecDeque<(Instant, u64)>) -> f64 {
    match (samples.front(), samples.back()) {
        (Some(&(first_at, first)), Some(&(last_at, last))) if last_at > first_at => {
            last.saturating_sub(first) as f64 / last_at.duration_since(first_at).as_secs_f64()
        }
        _ => 0.0,
    }
}

/// The progress of `done` bytes acknowledged and `in_flight` on their way, at `speed`.
pub(super) fn snapshot(meter: &Meter, done: u64, in_flight: u64, speed: f64) -> Progress {
    let total = meter.total.load(Ordering::Relaxed);
    let stalled = meter.stall.lock().ok().and_then(|s| s.clone());
    // Rounded so that tiny jitter does not count as a change worth an event.
    let speed = (speed / 1024.0).round() * 1024.0;
    let eta = (speed > 0.0 && stalled.is_none())
        .then(|| Duration::from_secs_f64(total.saturating_sub(done) as f64 / speed));
    let done = done.min(total);
    Progress {
        bytes_done: done,
        in_flight: in_flight.min(total - done),
        bytes_total: total,
        speed,
        eta: eta.map(|d| Duration::from_secs(d.as_secs())),
        stalled,
    }
}
