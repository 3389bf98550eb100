//! The app's saved settings (`settings.json` in the data directory), the form that edits them,
//! and the environment variables that override them (product spec §2.5, §3.1).
//!
//! The API key is not part of this file: it lives in the OS keyring or a 0600 file, see
//! [`crate::gui::credentials`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::api::{EngineTuning, ItemOptions, UploadFlow};
use crate::gui::i18n::Lang;

/// The settings file's name inside the data directory.
pub const SETTINGS_FILE: &str = "settings.json";

/// Everything the settings dialog saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Region for API calls.
    pub region: String,
    /// VOD sub-application.
    pub sub_app_id: Option<u64>,
    /// VOD API base URL; empty for the public one.
    pub vod_endpoint: String,
    /// COS base URL; empty for the bucket's own.
    pub cos_endpoint: String,
    /// Client-upload API base URL; empty for the public one.
    pub ugc_endpoint: String,
    /// WeCom API base URL; empty for the public one.
    pub wecom_endpoint: String,
    /// The WeChat Work application's CorpID; empty for none (its secret is kept like the API
    /// key).
    pub wecom_corp_id: String,
    /// Signature service; empty for none.
    pub signature_url: String,
    /// Default upload flow.
    pub flow: UploadFlow,
    /// Default task flow.
    pub procedure: String,
    /// Default class id.
    pub class_id: Option<i64>,
    /// Default expiry (RFC 3339); empty for never.
    pub expire_time: String,
    /// Files at once.
    pub parallel_files: usize,
    /// The most bodies in flight for the whole queue.
    pub parallel_parts: usize,
    /// Part size in MiB; `None` picks automatically.
    pub part_size_mib: Option<u64>,
    /// Bandwidth limit in KiB/s; `None` is unlimited.
    pub bandwidth_kib: Option<u64>,
    /// UI language; `None` follows the system.
    pub language: Option<Lang>,
}

impl Default for Settings {
    fn default() -> Self {
        let tuning = EngineTuning::default();
        Self {
            region: crate::tencent::DEFAULT_REGION.to_owned(),
            sub_app_id: None,
            vod_endpoint: String::new(),
            cos_endpoint: String::new(),
            ugc_endpoint: String::new(),
            wecom_endpoint: String::new(),
            wecom_corp_id: String::new(),
            signature_url: String::new(),
            flow: UploadFlow::default(),
            procedure: String::new(),
            class_id: None,
            expire_time: String::new(),
            parallel_files: tuning.parallel_files,
            parallel_parts: tuning.parallel_parts,
            part_size_mib: None,
            bandwidth_kib: None,
            language: None,
        }
    }
}

/// Why settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read or written.
    #[error("cannot access the settings file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid settings JSON.
    #[error("the settings file {path} is damaged ({source}); defaults are used until you save")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
}

impl Settings {
    /// Reads `dir/settings.json`; defaults when the file does not exist.
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let path = dir.join(SETTINGS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(SettingsError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| SettingsError::Parse { path, source })
    }

