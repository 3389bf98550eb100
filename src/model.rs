//! The queue's plain data: an item's id, where it goes, its options, and its upload and
//! publication states.
//!
//! Data only, with no I/O and nothing of the layers above: the store keeps these values in its
//! rows and the engine's contract carries them (it re-exports every one), so neither has to
//! name the other's types, and the WeChat Work client takes its media type from here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A queue item's id (the row id in the queue database).
pub type ItemId = i64;

/// Which upload flow an item uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UploadFlow {
    /// `ApplyUploadUGC` → COS → `CommitUploadUGC` with an upload signature. The default: only
    /// this flow renews temporary certificates for the same session, which a 1-day resume
    /// window needs.
    #[default]
    ClientUpload,
    /// `ApplyUpload` → COS → `CommitUpload` with the API key; an expired certificate restarts
    /// the session.
    ServerApi,
}

/// The kinds of WeCom temporary media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WeComMediaType {
    /// JPG/PNG.
    Image,
    /// AMR, ≤ 2 MB, ≤ 60 s.
    Voice,
    /// MP4, ≤ 10 MB.
    Video,
    /// Anything, ≤ 20 MB.
    File,
}

/// Where an item goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Destination {
    /// Tencent Cloud VOD.
    #[default]
    Vod,
    /// WeChat Work temporary media.
    WeCom(WeComMediaType),
}

/// Per-item options; `None` means "the default from settings".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOptions {
    /// Media name; the file stem when absent.
    pub media_name: Option<String>,
    /// Cover image. When absent, an image of the same stem beside the file is used.
    pub cover: Option<PathBuf>,
    /// Task flow (`Procedure`).
    pub procedure: Option<String>,
    /// Category id.
    pub class_id: Option<i64>,
    /// Expiry, ISO 8601 / RFC 3339.
    pub expire_time: Option<String>,
    /// ≤ 250 characters, echoed in the upload callback.
    pub source_context: Option<String>,
    /// Storage region, e.g. `ap-chongqing`.
    pub storage_region: Option<String>,
    /// VOD sub-application.
    pub sub_app_id: Option<u64>,
    /// Part size in bytes; chosen automatically when absent.
    pub part_size: Option<u64>,
    /// Which flow; the settings' default when absent.
    pub flow: Option<UploadFlow>,
}

/// An error as a person sees it: what happened and what to do, with the service's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    /// One or two sentences in plain words.
    pub message: String,
    /// The service's code, e.g. `FailedOperation.NoPrivileges`.
    pub code: Option<String>,
    /// The service's RequestId, for support.
    pub request_id: Option<String>,
    /// Whether "Retry" may help.
    pub retryable: bool,
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (RequestId {id})")?;
        }
        Ok(())
    }
}

/// An item's upload state; each variant carries its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemState {
    /// Waiting for a free slot.
    Queued,
    /// Asking VOD for a session (ApplyUpload / ApplyUploadUGC).
    Applying,
    /// Sending parts.
    Uploading {
        /// Parts the server acknowledged.
        parts_done: u32,
        /// Parts in all.
        parts_total: u32,
    },
    /// Completing the multipart upload and committing to VOD.
    Committing,
    /// Finished.
    Done {
        /// VOD FileId (or WeCom media_id).
        file_id: String,
        /// Media URL (empty for WeCom).
        media_url: String,
        /// Cover URL, when a cover was uploaded.
        cover_url: Option<String>,
        /// When the media stops existing, Unix seconds: WeCom temporary media lives 3 days.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
    },
    /// Paused by the user; finished parts are kept.
    Paused,
    /// Failed; `Retry` starts it again from its last finished part where possible.
    Failed(UserError),
    /// Cancelled by the user; the server-side upload was aborted.
    Cancelled,
}

impl ItemState {
    /// Whether the item is finished for good (done or cancelled).
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Cancelled)
    }

    /// Whether the worker is (or will be) moving it.
    #[must_use]
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Applying | Self::Uploading { .. } | Self::Committing
        )
    }
}

/// WeChat Mini Program publication of a finished item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PublishState {
    /// Never published.
    #[default]
    NotPublished,
    /// The service is reviewing (can take up to 4 hours).
    UnderReview {
        /// The review task.
        task_id: String,
        /// When it was submitted, Unix seconds.
        since: i64,
        /// The definition published.
        definition: i64,
    },
    /// Published: `url` plays on WeChat.
    Published {
        /// The publishing URL.
        url: String,
        /// The definition published.
        definition: i64,
    },
    /// The review rejected it or it failed.
    Rejected(UserError),
    /// Distribution is forbidden; `url` does not play until restored.
    Suspended {
        /// The publishing URL.
        url: String,
    },
    /// The media was deleted from VOD; its URLs are gone for good.
    Deleted,
}
