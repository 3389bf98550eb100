//! Typed models of the VOD API 3.0 actions this product uses (version 2018-07-17) and the
//! response envelope. Field names are the service's (PascalCase); every response field has a
//! default, `null` reads as absent (the service documents many fields as "may return null"),
//! unknown fields are ignored, and each action names the fields its flow cannot do without
//! ([`Action::missing_field`]), so that an answer without one is an error that says which.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::lenient;

/// An error the service reported inside a 200 response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message} (RequestId {request_id})")]
pub struct ApiError {
    /// e.g. `AuthFailure.SignatureFailure`.
    pub code: String,
    /// The service's text.
    pub message: String,
    /// The request id for support.
    pub request_id: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: serde_json::Value,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

/// Why a response body could not be turned into a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The service reported an error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The body is not the API 3.0 envelope or not the expected response.
    #[error("the VOD API answered with a body this client cannot read: {0}")]
    Malformed(String),
    /// The answer lacks (or has `null` for) a field the flow needs.
    #[error("the VOD API answered without {field}{}", if .request_id.is_empty() { String::new() } else { format!(" (RequestId {})", .request_id) })]
    Missing {
        /// The field, as the service names it (`StorageBucket`, `TempCertificate.Token`).
        field: &'static str,
        /// The request id for support.
        request_id: String,
    },
}

/// Reads `{"Response": {...}}`: an `Error` inside becomes [`EnvelopeError::Api`]. `null`
/// anywhere reads as an absent field.
///
/// # Errors
/// When the service reported an error, or the body is not the expected shape.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<T, EnvelopeError> {
    parse_with_request_id(body).map(|(response, _)| response)
}

/// [`parse_response`], also returning the answer's RequestId (empty when it had none).
fn parse_with_request_id<T: DeserializeOwned>(body: &[u8]) -> Result<(T, String), EnvelopeError> {
    let mut envelope: Envelope =
        serde_json::from_slice(body).map_err(|err| EnvelopeError::Malformed(err.to_string()))?;
    lenient::strip_nulls(&mut envelope.response);
    if !envelope.response.is_object() {
        return Err(EnvelopeError::Malformed(
            "the answer's Response is not an object".to_owned(),
        ));
    }
    let request_id = envelope
        .response
        .get("RequestId")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(error) = envelope.response.get("Error") {
        let error: ErrorBody = serde_json::from_value(error.clone())
            .map_err(|err| EnvelopeError::Malformed(format!("{err} (RequestId {request_id})")))?;
        return Err(EnvelopeError::Api(ApiError {
            code: error.code,
            message: error.message,
            request_id,
        }));
    }
    let response = serde_json::from_value(envelope.response).map_err(|err| {
        EnvelopeError::Malformed(if request_id.is_empty() {
            err.to_string()
        } else {
            format!("{err} (RequestId {request_id})")
        })
    })?;
    Ok((response, request_id))
}

/// Reads the answer to `request`: [`parse_response`], then the check that the fields the flow
/// needs are there ([`Action::missing_field`]).
///
/// # Errors
/// As [`parse_response`], and [`EnvelopeError::Missing`] naming the first missing field.
pub fn read_answer<A: Action>(request: &A, body: &[u8]) -> Result<A::Response, EnvelopeError> {
    let (response, request_id) = parse_with_request_id::<A::Response>(body)?;
    match request.missing_field(&response) {
        Some(field) => Err(EnvelopeError::Missing { field, request_id }),
        None => Ok(response),
    }
}

/// Wraps a response object in the envelope, as the service (and the emulator) writes it.
#[must_use]
pub fn envelope(mut response: serde_json::Value, request_id: &str) -> serde_json::Value {
    if let Some(object) = response.as_object_mut() {
        object.insert("RequestId".to_owned(), request_id.into());
    }
    serde_json::json!({ "Response": response })
}

/// The error envelope.
#[must_use]
pub fn error_envelope(code: &str, message: &str, request_id: &str) -> serde_json::Value {
    serde_json::json!({ "Response": {
        "Error": { "Code": code, "Message": message },
        "RequestId": request_id,
    }})
}

