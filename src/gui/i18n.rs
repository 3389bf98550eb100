//! The UI's words in English and 简体中文.
//!
//! One struct of `&'static str` per language instead of a lookup by key: a missing translation
//! is a compile error, and a lookup costs nothing in the UI pass. Texts that carry numbers are
//! formatted by the caller with these words as the pieces.

use serde::{Deserialize, Serialize};

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The language of a BCP 47 locale such as `zh-CN` or `en_US.UTF-8`: Chinese for any `zh`,
    /// English otherwise.
    #[must_use]
    pub fn from_locale(locale: &str) -> Self {
        if locale.trim().to_ascii_lowercase().starts_with("zh") {
            Self::Zh
        } else {
            Self::En
        }
    }

    /// The system's language (`sys-locale`), English when it cannot be read.
    #[must_use]
    pub fn system() -> Self {
        sys_locale::get_locale().map_or(Self::En, |locale| Self::from_locale(&locale))
    }

    /// The words of this language.
    #[must_use]
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::Zh => &ZH,
        }
    }

    /// The language's own name, for the language picker.
    #[must_use]
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Zh => "简体中文",
        }
    }
}

/// Every word the UI shows.
#[allow(missing_docs)] // Each field is its own English text; see `EN`.
#[derive(Debug, Serialize)]
pub struct Texts {
    pub app_name: &'static str,
    pub add_files: &'static str,
    pub add_folder: &'static str,
    pub start_all: &'static str,
    pub pause_all: &'static str,
    pub settings: &'static str,
    pub open_log_folder: &'static str,
    pub filter_all: &'static str,
    pub filter_active: &'static str,
    pub filter_done: &'static str,
    pub filter_failed: &'static str,
    pub col_name: &'static str,
    pub col_size: &'static str,
    pub col_type: &'static str,
    pub col_state: &'static str,
    pub col_progress: &'static str,
    pub col_speed: &'static str,
    pub col_eta: &'static str,
    pub col_actions: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub cancel: &'static str,
    pub retry: &'static str,
    pub remove: &'static str,
    pub kind_video: &'static str,
    pub kind_audio: &'static str,
    pub kind_image: &'static str,
    pub kind_other: &'static str,
    pub upload_to: &'static str,
    pub dest_vod: &'static str,
    pub dest_wecom: &'static str,
    pub dest_wecom_hint: &'static str,
    pub wecom_goes_app: &'static str,
    pub wecom_goes_emulator: &'static str,
    pub kind_wecom_image: &'static str,
    pub kind_wecom_voice: &'static str,
    pub kind_wecom_video: &'static str,
    pub kind_wecom_file: &'static str,
    pub media_id: &'static str,
    pub expires: &'static str,
    pub expired: &'static str,
    pub upload_again: &'static str,
    pub save_copy: &'static str,
    pub copy_saved: &'static str,
    pub copy_failed: &'static str,
    pub wecom_unavailable: &'static str,
    pub state_queued: &'static str,
    pub state_applying: &'static str,
    pub state_uploading: &'static str,
    pub state_committing: &'static str,
    pub state_done: &'static str,
    pub state_paused: &'static str,
    pub state_failed: &'static str,
    pub state_cancelled: &'static str,
    pub stalled_offline: &'static str,
    pub stalled_retrying: &'static str,
    pub stalled_credentials: &'static str,
    pub stalled_rate_limited: &'static str,
    pub empty_queue: &'static str,
    pub empty_queue_wecom: &'static str,
    pub empty_filter: &'static str,
    pub drop_here: &'static str,
    pub details: &'static str,
    pub no_selection: &'static str,
    pub cover: &'static str,
    pub no_cover: &'static str,
    pub cover_undecodable: &'static str,
    pub options: &'static str,
    pub options_locked: &'static str,
    pub media_name: &'static str,
    pub procedure: &'static str,
    pub class_id: &'static str,
    pub expire_time: &'static str,
    pub source_context: &'static str,
    pub storage_region: &'static str,
    pub sub_app_id: &'static str,
    pub apply_options: &'static str,
    pub file_id: &'static str,
    pub media_url: &'static str,
    pub cover_url: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub error: &'static str,
    pub error_code: &'static str,
    pub request_id: &'static str,
    pub last_notice: &'static str,
    pub wechat_section: &'static str,
    pub publish_not_published: &'static str,
    pub publish_under_review: &'static str,
    pub publish_published: &'static str,
    pub publish_rejected: &'static str,
    pub publish_suspended: &'static str,
    pub publish_deleted: &'static str,
    pub items: &'static str,
    pub active: &'static str,
    pub done: &'static str,
    pub failed: &'static str,
    pub overall_speed: &'static str,
    pub remaining: &'static str,
    pub demo_banner: &'static str,
    pub demo_banner_wecom_app: &'static str,
    pub demo_add_credentials: &'static str,
    pub no_cjk_font: &'static str,
    pub skipped_title: &'static str,
    pub added_summary: &'static str,
    pub dismiss: &'static str,
    pub show_list: &'static str,
    pub skip_unsupported: &'static str,
    pub skip_unreadable: &'static str,
    pub skip_lonely_cover: &'static str,
    pub skip_empty: &'static str,
    pub rejected_by_engine: &'static str,
    pub scanning: &'static str,
    pub engine_busy: &'static str,
    pub engine_gone: &'static str,
    // Settings
    pub settings_title: &'static str,
    pub api_key: &'static str,
    pub secret_id: &'static str,
    pub secret_key: &'static str,
    pub key_saved_as: &'static str,
    pub key_none: &'static str,
    pub key_unreadable: &'static str,
    pub key_from_env: &'static str,
    pub key_keep_hint: &'static str,
    pub wecom_app: &'static str,
    pub wecom_corp_id: &'static str,
    pub wecom_secret: &'static str,
    pub wecom_secret_hint: &'static str,
    pub forget_key: &'static str,
    pub key_forgotten: &'static str,
    pub wecom_secret_none: &'static str,
    pub wecom_secret_unreadable: &'static str,
    pub wecom_secret_saved_as: &'static str,
    pub wecom_secret_from_env: &'static str,
    pub forget_wecom_secret: &'static str,
    pub wecom_secret_forgotten: &'static str,
    pub region: &'static str,
    pub endpoints: &'static str,
    pub vod_endpoint: &'static str,
    pub cos_endpoint: &'static str,
    pub ugc_endpoint: &'static str,
    pub wecom_endpoint: &'static str,
    pub signature_url: &'static str,
    pub defaults: &'static str,
    pub default_flow: &'static str,
    pub flow_client: &'static str,
    pub flow_server: &'static str,
    pub default_expire: &'static str,
    pub transfer: &'static str,
    pub parallel_files: &'static str,
    pub parallel_parts: &'static str,
    pub part_size: &'static str,
    pub bandwidth_limit: &'static str,
    pub language: &'static str,
    pub automatic_hint: &'static str,
    pub automatic_up_to: &'static str,
    pub on_the_way: &'static str,
    pub unlimited_hint: &'static str,
    pub test_connection: &'static str,
    pub testing: &'static str,
    pub save: &'static str,
    pub close: &'static str,
    pub saved: &'static str,
    pub fix_errors: &'static str,
    pub env_overrides: &'static str,
    pub restart_needed: &'static str,
    // The signature service's token (issue 27).
    pub signature_token: &'static str,
    pub signature_token_hint: &'static str,
    pub filter_queued: &'static str,
    pub filter_paused: &'static str,
    pub filter_cancelled: &'static str,
    pub queued: &'static str,
    pub paused: &'static str,
    pub cancelled: &'static str,
    pub list_separator: &'static str,
    pub state_refused: &'static str,
    pub undo: &'static str,
    pub removed_note: &'static str,
    pub cancelled_note: &'static str,
    pub queue_not_open: &'static str,
    pub queue_opened: &'static str,
    pub starting: &'static str,
    pub problem_title: &'static str,
    pub holder_app: &'static str,
    pub holder_upload: &'static str,
    pub holder_cli: &'static str,
    pub holder_unknown: &'static str,
    pub process: &'static str,
    pub busy_what: &'static str,
    pub busy_todo: &'static str,
    pub db_what: &'static str,
    pub db_todo: &'static str,
    pub datadir_what: &'static str,
    pub datadir_todo: &'static str,
    pub emulator_what: &'static str,
    pub emulator_todo: &'static str,
    pub other_what: &'static str,
    pub other_todo: &'static str,
    pub retrying: &'static str,
    pub try_now: &'static str,
    pub open_data_folder: &'static str,
    pub filter_media: &'static str,
    pub paste_paths: &'static str,
    pub paste_title: &'static str,
    pub paste_hint: &'static str,
    pub paste_add: &'static str,
    pub paste_nothing: &'static str,
    pub dialog_fell_back: &'static str,
    pub browser_up: &'static str,
    pub browser_home: &'static str,
    pub browser_location: &'static str,
    pub browser_go: &'static str,
    pub browser_hidden: &'static str,
    pub browser_loading: &'static str,
    pub browser_empty: &'static str,
    pub browser_failed: &'static str,
    pub browser_add_selected: &'static str,
    pub browser_add_folder: &'static str,
    pub browser_add_folders: &'static str,
    pub browser_save: &'static str,
    pub browser_file_name: &'static str,
    pub browser_selected: &'static str,
    pub browser_open: &'static str,
    pub browser_folder: &'static str,
    pub browser_replaces: &'static str,
    pub browser_hint_files: &'static str,
    pub browser_hint_folders: &'static str,
    pub save_qr_title: &'static str,
    pub qr_saved_to: &'static str,
    pub qr_save_failed: &'static str,
    pub browser_opened: &'static str,
    pub browser_not_opened: &'static str,
    pub copy_url: &'static str,
    pub test_demo: &'static str,
    pub test_queue_not_open: &'static str,
    pub test_ok: &'static str,
    pub key_in_keyring: &'static str,
    pub key_in_file: &'static str,
    pub refused_hint: &'static str,
    pub error_prefix: &'static str,
    pub whole_number: &'static str,
    pub example_expiry: &'static str,
    pub sort_by: &'static str,
    pub parts_default_hint: &'static str,
    pub files_default_hint: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    app_name: "VodDesk",
    add_files: "Add files…",
    add_folder: "Add folder…",
    start_all: "Start all",
    pause_all: "Pause all",
    settings: "Settings",
    open_log_folder: "Open log folder",
    filter_all: "All",
    filter_active: "Uploading",
    filter_done: "Done",
    filter_failed: "Failed",
    col_name: "Name",
    col_size: "Size",
    col_type: "Type",
    col_state: "State",
    col_progress: "Progress",
    col_speed: "Speed",
    col_eta: "Time left",
    col_actions: "Actions",
    pause: "Pause",
    resume: "Resume",
    cancel: "Cancel",
    retry: "Retry",
    remove: "Remove",
    kind_video: "Video",
    kind_audio: "Audio",
    kind_image: "Image",
    kind_other: "Other",
    upload_to: "Upload to",
    dest_vod: "Cloud VOD",
    dest_wecom: "WeChat Work",
    dest_wecom_hint: "Files added now go to WeChat Work as temporary media (kept 3 days): images, AMR voice up to 2 MB, MP4 video up to 10 MB, any other file up to 20 MB.",
    wecom_goes_app: "They go to your WeChat Work application:",
    wecom_goes_emulator: "Demo mode: they go to the built-in emulator's WeChat Work on this computer, not to a real WeChat Work application. Enter your CorpID and secret in Settings to send them there.",
    kind_wecom_image: "WeCom image",
    kind_wecom_voice: "WeCom voice",
    kind_wecom_video: "WeCom video",
    kind_wecom_file: "WeCom file",
    media_id: "media_id",
    expires: "Expires",
    expired: "Expired",
    upload_again: "Upload again",
    save_copy: "Save a copy…",
    copy_saved: "Saved a copy:",
    copy_failed: "Could not save a copy:",
    wecom_unavailable: "WeChat Work is not set up: enter its CorpID and secret in Settings (or set WECOM_CORP_ID and WECOM_CORP_SECRET), then restart.",
    state_queued: "Queued",
    state_applying: "Starting",
    state_uploading: "Uploading",
    state_committing: "Finishing",
    state_done: "Done",
    state_paused: "Paused",
    state_failed: "Failed",
    state_cancelled: "Cancelled",
    stalled_offline: "offline",
    stalled_retrying: "retrying",
    stalled_credentials: "renewing credentials",
    stalled_rate_limited: "rate-limited",
    empty_queue: "The queue is empty. Drop video or audio files or folders here, or use Add files… (Ctrl+O), Add folder… or Paste paths….",
    empty_queue_wecom: "The queue is empty. Drop any files or folders here to send them to WeChat Work, or use Add files… (Ctrl+O), Add folder… or Paste paths….",
    empty_filter: "Nothing here.",
    drop_here: "Drop files or folders to upload",
    details: "Details",
    no_selection: "Select an item to see its details.",
    cover: "Cover",
    no_cover: "No cover",
    cover_undecodable: "Preview not available for this format",
    options: "Options",
    options_locked: "Options can only be changed before the upload starts.",
    media_name: "Media name",
    procedure: "Task flow",
    class_id: "Class id",
    expire_time: "Expiry (RFC 3339)",
    source_context: "Source context",
    storage_region: "Storage region",
    sub_app_id: "Sub-application id",
    apply_options: "Apply options",
    file_id: "FileId",
    media_url: "Media URL",
    cover_url: "Cover URL",
    copy: "Copy",
    copied: "Copied",
    error: "Error",
    error_code: "Code",
    request_id: "RequestId",
    last_notice: "Note",
    wechat_section: "WeChat publishing",
    publish_not_published: "Not published",
    publish_under_review: "Under review",
    publish_published: "Published",
    publish_rejected: "Rejected",
    publish_suspended: "Suspended",
    publish_deleted: "Deleted",
    items: "items",
    active: "uploading",
    done: "done",
    failed: "failed",
    overall_speed: "Speed",
    remaining: "left",
    demo_banner: "Demo mode: no API key is set, so uploads go to the built-in emulator on this computer.",
    demo_banner_wecom_app: "Demo mode: no API key is set, so VOD uploads go to the built-in emulator on this computer. WeChat Work files go to your WeChat Work application.",
    demo_add_credentials: "Add API key…",
    no_cjk_font: "No Chinese font was found, so Chinese text shows as boxes. Install Noto Sans CJK (Debian/Ubuntu: fonts-noto-cjk).",
    skipped_title: "Some files were not added",
    added_summary: "Added",
    dismiss: "Dismiss",
    show_list: "Show files",
    skip_unsupported: "type not supported",
    skip_unreadable: "cannot be read",
    skip_lonely_cover: "image without a video or audio file of the same name",
    skip_empty: "empty file",
    rejected_by_engine: "refused by the uploader",
    scanning: "Looking through the dropped files…",
    engine_busy: "The uploader is busy; try again in a moment.",
    engine_gone: "The uploader stopped. Restart VodDesk; the queue is kept.",
    settings_title: "Settings",
    api_key: "API key",
    secret_id: "SecretId",
    secret_key: "SecretKey",
    key_saved_as: "Saved key",
    key_none: "No key saved (demo mode).",
    key_unreadable: "A saved key could not be read, so the app runs without it: save the key again, or forget it",
    key_from_env: "The key comes from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY and overrides any saved one.",
    key_keep_hint: "leave empty to keep the saved key",
    wecom_app: "WeChat Work application",
    wecom_corp_id: "CorpID",
    wecom_secret: "Secret",
    wecom_secret_hint: "leave empty to keep the saved secret",
    forget_key: "Forget saved key",
    key_forgotten: "The saved key was removed.",
    wecom_secret_none: "No secret saved.",
    wecom_secret_unreadable: "A saved secret could not be read, so the app runs without it: save the secret again, or forget it",
    wecom_secret_saved_as: "Saved secret",
    wecom_secret_from_env: "The secret comes from WECOM_CORP_SECRET and overrides any saved one.",
    forget_wecom_secret: "Forget saved secret",
    wecom_secret_forgotten: "The saved secret was removed.",
    region: "Region",
    endpoints: "Endpoints",
    vod_endpoint: "VOD API endpoint",
    cos_endpoint: "COS endpoint",
    ugc_endpoint: "Client-upload endpoint",
    wecom_endpoint: "WeCom endpoint",
    signature_url: "Signature service URL",
    defaults: "Defaults for new items",
    default_flow: "Upload flow",
    flow_client: "Client upload (resumable for a day)",
    flow_server: "Server API",
    default_expire: "Expiry (RFC 3339)",
    transfer: "Transfer",
    parallel_files: "Files at once",
    parallel_parts: "Parts in flight, at most",
    part_size: "Part size (MiB)",
    bandwidth_limit: "Bandwidth limit (KiB/s)",
    language: "Language",
    automatic_hint: "automatic",
    automatic_up_to: "automatic, up to",
    on_the_way: "on the way, not yet acknowledged",
    unlimited_hint: "unlimited",
    test_connection: "Test connection",
    testing: "Testing…",
    save: "Save",
    close: "Close",
    saved: "Settings saved.",
    fix_errors: "Fix the fields marked in red, then save.",
    env_overrides: "Overridden by environment variables",
    restart_needed: "Restart VodDesk to use the new key, WeChat Work application and endpoints.",
    signature_token: "Signature service token",
    signature_token_hint: "from your admin; leave empty to keep the saved token",
    filter_queued: "Queued",
    filter_paused: "Paused",
    filter_cancelled: "Cancelled",
    queued: "queued",
    paused: "paused",
    cancelled: "cancelled",
    list_separator: ", ",
    state_refused: "Refused",
    undo: "Undo",
    removed_note: "Removed:",
    cancelled_note: "Cancels in a few seconds:",
    queue_not_open: "The upload queue is not open yet, so nothing was added. See the message in the window.",
    queue_opened: "The upload queue is open.",
    starting: "Opening the upload queue…",
    problem_title: "The upload queue is not open",
    holder_app: "Another VodDesk window",
    holder_upload: "A `voddesk upload` command (in a terminal or a script)",
    holder_cli: "A `voddesk` command",
    holder_unknown: "Another VodDesk (the app or a command line)",
    process: "process",
    busy_what: "is working on the upload queue in",
    busy_todo: "Let it finish, or stop it (Ctrl+C in its terminal, or close the other window). This window opens the queue by itself as soon as it is free.",
    db_what: "The queue database cannot be opened:",
    db_todo: "Close any other program that has it open. If it is damaged, move the file aside (for example rename it to queue.sqlite3.broken): VodDesk then starts with an empty queue, and the files it held must be added again. The file:",
    datadir_what: "The data folder cannot be written:",
    datadir_todo: "Give your user write access to this folder, or start VodDesk with VODDESK_DATA_DIR set to a folder you can write. The folder:",
    emulator_what: "The built-in emulator for demo mode could not start:",
    emulator_todo: "Another program may hold its port; close it, or add an API key in Settings to upload to Tencent Cloud instead.",
    other_what: "The upload queue could not open:",
    other_todo: "The log folder has the details.",
    retrying: "Trying again every 3 seconds; nothing is uploaded until the queue opens. Attempts:",
    try_now: "Try again now",
    open_data_folder: "Open data folder",
    filter_media: "Video, audio",
    paste_paths: "Paste paths…",
    paste_title: "Paste paths",
    paste_hint: "Paste or type the paths of files or folders, one per line.",
    paste_add: "Add these",
    paste_nothing: "No paths were given.",
    dialog_fell_back: "The system file dialog did not open, so VodDesk's own file browser is used.",
    browser_up: "Up",
    browser_home: "Home",
    browser_location: "Location",
    browser_go: "Go",
    browser_hidden: "Show hidden",
    browser_loading: "Reading the folder…",
    browser_empty: "This folder is empty.",
    browser_failed: "This folder cannot be read:",
    browser_add_selected: "Add selected",
    browser_add_folder: "Add this folder",
    browser_add_folders: "Add selected folders",
    browser_save: "Save here",
    browser_file_name: "File name",
    browser_selected: "selected",
    browser_open: "Open",
    browser_folder: "folder",
    browser_replaces: "A file of this name is there and will be replaced.",
    browser_hint_files: "Click files to pick them; double-click a folder to open it.",
    browser_hint_folders: "Click folders to pick them, or add the folder shown; double-click to open one.",
    save_qr_title: "Save QR code",
    qr_saved_to: "QR code saved to",
    qr_save_failed: "Could not save the QR code",
    browser_opened: "Handed to the web browser.",
    browser_not_opened: "No web browser opened the URL; copy it and open it yourself",
    copy_url: "Copy URL",
    test_demo: "Demo mode: there is no API key to test. The built-in emulator on this computer answers instead of Tencent Cloud, at",
    test_queue_not_open: "The upload queue is not open, so the connection cannot be tested now.",
    test_ok: "Connected: the key works. Media files in the account:",
    key_in_keyring: "the system keyring",
    key_in_file: "a file only you can read (0600)",
    refused_hint: "Refused before upload:",
    error_prefix: "The service said:",
    whole_number: "a whole number",
    example_expiry: "e.g. 2030-01-01T00:00:00+08:00",
    sort_by: "Sort by",
    parts_default_hint: "default 16",
    files_default_hint: "default 2",
};

