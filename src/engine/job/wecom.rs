//! An item whose destination is WeChat Work: one `media/upload` (the files are at most
//! 20 MB), retried like the VOD calls, with the `media_id` and its expiry as the result.
//! Progress: nothing is acknowledged before WeCom answers; the bytes handed to the connection show as in flight.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Job, JobError};
use crate::engine::api::{ItemState, StallReason, UserError, WeComMediaType};
use crate::engine::errors::plain;
use crate::wecom::{Uploaded, WeComClient, WeComError};

/// The service's "system busy, try again" and "API called too often" codes.
const BUSY: [i64; 2] = [-1, 45009];

impl Job {
    pub(super) async fn upload_wecom(
        &mut self,
        kind: WeComMediaType,
    ) -> Result<ItemState, JobError> {
        self.check_file_at_start().await?;
        let Some(client) = self.shared.wecom.clone() else {
            return Err(JobError::User(plain(
                "WeChat Work needs its application's CorpID and secret (in the app's settings, or WECOM_CORP_ID and WECOM_CORP_SECRET); set them, then retry.",
                true,
            )));
        };
        self.meter.total.store(self.item.size, Ordering::Relaxed);
        self.meter.acked.store(0, Ordering::Relaxed);
        self.state(ItemState::Uploading {
            parts_done: 0,
            parts_total: 1,
        })
        .await;
        let mut attempt = 0;
        let uploaded = loop {
            attempt += 1;
            let result = self.send_wecom(&client, kind).await?;
            match result {
                Ok(uploaded) => break uploaded,
                Err(err) if may_pass(&err) && attempt < self.shared.retry.max_attempts => {
                    tracing::debug!(
                        item = self.item.id,
                        attempt,
                        "WeCom upload: retrying after {err}"
                    );
                    let stall = match &err {
                        WeComError::Network(_) if attempt >= 3 => StallReason::Offline,
                        WeComError::Service { errcode, .. } if *errcode == 45009 => {
                            StallReason::RateLimited
                        }
                        _ => StallReason::Retrying {
                            attempt,
                            reason: err.to_string(),
                        },
                    };
                    self.meter.set_stall(Some(stall));
                    let delay = self.shared.retry.jittered_delay(attempt);
                    tokio::select! {
                        () = self.token.cancelled() => return Err(JobError::Stopped),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                Err(err) => return Err(JobError::User(user_error(&err))),
            }
        };
        self.meter.set_stall(None);
        // The body was read whole just before it was sent: a file changed since it was
        // queued was caught at the start, and one changed while sending is refused here.
        self.check_file_unchanged()?;
        self.meter.acked.store(self.item.size, Ordering::Relaxed);
        Ok(ItemState::Done {
            file_id: uploaded.media_id,
            media_url: String::new(),
            cover_url: None,
            expires_at: Some(uploaded.expires_at),
        })
    }
}

impl Job {
    /// One attempt. The bytes handed to the connection are shown as in flight, not as
    /// progress: WeCom confirms nothing before it answers, and the connection's buffers may
    /// still hold them.
    async fn send_wecom(
        &self,
        client: &WeComClient,
        kind: WeComMediaType,
    ) -> Result<Result<Uploaded, WeComError>, JobError> {
        self.meter.acked.store(0, Ordering::Relaxed);
        self.meter.sent.store(0, Ordering::Relaxed);
        self.meter.wecom_sending.store(true, Ordering::Relaxed);
        let upload =
            client.upload_counted(&self.item.path, kind, Some(Arc::clone(&self.meter.sent)));
        let result = tokio::select! {
            () = self.token.cancelled() => Err(JobError::Stopped),
            () = self.drain.cancelled() => Err(JobError::Stopped),
            result = upload => Ok(result),
        };
        self.meter.wecom_sending.store(false, Ordering::Relaxed);
        result
    }
}

/// Whether the same upload may pass later: no answer, an answer that is not WeCom's (a
/// proxy's error page), or the service saying it is busy.
fn may_pass(err: &WeComError) -> bool {
    match err {
        WeComError::Network(_) | WeComError::Malformed(_) => true,
        WeComError::Service { errcode, .. } => BUSY.contains(errcode),
        WeComError::Limit { .. } | WeComError::File { .. } => false,
    }
}

fn user_error(err: &WeComError) -> UserError {
    let (message, code) = match err {
        WeComError::Service { errcode, .. } => (
            format!("WeChat Work refused the upload: {err}."),
            Some(errcode.to_string()),
        ),
        WeComError::Network(_) => (format!("The upload to WeChat Work failed: {err}."), None),
        _ => (format!("{err}."), None),
    };
    UserError {
        message,
        code,
        request_id: None,
        retryable: may_pass(err) || matches!(err, WeComError::File { .. }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_unreachable_are_retried_and_refusals_are_not() {
        assert!(may_pass(&WeComError::Network("refused".into())));
        assert!(may_pass(&WeComError::Service {
            errcode: -1,
            message: String::new()
        }));
        assert!(!may_pass(&WeComError::Service {
            errcode: 40004,
            message: String::new()
        }));
        assert!(!may_pass(&WeComError::Limit {
            rule: String::new(),
            path: String::new()
        }));
        let user = user_error(&WeComError::Service {
            errcode: 40004,
            message: "bad type".into(),
        });
        assert_eq!(user.code.as_deref(), Some("40004"));
        assert!(!user.retryable);
    }
}
