//! The upload actions: `ApplyUpload` (with its temporary COS certificate), `CommitUpload` and
//! `PullUpload`.

use serde::{Deserialize, Serialize};

use super::{Action, first_empty};

/// `ApplyUpload`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyUploadRequest {
    /// File extension, e.g. `mp4`.
    pub media_type: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Media name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_name: Option<String>,
    /// Cover extension, e.g. `jpg`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_type: Option<String>,
    /// Task flow to run after upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// ISO 8601 expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Storage region, e.g. `ap-chongqing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_region: Option<String>,
    /// Category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<i64>,
    /// ≤ 250 characters, echoed in the upload callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_context: Option<String>,
    /// ≤ 1000 characters, echoed in task-flow callbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<String>,
}

/// A temporary certificate for COS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TempCertificate {
    /// Temporary SecretId.
    pub secret_id: String,
    /// Temporary SecretKey.
    pub secret_key: String,
    /// Session token (`x-cos-security-token`).
    pub token: String,
    /// Unix seconds.
    pub expired_time: u64,
}

/// `ApplyUpload` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApplyUploadResponse {
    /// Full bucket name `<name>-<appid>`.
    pub storage_bucket: String,
    /// COS region.
    pub storage_region: String,
    /// Session for CommitUpload.
    pub vod_session_key: String,
    /// COS key of the media, with a leading `/`.
    pub media_storage_path: String,
    /// COS key of the cover, with a leading `/`.
    pub cover_storage_path: String,
    /// Credentials for COS; `null` means use the caller's own.
    pub temp_certificate: Option<TempCertificate>,
    /// Request id.
    pub request_id: String,
}
action!(ApplyUploadRequest => ApplyUploadResponse, "ApplyUpload", |request, answer| {
    let cert = answer.temp_certificate.as_ref();
    first_empty([
        ("StorageBucket", answer.storage_bucket.as_str()),
        ("StorageRegion", answer.storage_region.as_str()),
        ("VodSessionKey", answer.vod_session_key.as_str()),
        ("MediaStoragePath", answer.media_storage_path.as_str()),
    ])
    .or_else(|| {
        // A cover was announced: without its path it could not be uploaded.
        request
            .cover_type
            .as_ref()
            .and_then(|_| first_empty([("CoverStoragePath", answer.cover_storage_path.as_str())]))
    })
    .or_else(|| {
        // No certificate means "sign COS with your own key"; half a certificate is unusable.
        cert.and_then(|cert| {
            first_empty([
                ("TempCertificate.SecretId", cert.secret_id.as_str()),
                ("TempCertificate.SecretKey", cert.secret_key.as_str()),
                ("TempCertificate.Token", cert.token.as_str()),
            ])
            .or_else(|| (cert.expired_time == 0).then_some("TempCertificate.ExpiredTime"))
        })
    })
});

/// `CommitUpload`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommitUploadRequest {
    /// From ApplyUpload.
    pub vod_session_key: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// `CommitUpload` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CommitUploadResponse {
    /// The new media's id.
    pub file_id: String,
    /// Playback URL of the original.
    pub media_url: String,
    /// Cover URL.
    pub cover_url: String,
    /// Request id.
    pub request_id: String,
}
action!(CommitUploadRequest => CommitUploadResponse, "CommitUpload", |_request, answer| {
    first_empty([("FileId", answer.file_id.as_str())])
});

/// `PullUpload`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PullUploadRequest {
    /// The URL the service fetches.
    pub media_url: String,
    /// Extension; derived from the URL when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Media name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_name: Option<String>,
    /// Cover URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_url: Option<String>,
    /// Task flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// ISO 8601 expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<i64>,
    /// Echoed in callbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_context: Option<String>,
    /// De-duplication key (≤ 50 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// `PullUpload` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PullUploadResponse {
    /// Poll with DescribeTaskDetail.
    pub task_id: String,
    /// Request id.
    pub request_id: String,
}
action!(PullUploadRequest => PullUploadResponse, "PullUpload", |_request, answer| {
    first_empty([("TaskId", answer.task_id.as_str())])
});
