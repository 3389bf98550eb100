//! WeChat publishing against the service: submit, follow the review, resolve the URL,
//! suspend/restore, delete, refresh, and list the account's media.
//!
//! Every call goes through one request-rate limiter (the service allows 100 requests/second
//! per action; staying under it for all publishing calls together keeps many reviews polled in
//! parallel from tripping `RequestLimitExceeded`).

use std::sync::Arc;
use std::time::Duration;

use super::api::{LibraryEntry, LibraryPage, PublishState, UserError};
use super::errors::user_error;
use super::publish::{self, ReviewOutcome};
use crate::tencent::models::{
    Action, DeleteMediaRequest, DescribeMediaInfosRequest, DescribeTaskDetailRequest,
    ForbidMediaDistributionRequest, MediaInfo, SearchMediaRequest, SortBy,
    WeChatMiniProgramPublishRequest,
};
use crate::tencent::throttle::RateLimiter;
use crate::tencent::vod::VodClient;

/// Requests per second for all publishing calls of this app together.
pub const REQUESTS_PER_SECOND: u64 = 50;

/// One limiter for the whole process: publishers are made per command, and reviews of many
/// items are polled at once, so a limiter per publisher would not limit anything.
static LIMITER: std::sync::LazyLock<Arc<RateLimiter>> =
    std::sync::LazyLock::new(|| Arc::new(RateLimiter::new(Some(REQUESTS_PER_SECOND))));

fn plain(message: impl Into<String>) -> UserError {
    UserError {
        message: message.into(),
        code: None,
        request_id: None,
        retryable: false,
    }
}

/// A publish request the service accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The review task.
    pub task_id: String,
    /// The definition submitted.
    pub definition: i64,
}

/// What the service says about a media file now.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaStatus {
    /// Gone for good.
    Deleted,
    /// Present.
    Present {
        /// Name, status, URLs, reviews.
        info: Box<MediaInfo>,
    },
}

/// The publication state of a review that refused the file (`result` is the service's word,
/// `Rejected` or `Failed`); publishing again may pass.
#[must_use]
pub fn refused(result: &str, message: &str) -> PublishState {
    PublishState::Rejected(UserError {
        message: message.to_owned(),
        code: Some(result.to_owned()),
        request_id: None,
        retryable: true,
    })
}

/// Whether distribution of the media is forbidden (suspended here or by the platform).
#[must_use]
pub fn is_forbidden(info: &MediaInfo) -> bool {
    info.basic_info
        .as_ref()
        .is_some_and(|b| b.status.to_ascii_lowercase().contains("forbidden"))
}

/// The publication state the service's data implies (no local history needed).
#[must_use]
pub fn derive_publish_state(info: &MediaInfo) -> PublishState {
    let passed = info.mini_program_review_info.as_ref().and_then(|r| {
        r.mini_program_review_list
            .iter()
            .filter(|item| item.review_result.eq_ignore_ascii_case("pass"))
            .max_by_key(|item| item.definition)
    });
    let Some(passed) = passed else {
        return PublishState::NotPublished;
    };
    let url = publish::publish_url(info, passed.definition).unwrap_or_default();
    if is_forbidden(info) {
        PublishState::Suspended { url }
    } else {
        PublishState::Published {
            url,
            definition: passed.definition,
        }
    }
}

/// The publication state the service's data implies, keeping a local review or refusal the service does
/// not (yet) show.
pub fn reconcile(current: &PublishState, status: &MediaStatus) -> PublishState {
    match status {
        MediaStatus::Deleted => PublishState::Deleted,
        MediaStatus::Present { info } => {
            let derived = derive_publish_state(info);
            match (current, &derived) {
                (
                    PublishState::UnderReview { .. } | PublishState::Rejected(_),
                    PublishState::NotPublished,
                ) => current.clone(),
                _ => derived,
            }
        }
    }
}

/// A library entry from the service's data.
#[must_use]
pub fn library_entry(info: &MediaInfo) -> LibraryEntry {
    let basic = info.basic_info.clone().unwrap_or_default();
    LibraryEntry {
        file_id: info.file_id.clone(),
        name: basic.name,
        status: basic.status,
        create_time: basic.create_time,
        category: basic.category,
        media_url: basic.media_url,
        cover_url: basic.cover_url,
        publish: derive_publish_state(info),
    }
}

