//! The media actions: `DescribeMediaInfos` and `SearchMedia` with what they return,
//! `ForbidMediaDistribution`, `DeleteMedia` and `ModifyMediaInfo`.

use serde::{Deserialize, Serialize};

use super::{Action, first_empty};

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
