//! The time used for signatures, corrected by what servers say the time is.
//!
//! A laptop whose clock is more than five minutes off gets `AuthFailure.SignatureExpire` from
//! VOD and `RequestTimeTooSkewed` from COS. Rather than report a bad key, the clients learn the
//! offset from the HTTP `Date` header of any answer and sign with the corrected time.

use std::sync::atomic::{AtomicI64, Ordering};

/// The offset between the local clock and the servers', shared by all clients.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

/// Offsets below this are ordinary drift and left alone.
const TOLERATED_SECONDS: i64 = 30;

impl Clock {
    /// A clock with no correction.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The system time, Unix seconds.
    #[must_use]
    pub fn system_now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// The corrected time, Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        Self::system_now() + self.offset()
    }

    /// The correction in seconds (server minus local).
    #[must_use]
    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::Relaxed)
    }

    /// Learns from an HTTP `Date` header; returns whether the correction changed.
    pub fn observe_date_header(&self, date: &str) -> bool {
        let Ok(server) = chrono::DateTime::parse_from_rfc2822(date.trim()) else {
            return false;
        };
        self.observe_server_time(server.timestamp())
    }

    /// Learns from a server's time (Unix seconds); returns whether the correction changed.
    pub fn observe_server_time(&self, server_now: i64) -> bool {
        let offset = server_now - Self::system_now();
        let current = self.offset();
        if (offset - current).abs() <= TOLERATED_SECONDS {
            return false;
        }
        if offset.abs() <= TOLERATED_SECONDS {
            self.offset_seconds.store(0, Ordering::Relaxed);
        } else {
            tracing::warn!(
                offset,
                "the local clock differs from the server's; signing with the server's time"
            );
            self.offset_seconds.store(offset, Ordering::Relaxed);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_large_offsets_only() {
        let clock = Clock::new();
        assert!(!clock.observe_server_time(Clock::system_now() + 5));
        assert_eq!(clock.offset(), 0);
        assert!(clock.observe_server_time(Clock::system_now() + 600));
        assert!((clock.offset() - 600).abs() <= 1);
        let date = (chrono::Utc::now() - chrono::Duration::seconds(3600)).to_rfc2822();
        assert!(clock.observe_date_header(&date));
        assert!((clock.offset() + 3600).abs() <= 1);
        assert!(!clock.observe_date_header("not a date"));
    }
}