/// A request of one action: its name and body type.
pub trait Action: Serialize {
    /// The `X-TC-Action` value.
    const NAME: &'static str;
    /// The response type.
    type Response: DeserializeOwned;

    /// The first field of `response` that the flow needs and the service left out (absent,
    /// `null` or empty), by its name in the answer; `None` when everything needed is there.
    fn missing_field(&self, response: &Self::Response) -> Option<&'static str> {
        let _ = response;
        None
    }
}

/// The first of `fields` (name, value) whose value is empty.
fn first_empty<'a>(
    fields: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
}

macro_rules! action {
    ($request:ident => $response:ident, $name:literal) => {
        impl Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;
        }
    };
    ($request:ident => $response:ident, $name:literal, |$this:ident, $answer:ident| $check:expr) => {
        impl Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;

            fn missing_field(&self, $answer: &Self::Response) -> Option<&'static str> {
                let $this = self;
                $check
            }
        }
    };
}

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

/// `DescribeMediaInfos`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeMediaInfosRequest {
    /// At most 20.
    pub file_ids: Vec<String>,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Which parts to return; absent means all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<String>>,
}

/// `MediaBasicInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaBasicInfo {
    /// Media name.
    pub name: String,
    /// Description.
    pub description: String,
    /// ISO 8601.
    pub create_time: String,
    /// ISO 8601.
    pub update_time: String,
    /// ISO 8601; `9999-12-31T23:59:59Z` is never.
    pub expire_time: String,
    /// Category id.
    pub class_id: i64,
    /// Category name.
    pub class_name: String,
    /// Cover URL.
    pub cover_url: String,
    /// Container, e.g. `mp4`.
    #[serde(rename = "Type")]
    pub media_type: String,
    /// URL of the original.
    pub media_url: String,
    /// Storage region.
    pub storage_region: String,
    /// `Video`, `Audio` or `Image`.
    pub category: String,
    /// `Normal`, `Forbidden` or `SystemForbidden`; other values are possible.
    pub status: String,
    /// `STANDARD` and colder classes.
    pub storage_class: String,
    /// Where it came from.
    pub source_info: Option<MediaSourceData>,
}

/// `MediaSourceData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaSourceData {
    /// e.g. `Upload`.
    pub source_type: String,
    /// What the uploader passed.
    pub source_context: String,
}

/// `MediaMetaData` (the fields used here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaMetaData {
    /// Bytes.
    pub size: i64,
    /// Container.
    pub container: String,
    /// Bits per second.
    pub bitrate: i64,
    /// Pixels.
    pub height: i64,
    /// Pixels.
    pub width: i64,
    /// Seconds.
    pub duration: f64,
}

/// `MediaTranscodeItem`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaTranscodeItem {
    /// Playback URL.
    pub url: String,
    /// Template id; 0 is the original.
    pub definition: i64,
    /// Bits per second (video + audio).
    pub bitrate: i64,
    /// Pixels.
    pub height: i64,
    /// Pixels.
    pub width: i64,
    /// Bytes.
    pub size: i64,
    /// Seconds.
    pub duration: f64,
    /// e.g. `mp4`, `hls`, `m4a`.
    pub container: String,
    /// Often empty.
    pub md5: String,
}

/// `MediaTranscodeInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaTranscodeInfo {
    /// The outputs.
    pub transcode_set: Vec<MediaTranscodeItem>,
}

/// One review of a WeChat Mini Program publication.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MiniProgramReviewItem {
    /// 0 is the original.
    pub definition: i64,
    /// Review playback URL.
    pub url: String,
    /// `Pass` or `Rejected`; compare case-insensitively.
    pub review_result: String,
}

/// `MediaMiniProgramReviewInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MiniProgramReviewInfo {
    /// One entry per published definition.
    pub mini_program_review_list: Vec<MiniProgramReviewItem>,
}

