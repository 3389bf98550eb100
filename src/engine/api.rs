//! The engine's public contract: commands in, events out.
//!
//! The desktop app and the CLI both drive the engine through these types only. Commands go in
//! over a bounded channel (`try_send` from the UI thread); events come out in order, progress
//! coalesced to about ten a second per item, state transitions always delivered.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

// The plain data of the queue lives below the store, which keeps it; the contract carries it.
pub use crate::model::{
    Destination, ItemId, ItemOptions, ItemState, PublishState, UploadFlow, UserError,
    WeComMediaType,
};

/// A file to add to the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItem {
    /// The file.
    pub path: PathBuf,
    /// Where it goes.
    pub destination: Destination,
    /// Its options.
    pub options: ItemOptions,
}

/// Why an item that should be moving is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StallReason {
    /// No network answer.
    Offline,
    /// A transient error; the next attempt is scheduled.
    Retrying {
        /// Attempt number, from 1.
        attempt: u32,
        /// What failed.
        reason: String,
    },
    /// Renewing the temporary certificate or fetching a signature.
    WaitingForCredentials,
    /// The service asked to slow down.
    RateLimited,
}

/// Upload progress of one item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Bytes the server acknowledged (finished parts and objects); never goes backwards
    /// within one session, and a pause, crash or retry never takes it back.
    pub bytes_done: u64,
    /// Bytes handed to connections whose parts are not acknowledged yet (on the wire, or in
    /// buffers on the way): shown apart, since a pause or crash may throw them away.
    #[serde(default)]
    pub in_flight: u64,
    /// Bytes in all (media plus cover).
    pub bytes_total: u64,
    /// The acknowledged rate, bytes per second, smoothed over a few seconds; 0 until about
    /// two seconds of data exist after a start or resume.
    pub speed: f64,
    /// Estimated time left.
    pub eta: Option<Duration>,
    /// Why it is not moving, when it is not.
    pub stalled: Option<StallReason>,
}

/// One file of the account's media library (uploaded by anyone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// The media.
    pub file_id: String,
    /// Its name.
    pub name: String,
    /// `Normal`, `Forbidden`, `SystemForbidden`, …
    pub status: String,
    /// ISO 8601.
    pub create_time: String,
    /// `Video`, `Audio`, `Image`.
    pub category: String,
    /// URL of the original.
    pub media_url: String,
    /// Cover URL.
    pub cover_url: String,
    /// Publication state as the service's data shows it.
    pub publish: PublishState,
}

/// A page of the library, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LibraryPage {
    /// The name filter asked for.
    pub name: Option<String>,
    /// Where this page starts.
    pub offset: u64,
    /// All matches (the service caps it at 5000).
    pub total: u64,
    /// This page.
    pub entries: Vec<LibraryEntry>,
}

/// What to do to a library file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibraryAction {
    /// Publish to WeChat; `None` picks the definition.
    Publish(Option<i64>),
    /// Forbid distribution.
    Suspend,
    /// Recover distribution.
    Restore,
    /// Delete for good.
    Delete,
    /// Re-read from the service.
    Refresh,
}

/// Everything the UI shows of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSnapshot {
    /// Its id.
    pub id: ItemId,
    /// The file.
    pub path: PathBuf,
    /// File size in bytes at queueing.
    pub size: u64,
    /// Where it goes.
    pub destination: Destination,
    /// Its options (cover resolved).
    pub options: ItemOptions,
    /// Upload state.
    pub state: ItemState,
    /// Upload progress.
    pub progress: Progress,
    /// Publication state.
    pub publish: PublishState,
    /// When it was queued, Unix seconds.
    pub created_at: i64,
}

/// The most bodies in flight that the app's settings and `upload --concurrency` take (each is
/// a connection and a COS request).
pub const MAX_PARALLEL_PARTS: usize = 32;
/// The most files the automatic setting runs at once.
pub const MAX_AUTO_FILES: usize = 64;

/// Settings the engine applies while running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineTuning {
    /// Files uploaded at once; 0 is automatic: as many as it takes to fill the in-flight
    /// budget (dozens of small clips, one or two big files), up to [`MAX_AUTO_FILES`].
    pub parallel_files: usize,
    /// The most bodies (parts, small files, covers) in flight for the whole queue. What is in
    /// flight follows the measured link ([`crate::engine::budget`]); this is its cap.
    pub parallel_parts: usize,
    /// Bytes per second for the whole app; `None` is unlimited.
    pub bandwidth_limit: Option<u64>,
}

impl Default for EngineTuning {
    fn default() -> Self {
        Self {
            parallel_files: 0,
            parallel_parts: MAX_PARALLEL_PARTS,
            bandwidth_limit: None,
        }
    }
}