    /// Writes `dir/settings.json` (through a temporary file, so a crash leaves the old one).
    ///
    /// # Errors
    /// When the directory or file cannot be written.
    pub fn save(&self, dir: &Path) -> Result<(), SettingsError> {
        let path = dir.join(SETTINGS_FILE);
        let io = |source| SettingsError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let text =
            serde_json::to_string_pretty(self).map_err(|err| io(std::io::Error::other(err)))?;
        let tmp = dir.join(format!("{SETTINGS_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// These settings with the environment's overrides applied, and the names of the variables
    /// that did override something.
    #[must_use]
    pub fn with_env(&self, env: impl Fn(&str) -> Option<String>) -> (Self, Vec<&'static str>) {
        let mut out = self.clone();
        let mut used = Vec::new();
        let mut take = |name: &'static str, field: &mut String| {
            if let Some(value) = env(name) {
                *field = value;
                used.push(name);
            }
        };
        take("TENCENTCLOUD_REGION", &mut out.region);
        take("VODDESK_VOD_ENDPOINT", &mut out.vod_endpoint);
        take("VODDESK_COS_ENDPOINT", &mut out.cos_endpoint);
        take("VODDESK_UGC_ENDPOINT", &mut out.ugc_endpoint);
        take("VODDESK_WECOM_ENDPOINT", &mut out.wecom_endpoint);
        take("WECOM_CORP_ID", &mut out.wecom_corp_id);
        take("VODDESK_SIGNATURE_URL", &mut out.signature_url);
        if let Some(id) = env("VODDESK_SUB_APP_ID").and_then(|v| v.parse().ok()) {
            out.sub_app_id = Some(id);
            used.push("VODDESK_SUB_APP_ID");
        }
        (out, used)
    }

    /// The engine tuning these settings ask for.
    #[must_use]
    pub fn tuning(&self) -> EngineTuning {
        EngineTuning {
            parallel_files: self.parallel_files,
            parallel_parts: self.parallel_parts,
            bandwidth_limit: self.bandwidth_kib.map(|kib| kib * 1024),
        }
    }

    /// The options a new item starts with.
    #[must_use]
    pub fn item_defaults(&self) -> ItemOptions {
        let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ItemOptions {
            procedure: non_empty(&self.procedure),
            class_id: self.class_id,
            expire_time: non_empty(&self.expire_time),
            sub_app_id: self.sub_app_id,
            part_size: self.part_size_mib.map(|mib| mib * 1024 * 1024),
            // Each item carries the flow chosen now, so a change in the settings applies to
            // the next files at once (the engine's own default is fixed when it starts).
            flow: Some(self.flow),
            ..ItemOptions::default()
        }
    }

    /// The service configuration: these settings' endpoints and region over the defaults.
    #[must_use]
    pub fn endpoints(&self) -> crate::config::Endpoints {
        let defaults = crate::config::Endpoints::default();
        let or = |value: &str, default: String| {
            let value = value.trim();
            if value.is_empty() {
                default
            } else {
                value.to_owned()
            }
        };
        crate::config::Endpoints {
            vod: or(&self.vod_endpoint, defaults.vod),
            cos: Some(self.cos_endpoint.trim().to_owned()).filter(|s| !s.is_empty()),
            ugc: or(&self.ugc_endpoint, defaults.ugc),
            wecom: or(&self.wecom_endpoint, defaults.wecom),
        }
    }
}

/// A settings field the form can flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Region.
    Region,
    /// Sub-application id.
    SubAppId,
    /// VOD endpoint.
    VodEndpoint,
    /// COS endpoint.
    CosEndpoint,
    /// Client-upload endpoint.
    UgcEndpoint,
    /// WeCom endpoint.
    WecomEndpoint,
    /// Signature service.
    SignatureUrl,
    /// Class id.
    ClassId,
    /// Expiry.
    ExpireTime,
    /// Files at once.
    ParallelFiles,
    /// Parts at once.
    ParallelParts,
    /// Part size.
    PartSize,
    /// Bandwidth limit.
    Bandwidth,
    /// The API key pair.
    ApiKey,
    /// The WeChat Work application (CorpID and secret).
    WeCom,
}

/// The settings dialog's text fields, as typed (numbers are text so a half-typed value is not
/// lost); [`SettingsForm::validate`] turns them into [`Settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // One field per settings field, named alike.
pub struct SettingsForm {
    pub region: String,
    pub sub_app_id: String,
    pub vod_endpoint: String,
    pub cos_endpoint: String,
    pub ugc_endpoint: String,
    pub wecom_endpoint: String,
    pub wecom_corp_id: String,
    /// A new WeChat Work secret; empty keeps the saved one.
    pub wecom_secret: String,
    pub signature_url: String,
    /// A new token for the signature service; empty keeps the saved one.
    pub signature_token: String,
    pub flow: UploadFlow,
    pub procedure: String,
    pub class_id: String,
    pub expire_time: String,
    pub parallel_files: String,
    pub parallel_parts: String,
    pub part_size_mib: String,
    pub bandwidth_kib: String,
    pub language: Lang,
    /// A new SecretId; empty keeps the saved key.
    pub secret_id: String,
    /// A new SecretKey; empty keeps the saved key.
    pub secret_key: String,
}

fn opt_to_string<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl SettingsForm {
    /// A form showing `settings`.
    #[must_use]
    pub fn from_settings(settings: &Settings, lang: Lang) -> Self {
        Self {
            region: settings.region.clone(),
            sub_app_id: opt_to_string(settings.sub_app_id),
            vod_endpoint: settings.vod_endpoint.clone(),
            cos_endpoint: settings.cos_endpoint.clone(),
            ugc_endpoint: settings.ugc_endpoint.clone(),
            wecom_endpoint: settings.wecom_endpoint.clone(),
            wecom_corp_id: settings.wecom_corp_id.clone(),
            wecom_secret: String::new(),
            signature_url: settings.signature_url.clone(),
            signature_token: String::new(),
            flow: settings.flow,
            procedure: settings.procedure.clone(),
            class_id: opt_to_string(settings.class_id),
            expire_time: settings.expire_time.clone(),
            // 0 is automatic: the field stays empty and its hint says so.
            parallel_files: match settings.parallel_files {
                0 => String::new(),
                n => n.to_string(),
            },
            parallel_parts: settings.parallel_parts.to_string(),
            part_size_mib: opt_to_string(settings.part_size_mib),
            bandwidth_kib: opt_to_string(settings.bandwidth_kib),
            language: settings.language.unwrap_or(lang),
            secret_id: String::new(),
            secret_key: String::new(),
        }
    }

    /// The settings this form describes, or every problem with a message.
    ///
    /// # Errors
    /// One entry per field that is not valid, in form order.
    pub fn validate(&self) -> Result<Settings, Vec<(Field, String)>> {
        let mut errors = Vec::new();
        let region = self.region.trim();
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            errors.push((
                Field::Region,
                "a region looks like ap-guangzhou (lower-case letters, digits and dashes)".into(),
            ));
        }
        let sub_app_id =
            optional_number::<u64>(&self.sub_app_id, Field::SubAppId, &mut errors, 1, u64::MAX);
        for (value, field) in [
            (&self.vod_endpoint, Field::VodEndpoint),
            (&self.cos_endpoint, Field::CosEndpoint),
            (&self.ugc_endpoint, Field::UgcEndpoint),
            (&self.wecom_endpoint, Field::WecomEndpoint),
            (&self.signature_url, Field::SignatureUrl),
        ] {
            let value = value.trim();
            if let Some(problem) = Some(value)
                .filter(|v| !v.is_empty())
                .and_then(crate::tencent::vod::endpoint_problem)
            {
                errors.push((field, problem));
            }
        }
        let class_id =
            optional_number::<i64>(&self.class_id, Field::ClassId, &mut errors, 0, i64::MAX);
        let expire = self.expire_time.trim();
        if !expire.is_empty() && chrono::DateTime::parse_from_rfc3339(expire).is_err() {
            errors.push((
                Field::ExpireTime,
                "use RFC 3339, e.g. 2030-01-01T00:00:00+08:00, or leave empty".into(),
            ));
        }
        // Empty or 0: automatic (as many as fill the link's budget).
        let parallel_files = optional_number::<usize>(
            &self.parallel_files,
            Field::ParallelFiles,
            &mut errors,
            0,
            crate::engine::api::MAX_AUTO_FILES,
        );
        let parallel_parts = required_number::<usize>(
            &self.parallel_parts,
            Field::ParallelParts,
            &mut errors,
            1,
            crate::engine::api::MAX_PARALLEL_PARTS,
        );
        // COS parts are 1 MiB to 5 GiB.
        let part_size_mib = optional_number::<u64>(
            &self.part_size_mib,
            Field::PartSize,
            &mut errors,
            1,
            5 * 1024,
        );
        let bandwidth_kib = optional_number::<u64>(
            &self.bandwidth_kib,
            Field::Bandwidth,
            &mut errors,
            16,
            u64::MAX / 1024,
        );
        let id = self.secret_id.trim();
        let key = self.secret_key.trim();
        if id.is_empty() != key.is_empty() {
            errors.push((
                Field::ApiKey,
                "enter both SecretId and SecretKey, or neither to keep the saved key".into(),
            ));
        } else if !id.is_empty()
            && (id.len() < 8
                || key.len() < 8
                || id.contains(char::is_whitespace)
                || key.contains(char::is_whitespace))
        {
            errors.push((
                Field::ApiKey,
                "this does not look like an API key (SecretId usually starts with AKID)".into(),
            ));
        }
        let corp_id = self.wecom_corp_id.trim();
        if corp_id.is_empty() && !self.wecom_secret.trim().is_empty() {
            errors.push((
                Field::WeCom,
                "enter the CorpID the secret belongs to".into(),
            ));
        } else if corp_id.contains(char::is_whitespace) {
            errors.push((Field::WeCom, "a CorpID has no spaces".into()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            region: region.to_owned(),
            sub_app_id,
            vod_endpoint: self.vod_endpoint.trim().to_owned(),
            cos_endpoint: self.cos_endpoint.trim().to_owned(),
            ugc_endpoint: self.ugc_endpoint.trim().to_owned(),
            wecom_endpoint: self.wecom_endpoint.trim().to_owned(),
            wecom_corp_id: corp_id.to_owned(),
            signature_url: self.signature_url.trim().to_owned(),
            flow: self.flow,
            procedure: self.procedure.trim().to_owned(),
            class_id,
            expire_time: expire.to_owned(),
            parallel_files: parallel_files.unwrap_or(0),
            parallel_parts: parallel_parts.unwrap_or(1),
            part_size_mib,
            bandwidth_kib,
            language: Some(self.language),
        })
    }

    /// The new WeChat Work secret typed into the form, if any.
    #[must_use]
    pub fn new_wecom_secret(&self) -> Option<String> {
        Some(self.wecom_secret.trim().to_owned()).filter(|secret| !secret.is_empty())
    }

    /// The new signature service token typed into the form, if any.
    #[must_use]
    pub fn new_signature_token(&self) -> Option<String> {
        Some(self.signature_token.trim().to_owned()).filter(|token| !token.is_empty())
    }

    /// The new API key typed into the form, when both halves were.
    #[must_use]
    pub fn new_key(&self) -> Option<(String, String)> {
        let id = self.secret_id.trim();
        let key = self.secret_key.trim();
        (!id.is_empty() && !key.is_empty()).then(|| (id.to_owned(), key.to_owned()))
    }
}

fn optional_number<T>(
    text: &str,
    field: Field,
    errors: &mut Vec<(Field, String)>,
    min: T,
    max: T,
) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<T>() {
        Ok(value) if value >= min && value <= max => Some(value),
        _ => {
            errors.push((field, range_message(min, max)));
            None
        }
    }
}