/// `MediaInfo` (the parts used here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MediaInfo {
    /// The media.
    pub file_id: String,
    /// Name, status, URLs.
    pub basic_info: Option<MediaBasicInfo>,
    /// Size, duration, dimensions.
    pub meta_data: Option<MediaMetaData>,
    /// Outputs.
    pub transcode_info: Option<MediaTranscodeInfo>,
    /// WeChat Mini Program reviews.
    pub mini_program_review_info: Option<MiniProgramReviewInfo>,
}

/// `DescribeMediaInfos` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeMediaInfosResponse {
    /// The media found.
    pub media_info_set: Vec<MediaInfo>,
    /// The ids that do not exist (any more).
    pub not_exist_file_id_set: Vec<String>,
    /// Request id.
    pub request_id: String,
}
action!(
    DescribeMediaInfosRequest => DescribeMediaInfosResponse,
    "DescribeMediaInfos",
    |_request, answer| {
        // Media without its id cannot be matched to what was asked for.
        first_empty(
            answer
                .media_info_set
                .iter()
                .map(|info| ("MediaInfoSet[].FileId", info.file_id.as_str())),
        )
    }
);

/// `SortBy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SortBy {
    /// `CreateTime`.
    pub field: String,
    /// `Asc` or `Desc`.
    pub order: String,
}

/// `SearchMedia` (the filters used here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchMediaRequest {
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Fuzzy names (≤ 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// `Video`, `Audio`, `Image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// `Normal`, `Forbidden`, `SystemForbidden`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<String>>,
    /// Which parts to return.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<String>>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortBy>,
    /// Page start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Page size (Offset + Limit ≤ 5000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `SearchMedia` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SearchMediaResponse {
    /// Capped at 5000.
    pub total_count: u64,
    /// This page.
    pub media_info_set: Vec<MediaInfo>,
    /// Request id.
    pub request_id: String,
}
action!(SearchMediaRequest => SearchMediaResponse, "SearchMedia", |_request, answer| {
    first_empty(
        answer
            .media_info_set
            .iter()
            .map(|info| ("MediaInfoSet[].FileId", info.file_id.as_str())),
    )
});

/// `ForbidMediaDistribution`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForbidMediaDistributionRequest {
    /// At most 20.
    pub file_ids: Vec<String>,
    /// `forbid` or `recover`.
    pub operation: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

/// `ForbidMediaDistribution` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ForbidMediaDistributionResponse {
    /// Ids that do not exist.
    pub not_exist_file_id_set: Vec<String>,
    /// Request id.
    pub request_id: String,
}
action!(ForbidMediaDistributionRequest => ForbidMediaDistributionResponse, "ForbidMediaDistribution");

/// `MediaDeleteItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaDeleteItem {
    /// e.g. `OriginalFiles`, `TranscodeFiles`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// 0 is all of that type.
    pub definition: i64,
}

/// `DeleteMedia`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMediaRequest {
    /// The media.
    pub file_id: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Empty means the media and everything derived from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_parts: Option<Vec<MediaDeleteItem>>,
}

/// `DeleteMedia` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteMediaResponse {
    /// Request id.
    pub request_id: String,
}
action!(DeleteMediaRequest => DeleteMediaResponse, "DeleteMedia");

/// `ModifyMediaInfo`, for the fields VodDesk changes after an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyMediaInfoRequest {
    /// The media.
    pub file_id: String,
    /// Sub-application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// When the media expires (ISO 8601); the service deletes it then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
}

