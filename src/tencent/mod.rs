//! Tencent Cloud protocol code.
//!
//! Everything in this module but the async clients is sans-IO: functions take the clock and
//! randomness as arguments so they can be checked against the vectors the official SDKs produce.

pub mod clock;
pub mod cos;
pub mod cos_sign;
pub mod crc64;
pub mod encoding;
pub mod error;
pub mod lenient;
pub mod models;
pub mod retry;
pub mod sign_service;
pub mod tc3;
pub mod throttle;
pub mod ugc;
pub mod ugc_sign;
pub mod vod;
pub mod xml;

/// The region API calls go to when none is set (the clients' and the emulator's default).
pub const DEFAULT_REGION: &str = "ap-guangzhou";

/// An API key pair, or a temporary certificate with its session token.
///
/// `Debug` never shows the secret: it prints the SecretId and whether a token is present, so a
/// stray `{:?}` in a log cannot leak a key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The SecretId (`AKID…`): not secret, shown in signatures.
    pub secret_id: String,
    secret_key: String,
    /// The STS session token of a temporary certificate.
    pub token: Option<String>,
}

impl Credentials {
    /// A permanent key pair.
    #[must_use]
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into().trim().to_owned(),
            secret_key: secret_key.into().trim().to_owned(),
            token: None,
        }
    }

    /// A temporary certificate.
    #[must_use]
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// The SecretKey, for signing only.
    #[must_use]
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The SecretId with all but its first and last four characters masked, for display.
    #[must_use]
    pub fn masked_id(&self) -> String {
        mask(&self.secret_id)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.masked_id())
            .field("secret_key", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Masks a secret for display: first and last four characters, stars between.
#[must_use]
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}