/// Publishing calls for one account.
#[derive(Debug, Clone)]
pub struct Publisher {
    vod: VodClient,
    sub_app_id: Option<u64>,
    limiter: Arc<RateLimiter>,
}

impl Publisher {
    /// A publisher over `vod`.
    #[must_use]
    pub fn new(vod: VodClient, sub_app_id: Option<u64>) -> Self {
        Self {
            vod,
            sub_app_id,
            limiter: Arc::clone(&LIMITER),
        }
    }

    async fn call<A: Action>(&self, doing: &str, request: &A) -> Result<A::Response, UserError> {
        self.limiter.acquire(1).await;
        self.vod
            .call(request)
            .await
            .map_err(|err| user_error(doing, &err))
    }

    /// The service's view of a file.
    ///
    /// # Errors
    /// When the service cannot be asked.
    pub async fn status(&self, file_id: &str) -> Result<MediaStatus, UserError> {
        let answer = self
            .call(
                "reading the media's details",
                &DescribeMediaInfosRequest {
                    file_ids: vec![file_id.to_owned()],
                    sub_app_id: self.sub_app_id,
                    filters: None,
                },
            )
            .await?;
        Ok(
            match answer
                .media_info_set
                .into_iter()
                .find(|m| m.file_id == file_id)
            {
                Some(info) => MediaStatus::Present {
                    info: Box::new(info),
                },
                None => MediaStatus::Deleted,
            },
        )
    }

    async fn present(&self, file_id: &str) -> Result<MediaInfo, UserError> {
        match self.status(file_id).await? {
            MediaStatus::Present { info } => Ok(*info),
            MediaStatus::Deleted => Err(UserError {
                message: format!(
                    "no media with FileId {file_id} in VOD (it was deleted, or the FileId is wrong)"
                ),
                code: Some("ResourceNotFound.FileNotExist".into()),
                request_id: None,
                retryable: false,
            }),
        }
    }

    /// Submits a publication; picks the definition when `definition` is `None`.
    ///
    /// # Errors
    /// When the file cannot be published, in plain words.
    pub async fn submit(
        &self,
        file_id: &str,
        definition: Option<i64>,
    ) -> Result<Submitted, UserError> {
        let definition = match definition {
            Some(definition) => definition,
            None => {
                let info = self.present(file_id).await?;
                publish::pick_definition(&info).map_err(|err| plain(err.to_string()))?
            }
        };
        let answer = self
            .call(
                "publishing to WeChat",
                &WeChatMiniProgramPublishRequest {
                    file_id: file_id.to_owned(),
                    sub_app_id: self.sub_app_id,
                    source_definition: Some(definition),
                },
            )
            .await?;
        Ok(Submitted {
            task_id: answer.task_id,
            definition,
        })
    }

    /// Asks once where a review stands.
    ///
    /// # Errors
    /// When the service cannot be asked.
    pub async fn poll(&self, task_id: &str) -> Result<ReviewOutcome, UserError> {
        let detail = self
            .call(
                "checking the WeChat review",
                &DescribeTaskDetailRequest {
                    task_id: task_id.to_owned(),
                    sub_app_id: self.sub_app_id,
                },
            )
            .await?;
        Ok(publish::review_outcome(&detail))
    }

    /// Polls until the review ends, backing off from seconds to minutes; `elapsed_at_start`
    /// is how long the review had already run (after a restart).
    ///
    /// Transient errors are retried at the next poll rather than ending the wait.
    ///
    /// # Errors
    /// A non-transient error from the service.
    pub async fn wait_review(
        &self,
        task_id: &str,
        elapsed_at_start: Duration,
    ) -> Result<ReviewOutcome, UserError> {
        let started = tokio::time::Instant::now();
        loop {
            match self.poll(task_id).await {
                Ok(ReviewOutcome::Pending) => {}
                Ok(outcome) => return Ok(outcome),
                Err(err) if err.retryable => {
                    tracing::debug!(task_id, "review poll failed, will retry: {err}");
                }
                Err(err) => return Err(err),
            }
            let elapsed = elapsed_at_start + started.elapsed();
            tokio::time::sleep(publish::poll_delay(elapsed)).await;
        }
    }

    /// The publishing URL of a passed review.
    ///
    /// # Errors
    /// When the file is gone or the service cannot be asked.
    pub async fn published_url(&self, file_id: &str, definition: i64) -> Result<String, UserError> {
        let info = self.present(file_id).await?;
        publish::publish_url(&info, definition)
            .ok_or_else(|| plain(format!("the service reports no URL for {file_id}")))
    }