/// `ModifyMediaInfo` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyMediaInfoResponse {
    /// Request id.
    pub request_id: String,
}
action!(ModifyMediaInfoRequest => ModifyMediaInfoResponse, "ModifyMediaInfo");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_apply_upload_response() {
        let body = br#"{"Response":{"CoverStoragePath":"/dir/cover.xx","RequestId":"880f3005-a8c9-4bba-8c87-74e216a17a0b","StorageBucket":"xadacq111211-100922","StorageRegion":"ap-chongqing","MediaStoragePath":"/dir/name.xx","VodSessionKey":"VodSessionKey","TempCertificate":{"SecretId":"xxxxxxx","SecretKey":"xxxxxxxx","Token":"xxxxxxxx","ExpiredTime":182823331}}}"#;
        let parsed: ApplyUploadResponse = parse_response(body).unwrap();
        assert_eq!(parsed.storage_bucket, "xadacq111211-100922");
        assert_eq!(parsed.temp_certificate.unwrap().expired_time, 182_823_331);
    }

    #[test]
    fn error_envelope_becomes_api_error() {
        let body = br#"{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."}, "RequestId": "ed93f3cb"}}"#;
        let err = parse_response::<CommitUploadResponse>(body).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::Api(ApiError {
                code: "AuthFailure.SignatureFailure".into(),
                message: "The provided credentials could not be validated.".into(),
                request_id: "ed93f3cb".into(),
            })
        );
        assert!(matches!(
            parse_response::<CommitUploadResponse>(b"<html>"),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn documented_task_detail_and_media_infos() {
        let body = br#"{"Response":{"TaskType":"WechatMiniProgramPublish","Status":"FINISH","CreateTime":"2019-06-23T13:04:42Z","BeginProcessTime":"2019-06-23T13:04:42Z","FinishTime":"2019-06-23T13:04:53Z","ProcedureTask":null,"WechatMiniProgramPublishTask":{"TaskId":"1253339xxx-wechat-mini-program-publish-e576t0","Status":"FINISH","ErrCode":0,"Message":"","FileId":"5285890789444337543","SourceDefinition":0,"PublishResult":"Pass"},"PullUploadTask":null,"RequestId":"04db7d25"}}"#;
        let task: DescribeTaskDetailResponse = parse_response(body).unwrap();
        assert_eq!(
            task.wechat_mini_program_publish_task
                .unwrap()
                .publish_result,
            "Pass"
        );
        let body = br#"{"Response":{"RequestId":"6ca31e3a","NotExistFileIdSet":["5285485487985271488"],"MediaInfoSet":[{"FileId":"5285485487985271487","BasicInfo":{"Name":"test file","Type":"mp4","MediaUrl":"http://example.com/xx/xx/f0.mp4","Status":"Normal","StorageRegion":"gzp","Category":"Video","StorageClass":"STANDARD","ExpireTime":"2017-03-23T07:25:52Z"},"TranscodeInfo":{"TranscodeSet":[{"Url":"http://example.com/xx/xx/f0.mp4","Definition":0,"Bitrate":563477,"Height":378,"Width":672,"Container":"m4a","Duration":3601,"Size":10502,"Md5":"b3ae","DigitalWatermarkType":"None","VideoStreamSet":[],"AudioStreamSet":[]}]},"MiniProgramReviewInfo":{"MiniProgramReviewList":[{"Url":"u","Definition":0,"ReviewResult":"Pass","ReviewSummary":[{"Confidence":0,"Type":"Porn","Suggestion":"pass"}],"MetaData":{}}]},"MetaData":null,"AdaptiveDynamicStreamingInfo":null,"ReviewInfo":null}]}}"#;
        let infos: DescribeMediaInfosResponse = parse_response(body).unwrap();
        let info = &infos.media_info_set[0];
        assert_eq!(info.basic_info.as_ref().unwrap().media_type, "mp4");
        assert_eq!(
            info.transcode_info.as_ref().unwrap().transcode_set[0].bitrate,
            563_477
        );
        assert!(info.meta_data.is_none());
        assert_eq!(infos.not_exist_file_id_set, ["5285485487985271488"]);
    }

    #[test]
    fn requests_serialise_without_absent_fields() {
        let body = serde_json::to_string(&ApplyUploadRequest {
            media_type: "mp4".into(),
            media_name: Some("demo".into()),
            ..ApplyUploadRequest::default()
        })
        .unwrap();
        assert_eq!(body, r#"{"MediaType":"mp4","MediaName":"demo"}"#);
    }
}
