//! The one retry helper every request of a job goes through, and its COS variant that keeps
//! the credentials fresh.

use super::*;

impl Job {
    /// Whether a pause or quit asked this job to stop at its next step (bodies being sent
    /// drain by their own rule).
    pub(super) fn drained(&self) -> bool {
        self.drain.is_cancelled() && !self.sending.load(Ordering::Relaxed)
    }

    /// Runs `op` until it succeeds, retrying transient errors with backoff and jitter.
    pub(super) async fn retrying<T, F, Fut>(&self, doing: &str, mut op: F) -> Result<T, JobError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TencentError>>,
    {
        let mut attempt = 0u32;
        let mut immediate = 0u32;
        loop {
            if self.token.is_cancelled() || self.drained() {
                return Err(JobError::Stopped);
            }
            let result = tokio::select! {
                () = self.token.cancelled() => return Err(JobError::Stopped),
                () = self.drain.cancelled(), if !self.sending.load(Ordering::Relaxed) => {
                    return Err(JobError::Stopped);
                }
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
                    let delay = self.note_retry(doing, attempt, &err);
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

    /// What a retry of `err` means for the queue: the item's stall reason, a smaller budget
    /// when the link is in trouble; returns how long to wait before the next attempt.
    fn note_retry(&self, doing: &str, attempt: u32, err: &TencentError) -> Duration {
        let reason = err.to_string();
        tracing::debug!(
            item = self.item.id,
            attempt,
            "{doing}: retrying after {reason}"
        );
        let stall = match err {
            TencentError::Network { .. } if attempt >= 3 => StallReason::Offline,
            TencentError::Api(api) if api.code.starts_with("RequestLimitExceeded") => {
                StallReason::RateLimited
            }
            TencentError::Cos { error, .. } if error.code == "SlowDown" => StallReason::RateLimited,
            TencentError::SignatureRefused { .. } => StallReason::RateLimited,
            _ => StallReason::Retrying { attempt, reason },
        };
        self.meter.set_stall(Some(stall));
        // Trouble on the way: fewer bodies at once for the whole queue. A refusal of the
        // signature service says nothing about the link.
        if !matches!(err, TencentError::SignatureRefused { .. }) {
            self.shared.budget.note_error();
        }
        // A signature service's Retry-After is a floor: sooner is refused again.
        self.shared
            .retry
            .jittered_delay(attempt)
            .max(err.retry_after().unwrap_or_default())
    }

    /// A COS operation: fresh credentials first, renewed (or the session restarted) when the
    /// service says they ran out, and the file checked when a send fails.
    pub(super) async fn cos_op<T, F, Fut>(
        &self,
        live: &Live,
        doing: &str,
        mut op: F,
    ) -> Result<T, JobError>
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
}
