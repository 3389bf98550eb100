//! What the user saved, read by both front ends: `settings.json` in the data directory and the
//! environment variables that override it (product spec §2.5, §3.1), and, in [`credentials`],
//! the API key, the WeChat Work secret and the signature service's token.
//!
//! The desktop app edits these through its settings dialog; the CLI reads them under its flags
//! and environment. Neither front end imports the other for them.

pub mod credentials;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::api::{EngineTuning, ItemOptions, UploadFlow};

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
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
