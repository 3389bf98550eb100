//! Settings, credentials and the environment variables that override them.
//!
//! Precedence, highest first: command-line flag, environment variable (the names Tencent's SDKs
//! and tccli use), saved settings, built-in default.

use std::path::PathBuf;

use crate::tencent::sign_service::SignatureToken;
use crate::tencent::{Credentials, ugc, vod};

/// Public endpoints and their overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// VOD API 3.0 base URL.
    pub vod: String,
    /// When set, COS requests go to `{cos}/{key}`.
    pub cos: Option<String>,
    /// Client-upload API base URL.
    pub ugc: String,
    /// WeCom API base URL.
    pub wecom: String,
}

/// The public WeCom endpoint.
pub const DEFAULT_WECOM_ENDPOINT: &str = "https://qyapi.weixin.qq.com";

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            vod: vod::DEFAULT_ENDPOINT.to_owned(),
            cos: None,
            ugc: ugc::DEFAULT_ENDPOINT.to_owned(),
            wecom: DEFAULT_WECOM_ENDPOINT.to_owned(),
        }
    }
}

impl Endpoints {
    /// Every service at one base URL (the emulator).
    #[must_use]
    pub fn all_at(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Self {
            vod: base.clone(),
            cos: Some(base.clone()),
            ugc: base.clone(),
            wecom: base,
        }
    }
}

/// WeCom application credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct WeComCredentials {
    /// CorpID.
    pub corp_id: String,
    /// The application's secret.
    pub secret: String,
}

impl std::fmt::Debug for WeComCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeComCredentials")
            .field("corp_id", &self.corp_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Everything needed to talk to the services, resolved from flags, environment and settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// API key; `None` means demo mode (the embedded emulator) for the app.
    pub credentials: Option<Credentials>,
    /// Region for API calls.
    pub region: String,
    /// Endpoints.
    pub endpoints: Endpoints,
    /// Signature service; when set, uploads use signature mode.
    pub signature_url: Option<String>,
    /// This computer's token for the signature service (`Authorization: Bearer`).
    pub signature_token: Option<SignatureToken>,
    /// VOD sub-application.
    pub sub_app_id: Option<u64>,
    /// WeCom application.
    pub wecom: Option<WeComCredentials>,
    /// Queue database, logs, emulator data.
    pub data_dir: PathBuf,
}

/// The platform data directory (`~/.local/share/voddesk` on Linux), or `./voddesk-data`.
#[must_use]
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("com", "VodDesk", "voddesk").map_or_else(
        || PathBuf::from("voddesk-data"),
        |dirs| dirs.data_dir().to_path_buf(),
    )
}

/// Reads a non-empty, trimmed environment variable.
#[must_use]
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