/// 简体中文.
pub static ZH: Texts = Texts {
    app_name: "VodDesk",
    add_files: "添加文件…",
    add_folder: "添加文件夹…",
    start_all: "全部开始",
    pause_all: "全部暂停",
    settings: "设置",
    open_log_folder: "打开日志文件夹",
    filter_all: "全部",
    filter_active: "上传中",
    filter_done: "已完成",
    filter_failed: "失败",
    col_name: "名称",
    col_size: "大小",
    col_type: "类型",
    col_state: "状态",
    col_progress: "进度",
    col_speed: "速度",
    col_eta: "剩余时间",
    col_actions: "操作",
    pause: "暂停",
    resume: "继续",
    cancel: "取消",
    retry: "重试",
    remove: "移除",
    kind_video: "视频",
    kind_audio: "音频",
    kind_image: "图片",
    kind_other: "其他",
    upload_to: "上传到",
    dest_vod: "云点播",
    dest_wecom: "企业微信",
    dest_wecom_hint: "此后添加的文件作为临时素材上传到企业微信（保留 3 天）：图片、不超过 2 MB 的 AMR 语音、不超过 10 MB 的 MP4 视频、不超过 20 MB 的其他文件。",
    wecom_goes_app: "上传到你的企业微信应用：",
    wecom_goes_emulator: "演示模式：文件上传到本机内置模拟服务的企业微信，而不是真实的企业微信应用。在设置中填写企业 ID 和应用 Secret 后即可上传到你的应用。",
    kind_wecom_image: "企业微信图片",
    kind_wecom_voice: "企业微信语音",
    kind_wecom_video: "企业微信视频",
    kind_wecom_file: "企业微信文件",
    media_id: "media_id（素材 ID）",
    expires: "过期时间",
    expired: "已过期",
    upload_again: "重新上传",
    save_copy: "另存一份…",
    copy_saved: "已保存副本：",
    copy_failed: "无法保存副本：",
    wecom_unavailable: "未配置企业微信：请在设置中填写企业 ID 和应用 Secret（或设置 WECOM_CORP_ID 和 WECOM_CORP_SECRET），然后重启。",
    state_queued: "排队中",
    state_applying: "准备中",
    state_uploading: "上传中",
    state_committing: "正在完成",
    state_done: "已完成",
    state_paused: "已暂停",
    state_failed: "失败",
    state_cancelled: "已取消",
    stalled_offline: "网络断开",
    stalled_retrying: "正在重试",
    stalled_credentials: "正在更新凭证",
    stalled_rate_limited: "请求受限",
    empty_queue: "队列为空。把视频、音频文件或文件夹拖到这里，或点击“添加文件…”（Ctrl+O）、“添加文件夹…”或“粘贴路径…”。",
    empty_queue_wecom: "队列为空。把任意文件或文件夹拖到这里即可上传到企业微信，或点击“添加文件…”（Ctrl+O）、“添加文件夹…”或“粘贴路径…”。",
    empty_filter: "这里没有内容。",
    drop_here: "松开鼠标即可添加文件或文件夹",
    details: "详情",
    no_selection: "选择一项以查看详情。",
    cover: "封面",
    no_cover: "无封面",
    cover_undecodable: "此格式无法预览",
    options: "选项",
    options_locked: "上传开始后不能再修改选项。",
    media_name: "媒体名称",
    procedure: "任务流",
    class_id: "分类 ID",
    expire_time: "过期时间（RFC 3339）",
    source_context: "来源上下文",
    storage_region: "存储地域",
    sub_app_id: "子应用 ID",
    apply_options: "应用选项",
    file_id: "FileId",
    media_url: "媒体地址",
    cover_url: "封面地址",
    copy: "复制",
    copied: "已复制",
    error: "错误",
    error_code: "错误码",
    request_id: "RequestId",
    last_notice: "提示",
    wechat_section: "微信发布",
    publish_not_published: "未发布",
    publish_under_review: "审核中",
    publish_published: "已发布",
    publish_rejected: "未通过",
    publish_suspended: "已暂停分发",
    publish_deleted: "已删除",
    items: "项",
    active: "上传中",
    done: "已完成",
    failed: "失败",
    overall_speed: "速度",
    remaining: "剩余",
    demo_banner: "演示模式：未设置 API 密钥，文件上传到本机内置的模拟服务。",
    demo_banner_wecom_app: "演示模式：未设置 API 密钥，云点播文件上传到本机内置的模拟服务；企业微信文件上传到你的企业微信应用。",
    demo_add_credentials: "添加 API 密钥…",
    no_cjk_font: "未找到中文字体，中文会显示为方框。请安装 Noto Sans CJK（Debian/Ubuntu：fonts-noto-cjk）。",
    skipped_title: "部分文件未添加",
    added_summary: "已添加",
    dismiss: "关闭",
    show_list: "查看文件",
    skip_unsupported: "不支持的类型",
    skip_unreadable: "无法读取",
    skip_lonely_cover: "没有同名视频或音频的图片",
    skip_empty: "空文件",
    rejected_by_engine: "被上传程序拒绝",
    scanning: "正在检查拖入的文件…",
    engine_busy: "上传程序繁忙，请稍后再试。",
    engine_gone: "上传程序已停止。请重启 VodDesk，队列会保留。",
    settings_title: "设置",
    api_key: "API 密钥",
    secret_id: "SecretId",
    secret_key: "SecretKey",
    key_saved_as: "已保存的密钥",
    key_none: "未保存密钥（演示模式）。",
    key_unreadable: "无法读取已保存的密钥，应用暂不使用它：请重新保存密钥，或将其清除",
    key_from_env: "密钥来自 TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY 环境变量，优先于已保存的密钥（如有）。",
    key_keep_hint: "留空则保留已保存的密钥",
    wecom_app: "企业微信应用",
    wecom_corp_id: "企业 ID（CorpID）",
    wecom_secret: "应用 Secret",
    wecom_secret_hint: "留空则保留已保存的 Secret",
    forget_key: "删除已保存的密钥",
    key_forgotten: "已删除保存的密钥。",
    wecom_secret_none: "未保存 Secret。",
    wecom_secret_unreadable: "无法读取已保存的 Secret，应用暂不使用它：请重新保存 Secret，或将其清除",
    wecom_secret_saved_as: "已保存的 Secret",
    wecom_secret_from_env: "Secret 来自 WECOM_CORP_SECRET 环境变量，优先于已保存的 Secret（如有）。",
    forget_wecom_secret: "删除已保存的 Secret",
    wecom_secret_forgotten: "已删除保存的 Secret。",
    region: "地域",
    endpoints: "服务地址",
    vod_endpoint: "云点播 API 地址",
    cos_endpoint: "COS 地址",
    ugc_endpoint: "客户端上传地址",
    wecom_endpoint: "企业微信地址",
    signature_url: "签名服务地址",
    defaults: "新文件的默认值",
    default_flow: "上传方式",
    flow_client: "客户端上传（一天内可续传）",
    flow_server: "服务端 API",
    default_expire: "过期时间（RFC 3339）",
    transfer: "传输",
    parallel_files: "同时上传文件数",
    parallel_parts: "同时传输的分片数上限",
    part_size: "分片大小（MiB）",
    bandwidth_limit: "带宽上限（KiB/s）",
    language: "语言",
    automatic_hint: "自动",
    automatic_up_to: "自动，最多",
    on_the_way: "正在传输，服务器尚未确认",
    unlimited_hint: "不限",
    test_connection: "测试连接",
    testing: "正在测试…",
    save: "保存",
    close: "关闭",
    saved: "设置已保存。",
    fix_errors: "请修正标红的字段后再保存。",
    env_overrides: "以下设置被环境变量覆盖",
    restart_needed: "重启 VodDesk 后新的密钥、企业微信应用和服务地址才会生效。",
    signature_token: "签名服务令牌",
    signature_token_hint: "由管理员提供；留空则保留已保存的令牌",
    filter_queued: "排队中",
    filter_paused: "已暂停",
    filter_cancelled: "已取消",
    queued: "排队",
    paused: "暂停",
    cancelled: "已取消",
    list_separator: "，",
    state_refused: "已拒绝",
    undo: "撤销",
    removed_note: "已移除：",
    cancelled_note: "几秒后取消：",
    queue_not_open: "上传队列尚未打开，因此没有添加任何文件。请查看窗口中的说明。",
    queue_opened: "上传队列已打开。",
    starting: "正在打开上传队列…",
    problem_title: "上传队列未打开",
    holder_app: "另一个 VodDesk 窗口",
    holder_upload: "一个 `voddesk upload` 命令（在终端或脚本中）",
    holder_cli: "一个 `voddesk` 命令",
    holder_unknown: "另一个 VodDesk（应用或命令行）",
    process: "进程",
    busy_what: "正在使用上传队列，位置：",
    busy_todo: "请等它完成，或将其停止（在其终端按 Ctrl+C，或关闭另一个窗口）。队列一空出来，本窗口会自动打开它。",
    db_what: "无法打开队列数据库：",
    db_todo: "请关闭正在使用它的其他程序。如果文件已损坏，请将其移走（例如改名为 queue.sqlite3.broken）：VodDesk 会以空队列启动，其中的文件需要重新添加。文件位置：",
    datadir_what: "无法写入数据文件夹：",
    datadir_todo: "请为当前用户授予该文件夹的写入权限，或设置 VODDESK_DATA_DIR 为可写的文件夹后再启动 VodDesk。文件夹：",
    emulator_what: "演示模式的内置模拟服务无法启动：",
    emulator_todo: "可能有其他程序占用了它的端口；请关闭该程序，或在设置中添加 API 密钥以改为上传到腾讯云。",
    other_what: "上传队列无法打开：",
    other_todo: "详细信息见日志文件夹。",
    retrying: "每 3 秒重试一次；队列打开前不会上传任何文件。已尝试次数：",
    try_now: "立即重试",
    open_data_folder: "打开数据文件夹",
    filter_media: "视频、音频",
    paste_paths: "粘贴路径…",
    paste_title: "粘贴路径",
    paste_hint: "粘贴或输入文件或文件夹的路径，每行一个。",
    paste_add: "添加这些",
    paste_nothing: "没有输入路径。",
    dialog_fell_back: "系统文件对话框无法打开，已改用 VodDesk 自带的文件浏览器。",
    browser_up: "上一级",
    browser_home: "主文件夹",
    browser_location: "位置",
    browser_go: "前往",
    browser_hidden: "显示隐藏文件",
    browser_loading: "正在读取文件夹…",
    browser_empty: "此文件夹为空。",
    browser_failed: "无法读取此文件夹：",
    browser_add_selected: "添加所选",
    browser_add_folder: "添加此文件夹",
    browser_add_folders: "添加所选文件夹",
    browser_save: "保存到这里",
    browser_file_name: "文件名",
    browser_selected: "已选",
    browser_open: "打开",
    browser_folder: "文件夹",
    browser_replaces: "已有同名文件，将被替换。",
    browser_hint_files: "单击文件以选择；双击文件夹以打开。",
    browser_hint_folders: "单击文件夹以选择，或添加当前文件夹；双击以打开。",
    save_qr_title: "保存二维码",
    qr_saved_to: "二维码已保存到",
    qr_save_failed: "无法保存二维码",
    browser_opened: "已交给网页浏览器打开。",
    browser_not_opened: "没有浏览器打开该链接，请复制后自行打开",
    copy_url: "复制链接",
    test_demo: "演示模式：没有可测试的 API 密钥。代替腾讯云应答的是本机内置的模拟服务，地址：",
    test_queue_not_open: "上传队列未打开，暂时无法测试连接。",
    test_ok: "连接成功：密钥有效。账号中的媒体文件数：",
    key_in_keyring: "系统密钥环",
    key_in_file: "仅你可读的文件（0600）",
    refused_hint: "上传前被拒绝：",
    error_prefix: "服务返回：",
    whole_number: "须为整数",
    example_expiry: "例如 2030-01-01T00:00:00+08:00",
    sort_by: "排序",
    parts_default_hint: "默认 16",
    files_default_hint: "默认 2",
};