/// What the UI or CLI asks of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Validate and queue files; refusals come back as [`Event::Rejected`].
    Add(Vec<NewItem>),
    /// Pause one item (stops within a second, keeps finished parts).
    Pause(ItemId),
    /// Resume a paused item.
    Resume(ItemId),
    /// Cancel one item and abort its multipart upload on the server.
    Cancel(ItemId),
    /// Start a failed or cancelled item again.
    Retry(ItemId),
    /// Forget an item that is not running (cancel it first if it is).
    Remove(ItemId),
    /// Pause every active item.
    PauseAll,
    /// Resume every paused item.
    ResumeAll,
    /// Change the options of an item that has not started.
    UpdateOptions(ItemId, ItemOptions),
    /// Change concurrency and bandwidth.
    Tune(EngineTuning),
    /// Publish a finished video to WeChat; `None` picks the definition.
    Publish {
        /// The item.
        id: ItemId,
        /// Transcode template; `None` picks the best MP4.
        definition: Option<i64>,
    },
    /// Forbid distribution (`true`) or recover it (`false`).
    Suspend {
        /// The item.
        id: ItemId,
        /// Forbid or recover.
        suspend: bool,
    },
    /// Delete the media from VOD for good.
    DeleteMedia(ItemId),
    /// Re-read an item's state from the service.
    Refresh(ItemId),
    /// List the account's media (newest first); answered by [`Event::Library`].
    SearchLibrary {
        /// Fuzzy name filter.
        name: Option<String>,
        /// Page start.
        offset: u64,
        /// Page size (at most 100).
        limit: u64,
    },
    /// Act on a library file, which need not be in the queue; answered by
    /// [`Event::LibraryUpdated`] (and [`Event::PublishChanged`] for a queue item of that file).
    Library {
        /// The media.
        file_id: String,
        /// What to do.
        action: LibraryAction,
    },
    /// Makes one harmless signed call (`SearchMedia`, one result) with `probe`'s key and
    /// endpoint, so that the settings can say whether a key works before it is saved;
    /// answered by [`Event::ConnectionTested`].
    TestConnection(ConnectionProbe),
    /// Fetches WeChat Work media back (`media/get`) into `target` (a file, or a folder to put
    /// it in under the server's name); answered by [`Event::CopySaved`].
    SaveWeComCopy {
        /// The media.
        media_id: String,
        /// Where to.
        target: PathBuf,
    },
    /// Stop all work (pausing running items) and end the worker.
    Shutdown,
}

/// What [`Command::TestConnection`] tries.
#[derive(Clone, PartialEq)]
pub struct ConnectionProbe {
    /// The key; `None` tests the engine's own.
    pub credentials: Option<crate::tencent::Credentials>,
    /// The VOD API endpoint; `None` is the engine's own.
    pub endpoint: Option<String>,
    /// The region.
    pub region: String,
    /// The sub-application, when one is set.
    pub sub_app_id: Option<u64>,
}

impl std::fmt::Debug for ConnectionProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key's own `Debug` redacts the secret; this keeps the whole probe short.
        f.debug_struct("ConnectionProbe")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// What a working connection answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The endpoint that answered.
    pub endpoint: String,
    /// Media files in the account.
    pub total: u64,
    /// The service's RequestId.
    pub request_id: String,
}

/// What the engine tells the UI or CLI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The whole queue as loaded at start.
    Loaded(Vec<ItemSnapshot>),
    /// A new item was queued.
    Added(Box<ItemSnapshot>),
    /// A file was not queued; `reason` names the rule.
    Rejected {
        /// The file.
        path: PathBuf,
        /// Why, in plain words.
        reason: String,
    },
    /// An item's state changed.
    StateChanged {
        /// The item.
        id: ItemId,
        /// Its new state.
        state: ItemState,
    },
    /// An item's progress (coalesced, ~10 Hz).
    Progress {
        /// The item.
        id: ItemId,
        /// Its progress.
        progress: Progress,
    },
    /// An item's publication state changed.
    PublishChanged {
        /// The item.
        id: ItemId,
        /// Its new publication state.
        publish: PublishState,
    },
    /// Something worth telling the user about an item (a restart, a renewal).
    Notice {
        /// The item.
        id: ItemId,
        /// In plain words.
        message: String,
    },
    /// An item was removed from the queue.
    Removed(ItemId),
    /// A page of the account's media library.
    Library(LibraryPage),
    /// One library file changed (after an action or a finished review).
    LibraryUpdated(Box<LibraryEntry>),
    /// A library request failed.
    LibraryError(UserError),
    /// The answer to [`Command::TestConnection`].
    ConnectionTested(Result<ConnectionReport, UserError>),
    /// The answer to [`Command::SaveWeComCopy`]: where the copy is, or why not.
    CopySaved {
        /// The media.
        media_id: String,
        /// The saved file, or why not.
        result: Result<PathBuf, UserError>,
    },
    /// No item is active any more.
    Idle,
}