    /// Forbids (`suspend = true`) or recovers distribution.
    ///
    /// # Errors
    /// When the service refuses or the file does not exist.
    pub async fn set_suspended(&self, file_id: &str, suspend: bool) -> Result<(), UserError> {
        let answer = self
            .call(
                "changing distribution",
                &ForbidMediaDistributionRequest {
                    file_ids: vec![file_id.to_owned()],
                    operation: if suspend { "forbid" } else { "recover" }.to_owned(),
                    sub_app_id: self.sub_app_id,
                },
            )
            .await?;
        if answer.not_exist_file_id_set.iter().any(|id| id == file_id) {
            return Err(UserError {
                message: format!(
                    "no media with FileId {file_id} in VOD (it was deleted, or the FileId is wrong)"
                ),
                code: Some("ResourceNotFound.FileNotExist".into()),
                request_id: Some(answer.request_id),
                retryable: false,
            });
        }
        Ok(())
    }

    /// Deletes a file for good.
    ///
    /// # Errors
    /// When the service refuses.
    pub async fn delete(&self, file_id: &str) -> Result<(), UserError> {
        self.call(
            "deleting the media",
            &DeleteMediaRequest {
                file_id: file_id.to_owned(),
                sub_app_id: self.sub_app_id,
                delete_parts: None,
            },
        )
        .await
        .map(|_| ())
    }

    /// One page of the account's media, newest first, optionally filtered by name.
    ///
    /// # Errors
    /// When the service cannot be asked.
    pub async fn search(
        &self,
        name: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<LibraryPage, UserError> {
        // The service refuses Offset + Limit > 5000.
        let limit = limit
            .clamp(1, 100)
            .min(5000u64.saturating_sub(offset).max(1));
        let answer = self
            .call(
                "listing the media library",
                &SearchMediaRequest {
                    sub_app_id: self.sub_app_id,
                    names: name
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(|n| vec![n.to_owned()]),
                    sort: Some(SortBy {
                        field: "CreateTime".into(),
                        order: "Desc".into(),
                    }),
                    offset: Some(offset),
                    limit: Some(limit),
                    ..SearchMediaRequest::default()
                },
            )
            .await?;
        let entries = answer.media_info_set.iter().map(library_entry).collect();
        Ok(LibraryPage {
            name: name.map(str::to_owned),
            offset,
            total: answer.total_count,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::error::TencentError;
    use crate::tencent::models::{
        ApiError, MediaBasicInfo, MiniProgramReviewInfo, MiniProgramReviewItem,
    };

    #[test]
    fn errors_are_explained_with_ids() {
        let err = TencentError::Api(ApiError {
            code: "FailedOperation.NoPrivileges".into(),
            message: "no".into(),
            request_id: "rid-1".into(),
        });
        let user = user_error("publishing to WeChat", &err);
        assert!(user.message.contains("identity verification"));
        assert_eq!(user.request_id.as_deref(), Some("rid-1"));
        assert!(!user.retryable);
        let busy = user_error(
            "publishing to WeChat",
            &TencentError::Api(ApiError {
                code: "RequestLimitExceeded".into(),
                ..ApiError::default()
            }),
        );
        assert!(busy.retryable);
    }

    #[test]
    fn publish_state_from_service_data() {
        let mut info = MediaInfo {
            file_id: "1".into(),
            basic_info: Some(MediaBasicInfo {
                status: "Normal".into(),
                media_url: "http://m".into(),
                ..MediaBasicInfo::default()
            }),
            ..MediaInfo::default()
        };
        assert_eq!(derive_publish_state(&info), PublishState::NotPublished);
        info.mini_program_review_info = Some(MiniProgramReviewInfo {
            mini_program_review_list: vec![MiniProgramReviewItem {
                definition: 0,
                url: "http://w/1".into(),
                review_result: "Pass".into(),
            }],
        });
        assert_eq!(
            derive_publish_state(&info),
            PublishState::Published {
                url: "http://w/1".into(),
                definition: 0
            }
        );
        if let Some(basic) = info.basic_info.as_mut() {
            basic.status = "Forbidden".into();
        }
        assert_eq!(
            derive_publish_state(&info),
            PublishState::Suspended {
                url: "http://w/1".into()
            }
        );
    }
}
