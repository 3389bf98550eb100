//! The WeChat Mini Program publication and `DescribeTaskDetail`, which reports on it and on pull
//! uploads.

use serde::{Deserialize, Serialize};

use super::{Action, first_empty};

/// `WeChatMiniProgramPublish`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeChatMiniProgramPublishRequest {
    /// The media.
    pub file_id: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Transcode template id; 0 is the original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_definition: Option<i64>,
}

/// `WeChatMiniProgramPublish` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WeChatMiniProgramPublishResponse {
    /// The review task.
    pub task_id: String,
    /// Request id.
    pub request_id: String,
}
action!(
    WeChatMiniProgramPublishRequest => WeChatMiniProgramPublishResponse,
    "WeChatMiniProgramPublish",
    |_request, answer| first_empty([("TaskId", answer.task_id.as_str())])
);

/// `DescribeTaskDetail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTaskDetailRequest {
    /// The task.
    pub task_id: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// The WeChat Mini Program publish task inside a task detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WechatMiniProgramPublishTask {
    /// The task.
    pub task_id: String,
    /// `WAITING`, `PROCESSING` or `FINISH`.
    pub status: String,
    /// 0 on success.
    pub err_code: i64,
    /// The error text.
    pub message: String,
    /// The media.
    pub file_id: String,
    /// 0 is the original.
    pub source_definition: u64,
    /// `Pass`, `Failed` or `Rejected`.
    pub publish_result: String,
}

/// The pull-upload task inside a task detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PullUploadTask {
    /// The task.
    pub task_id: String,
    /// `PROCESSING` or `FINISH`.
    pub status: String,
    /// 0 on success.
    pub err_code: i64,
    /// The error text.
    pub message: String,
    /// The new media.
    pub file_id: String,
    /// Its URL.
    pub file_url: String,
    /// 0–100.
    pub progress: i64,
}

/// `DescribeTaskDetail` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeTaskDetailResponse {
    /// e.g. `WechatMiniProgramPublish`, `PullUpload`; unknown values are opaque.
    pub task_type: String,
    /// `WAITING`, `PROCESSING`, `FINISH` or `ABORTED`.
    pub status: String,
    /// ISO 8601.
    pub create_time: String,
    /// ISO 8601.
    pub begin_process_time: String,
    /// ISO 8601.
    pub finish_time: String,
    /// Set for publish tasks.
    pub wechat_mini_program_publish_task: Option<WechatMiniProgramPublishTask>,
    /// Set for pull-upload tasks.
    pub pull_upload_task: Option<PullUploadTask>,
    /// Request id.
    pub request_id: String,
}
action!(
    DescribeTaskDetailRequest => DescribeTaskDetailResponse,
    "DescribeTaskDetail",
    |_request, answer| {
        first_empty([("Status", answer.status.as_str())]).or_else(|| {
            // A finished publication says how it ended; without that, nothing can be shown.
            answer
                .wechat_mini_program_publish_task
                .as_ref()
                .filter(|task| {
                    task.status.eq_ignore_ascii_case("FINISH")
                        || answer.status.eq_ignore_ascii_case("FINISH")
                })
                .filter(|task| task.err_code == 0 && task.publish_result.trim().is_empty())
                .map(|_| "WechatMiniProgramPublishTask.PublishResult")
        })
    }
);