/// Refusal rules the engine states in English, and their Chinese: matched on the words of
/// the rule, so that the file name around them does not matter.
const REFUSALS_ZH: &[(&str, &str)] = &[
    (
        "WeCom accepts only files larger than 5 bytes",
        "企业微信只接受大于 5 字节的文件",
    ),
    (
        "WeCom images must be JPG or PNG",
        "企业微信图片必须是 JPG 或 PNG",
    ),
    (
        "WeCom images must be at most 2 MB",
        "企业微信图片不能超过 2 MB",
    ),
    ("WeCom voice must be AMR", "企业微信语音必须是 AMR 格式"),
    (
        "WeCom voice must be at most 2 MB (and 60 s)",
        "企业微信语音不能超过 2 MB（且不超过 60 秒）",
    ),
    ("WeCom video must be MP4", "企业微信视频必须是 MP4"),
    (
        "WeCom video must be at most 10 MB",
        "企业微信视频不能超过 10 MB",
    ),
    (
        "WeCom files must be at most 20 MB",
        "企业微信文件不能超过 20 MB",
    ),
    (
        "WeChat Work needs its application's CorpID and secret",
        "企业微信需要应用的企业 ID 和 Secret（在应用设置中填写，或设置 WECOM_CORP_ID 和 WECOM_CORP_SECRET）",
    ),
    ("is empty (0 bytes)", "是空文件（0 字节），服务不接受空文件"),
    ("is a folder, not a file", "是文件夹，不是文件"),
    ("is not a regular file", "不是普通文件"),
    ("cannot be read", "无法读取，请确认它存在"),
    ("cannot be opened for reading", "无法打开读取，请检查权限"),
    ("is not a supported", "不是支持的文件类型"),
    ("the media name", "媒体名称不符合规则"),
    ("source context", "来源上下文超过 250 个字符"),
    ("it could not be saved in the queue", "无法保存到队列中"),
];