fn required_number<T>(
    text: &str,
    field: Field,
    errors: &mut Vec<(Field, String)>,
    min: T,
    max: T,
) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    if text.trim().is_empty() {
        errors.push((field, range_message(min, max)));
        return None;
    }
    optional_number(text, field, errors, min, max)
}

fn range_message<T: std::fmt::Display>(min: T, max: T) -> String {
    let max = max.to_string();
    if max.len() > 6 {
        format!("enter a whole number of at least {min}")
    } else {
        format!("enter a whole number from {min} to {max}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let form = SettingsForm::from_settings(&Settings::default(), Lang::En);
        assert!(form.validate().is_ok());
        let bad = SettingsForm {
            region: "Guangzhou!".into(),
            parallel_files: "999".into(),
            vod_endpoint: "ftp://x".into(),
            expire_time: "tomorrow".into(),
            secret_id: "AKIDxxxxxxxx".into(),
            ..form
        };
        let fields: Vec<Field> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                Field::Region,
                Field::VodEndpoint,
                Field::ExpireTime,
                Field::ParallelFiles,
                Field::ApiKey
            ]
        );
    }

    #[test]
    fn env_overrides_saved_values() {
        let saved = Settings::default();
        let (effective, used) = saved.with_env(|name| match name {
            "TENCENTCLOUD_REGION" => Some("ap-shanghai".into()),
            "VODDESK_SUB_APP_ID" => Some("1500000001".into()),
            _ => None,
        });
        assert_eq!(effective.region, "ap-shanghai");
        assert_eq!(effective.sub_app_id, Some(1_500_000_001));
        assert_eq!(used, ["TENCENTCLOUD_REGION", "VODDESK_SUB_APP_ID"]);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("voddesk-settings-{}", std::process::id()));
        let settings = Settings {
            region: "ap-chongqing".into(),
            bandwidth_kib: Some(512),
            ..Settings::default()
        };
        settings.save(&dir).unwrap();
        assert_eq!(Settings::load(&dir).unwrap(), settings);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
