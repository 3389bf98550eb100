//! Exponential backoff with full jitter, bounded.

use std::time::Duration;

/// How often and how patiently to retry transient errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The backoff before the second attempt.
    pub base: Duration,
    /// The longest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(200),
            max: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The ceiling of the backoff after `attempt` failed attempts (1-based), before jitter.
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The backoff after `attempt` failed attempts: uniform in `[ceiling/2, ceiling]`.
    ///
    /// Half-jitter keeps a floor so that a burst of failures does not hammer the service.
    #[must_use]
    pub fn delay(&self, attempt: u32, random_unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        ceiling.mul_f64(0.5 + 0.5 * random_unit.clamp(0.0, 1.0))
    }

    /// [`RetryPolicy::delay`] with a random draw.
    #[must_use]
    pub fn jittered_delay(&self, attempt: u32) -> Duration {
        self.delay(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.ceiling(2), Duration::from_millis(400));
        assert_eq!(policy.ceiling(30), Duration::from_secs(20));
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(policy.delay(1, 1.0), Duration::from_millis(200));
    }
}