/// A refusal's rule in `lang`: the English rule as the engine gave it, or its Chinese. An
/// unknown rule in the Chinese UI keeps the English words after a Chinese lead-in.
#[must_use]
pub fn refusal_text(reason: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return reason.to_owned();
    }
    match REFUSALS_ZH.iter().find(|(en, _)| reason.contains(en)) {
        Some((_, zh)) => (*zh).to_owned(),
        None => format!("{}{reason}", ZH.error_prefix),
    }
}

/// An engine or service error in `lang`, with the service's code and RequestId beside it
/// (they are what support asks for, so they stay as they are).
#[must_use]
pub fn error_text(err: &crate::engine::api::UserError, lang: Lang) -> String {
    let t = lang.texts();
    let code = err.code.as_deref();
    let words = error_words(err, lang);
    let mut beside = Vec::new();
    if let Some(code) = code.filter(|c| *c != crate::gui::view_model::REFUSED_CODE) {
        beside.push(format!("{} {code}", t.error_code));
    }
    if let Some(request_id) = &err.request_id {
        beside.push(format!("{} {request_id}", t.request_id));
    }
    if beside.is_empty() || words.contains(beside[0].as_str()) {
        words
    } else {
        format!("{words} ({})", beside.join(t.list_separator))
    }
}

