//! The UI's words in English and 简体中文.
//!
//! One struct of `&'static str` per language instead of a lookup by key: a missing translation
//! is a compile error, and a lookup costs nothing in the UI pass. Texts that carry numbers are
//! formatted by the caller with these words as the pieces.
//!
//! The struct of ids is here; each language's words are a file of their own (`en.rs`, `zh.rs`),
//! the publishing and library words a struct of their own (`publish.rs`), and the translation
//! of engine refusals and service errors is in `errors.rs`.

use serde::Serialize;

mod en;
mod errors;
mod publish;
mod zh;

pub use en::EN;
pub use errors::{error_text, error_words, refusal_text};
pub(crate) use publish::{PublishWords, publish_words};
pub use zh::ZH;

// The language is a saved setting; its words are here.
pub use crate::settings::Lang;

/// The code a refused file's row carries: it was never queued, so it has no engine item, and
/// its message is the rule it broke, said in the user's language by [`refusal_text`].
pub const REFUSED_CODE: &str = "VodDesk.Refused";

impl Lang {
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
            serde_json::to_value(publish_words(Lang::En)).unwrap(),
        )] {
            let zh = serde_json::to_value(publish_words(Lang::Zh)).unwrap();
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
