//! A token bucket shared by every upload, for the app-wide bandwidth limit.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Limits bytes per second across all callers; a limit of 0 means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    limit: AtomicU64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(None)
    }
}

impl RateLimiter {
    /// A limiter at `bytes_per_second` (`None`: unlimited).
    #[must_use]
    pub fn new(bytes_per_second: Option<u64>) -> Self {
        Self {
            limit: AtomicU64::new(bytes_per_second.unwrap_or(0)),
            state: Mutex::new(Bucket {
                tokens: 0.0,
                last: Instant::now(),
            }),
        }
    }

    /// Changes the limit while running.
    pub fn set_limit(&self, bytes_per_second: Option<u64>) {
        self.limit
            .store(bytes_per_second.unwrap_or(0), Ordering::Relaxed);
    }

    /// The current limit.
    #[must_use]
    pub fn limit(&self) -> Option<u64> {
        Some(self.limit.load(Ordering::Relaxed)).filter(|&l| l > 0)
    }

    /// Takes `bytes` tokens, or says how long to wait before they are there.
    fn take(&self, bytes: u64) -> Option<Duration> {
        let limit = self.limit()?;
        let Ok(mut bucket) = self.state.lock() else {
            return None;
        };
        let now = Instant::now();
        let rate = limit as f64;
        // At most a quarter second of burst.
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate / 4.0);
        bucket.last = now;
        bucket.tokens -= bytes as f64;
        (bucket.tokens < 0.0).then(|| Duration::from_secs_f64(-bucket.tokens / rate))
    }

    /// Waits until `bytes` may be sent.
    pub async fn acquire(&self, bytes: u64) {
        if let Some(wait) = self.take(bytes) {
            tokio::time::sleep(wait).await;
        }
    }
}