/// An engine or service error's words in `lang`, without its code and RequestId: for where
/// those are shown apart, each with its Copy button.
#[must_use]
pub fn error_words(err: &crate::engine::api::UserError, lang: Lang) -> String {
    let code = err.code.as_deref();
    match (lang, code) {
        (_, Some(crate::gui::view_model::REFUSED_CODE)) => refusal_text(&err.message, lang),
        (Lang::En, _) => err.message.clone(),
        (Lang::Zh, Some(code)) => match crate::engine::publish::explain_code(code)
            .map(|text| text.zh.to_owned())
            .or_else(|| code.parse::<i64>().ok().map(wecom_errcode_zh))
        {
            Some(text) => text,
            None => zh_by_kind(&err.message),
        },
        (Lang::Zh, None) => zh_by_kind(&err.message),
    }
}

/// WeChat Work's documented errcodes in Chinese.
fn wecom_errcode_zh(errcode: i64) -> String {
    match errcode {
        -1 => "企业微信繁忙，请稍后重试",
        40001 => "企业微信应用 Secret 错误",
        40004 => "该类型不接受此媒体文件格式",
        40006 => "文件大小不被接受",
        40007 => "media_id 无效或已过期（素材保留 3 天）",
        40009 => "图片过大",
        40011 => "视频过大",
        40013 => "企业 ID（CorpID）错误",
        40014 | 42001 => "access_token 无效或已过期",
        44001 => "媒体文件为空",
        45001 => "媒体文件超过服务允许的大小",
        45009 => "调用过于频繁，已达到接口频率限制",
        48002 => "此应用无权调用该接口",
        60020 => "本机 IP 不在应用的可信 IP 列表中",
        _ => "企业微信返回错误",
    }
    .to_owned()
}

/// An error of no known code in Chinese, by the kind its English words tell; the English
/// stays beside it in brackets, for support.
fn zh_by_kind(message: &str) -> String {
    const KINDS: &[(&str, &str)] = &[
        ("Could not reach", "无法连接服务，请检查网络后重试。"),
        ("No answer from", "服务在 20 秒内没有应答。"),
        (
            "Could not read the file",
            "无法读取文件，请确认它仍然存在且可读，然后重试。",
        ),
        (
            "The bytes stored on the server do not match",
            "服务器上保存的数据与文件不一致，请重试以重新上传。",
        ),
        (
            "There is no API key to test",
            "没有可测试的 API 密钥：请先输入 SecretId 和 SecretKey。",
        ),
        ("The copy could not be saved", "无法保存副本。"),
        ("answered with an error", "服务返回了错误。"),
        ("answered HTTP", "服务返回了 HTTP 错误，请稍后重试。"),
    ];
    match KINDS.iter().find(|(en, _)| message.contains(en)) {
        Some((_, zh)) => format!("{zh}（{message}）"),
        None => format!("{}{message}", ZH.error_prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids whose text is the same in both languages on purpose: names, codes and units.
    const SAME_IN_BOTH: &[&str] = &[
        "app_name",
        "secret_id",
        "secret_key",
        "file_id",
        "request_id",
    ];

    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_string_id_is_translated() {
        let en = serde_json::to_value(&EN).unwrap();
        let zh = serde_json::to_value(&ZH).unwrap();
        let (en, zh) = (en.as_object().unwrap(), zh.as_object().unwrap());
        assert_eq!(en.len(), zh.len());
        let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let mut problems = Vec::new();
        for (id, english) in en {
            let english = english.as_str().unwrap();
            let Some(chinese) = zh.get(id).and_then(|v| v.as_str()) else {
                problems.push(format!("{id}: no Chinese"));
                continue;
            };
            if english.trim().is_empty() || chinese.trim().is_empty() {
                problems.push(format!("{id}: empty"));
            }
            if SAME_IN_BOTH.contains(&id.as_str()) {
                continue;
            }
            if english == chinese && id != "list_separator" {
                problems.push(format!("{id}: the same in both languages: {english}"));
            }
            if !cjk(chinese) && id != "list_separator" {
                problems.push(format!("{id}: the Chinese has no Chinese: {chinese}"));
            }
        }
        for (id, words) in [(
            "publish",
            serde_json::to_value(crate::gui::ui::publish::words(Lang::En)).unwrap(),
        )] {
            let zh = serde_json::to_value(crate::gui::ui::publish::words(Lang::Zh)).unwrap();
            for (key, english) in words.as_object().unwrap() {
                let chinese = zh[key].as_str().unwrap();
                if key != "request_id" && (english.as_str() == Some(chinese) || !cjk(chinese)) {
                    problems.push(format!("{id}.{key}: untranslated: {chinese}"));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_wechat_work_refusal_is_said_in_chinese() {
        let reason = "/v/big.bin: WeCom files must be at most 20 MB";
        assert_eq!(refusal_text(reason, Lang::En), reason);
        assert_eq!(refusal_text(reason, Lang::Zh), "企业微信文件不能超过 20 MB");
        let err = crate::engine::api::UserError {
            message: "VOD answered with an error".into(),
            code: Some("FailedOperation.InvalidVodUser".into()),
            request_id: Some("req-1".into()),
            retryable: false,
        };
        let zh = error_text(&err, Lang::Zh);
        assert!(
            zh.contains("FailedOperation.InvalidVodUser") && zh.contains("req-1"),
            "{zh}"
        );
    }

    #[test]
    fn locale_picks_chinese_for_any_zh() {
        assert_eq!(Lang::from_locale("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh_TW.UTF-8"), Lang::Zh);
        assert_eq!(Lang::from_locale("en-US"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
    }
}
