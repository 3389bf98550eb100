//! The VOD client-upload signature: `Base64(HMAC-SHA1(SecretKey, original) ‖ original)`.
//!
//! `original` is a query string that starts with the four required parameters in the documented
//! order (`secretId`, `currentTimeStamp`, `expireTime`, `random`); optional ones follow in the
//! order of the official vectors. Values are percent-encoded, keeping only RFC 3986 unreserved
//! characters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::encoding::{decode_query_component, strict};

/// The longest validity the service accepts: 90 days.
pub const MAX_VALIDITY_SECONDS: i64 = 7_776_000;
/// The longest `sourceContext` the service accepts, in characters.
pub const MAX_SOURCE_CONTEXT_CHARS: usize = 250;
/// The longest `sessionContext` the service accepts, in characters.
pub const MAX_SESSION_CONTEXT_CHARS: usize = 1000;

type HmacSha1 = Hmac<Sha1>;

/// The parameters of an upload signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    /// The SecretId of the key that signs.
    pub secret_id: String,
    /// When it was made (Unix seconds).
    pub current_time: i64,
    /// When it stops being valid (Unix seconds).
    pub expire_time: i64,
    /// A random unsigned 32-bit number (unique per signature when one-time).
    pub random: u32,
    /// Task flow to run after upload.
    pub procedure: Option<String>,
    /// Task priority, −10..10 (only with a procedure).
    pub task_priority: Option<i64>,
    /// `Finish`, `Change` or `None` (only with a procedure).
    pub task_notify_mode: Option<String>,
    /// Echoed in the upload callback, ≤ 250 characters.
    pub source_context: Option<String>,
    /// The signature may be used once only.
    pub one_time_valid: bool,
    /// Media category.
    pub class_id: Option<i64>,
    /// VOD sub-application.
    pub vod_sub_app_id: Option<u64>,
    /// Echoed in task-flow callbacks, ≤ 1000 characters.
    pub session_context: Option<String>,
    /// Storage region abbreviation.
    pub storage_region: Option<String>,
}

/// Why a signature cannot be made, or a received one cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The validity window is empty, negative, or longer than 90 days.
    #[error("the signature's validity must be between 1 second and 90 days (7776000 s), not {0} s")]
    Validity(i64),
    /// A timestamp is negative.
    #[error("timestamps must not be negative")]
    NegativeTime,
    /// A context field is too long.
    #[error("{field} is {len} characters long; the service accepts at most {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The task priority is outside −10..10.
    #[error("taskPriority must be between -10 and 10, not {0}")]
    Priority(i64),
    /// Not Base64, or too short to hold a MAC.
    #[error("the signature is not Base64 of a 20-byte MAC followed by its parameters")]
    Encoding,
    /// A required parameter is missing or not a number.
    #[error("the signature's parameter {0} is missing or malformed")]
    Parameter(&'static str),
}

impl SignatureParams {
    /// Checks the rules the service applies before anything is signed.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn validate(&self) -> Result<(), SignatureError> {
        if self.current_time < 0 || self.expire_time < 0 {
            return Err(SignatureError::NegativeTime);
        }
        let validity = self.expire_time - self.current_time;
        if validity <= 0 || validity > MAX_VALIDITY_SECONDS {
            return Err(SignatureError::Validity(validity));
        }
        for (field, value, max) in [
            (
                "sourceContext",
                &self.source_context,
                MAX_SOURCE_CONTEXT_CHARS,
            ),
            (
                "sessionContext",
                &self.session_context,
                MAX_SESSION_CONTEXT_CHARS,
            ),
        ] {
            let len = value.as_deref().map_or(0, |v| v.chars().count());
            if len > max {
                return Err(SignatureError::TooLong { field, len, max });
            }
        }
        if let Some(priority) = self.task_priority
            && !(-10..=10).contains(&priority)
        {
            return Err(SignatureError::Priority(priority));
        }
        Ok(())
    }

    /// The plaintext that is signed.
    #[must_use]
    pub fn original(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("secretId", self.secret_id.clone()),
            ("currentTimeStamp", self.current_time.to_string()),
            ("expireTime", self.expire_time.to_string()),
            ("random", self.random.to_string()),
        ];
        if let Some(v) = &self.procedure {
            pairs.push(("procedure", v.clone()));
        }
        if let Some(v) = self.task_priority {
            pairs.push(("taskPriority", v.to_string()));
        }
        if let Some(v) = &self.task_notify_mode {
            pairs.push(("taskNotifyMode", v.clone()));
        }
        if let Some(v) = &self.source_context {
            pairs.push(("sourceContext", v.clone()));
        }
        if self.one_time_valid {
            pairs.push(("oneTimeValid", "1".to_owned()));
        }
        if let Some(v) = self.class_id {
            pairs.push(("classId", v.to_string()));
        }
        if let Some(v) = self.vod_sub_app_id {
            pairs.push(("vodSubAppId", v.to_string()));
        }
        if let Some(v) = &self.session_context {
            pairs.push(("sessionContext", v.clone()));
        }
        if let Some(v) = &self.storage_region {
            pairs.push(("storageRegion", v.clone()));
        }
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", strict(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Signs with `secret_key` after checking the rules.
    ///
    /// # Errors
    /// When [`SignatureParams::validate`] fails.
    pub fn sign(&self, secret_key: &str) -> Result<String, SignatureError> {
        self.validate()?;
        Ok(sign_original(secret_key, &self.original()))
    }
}

fn mac(secret_key: &str, original: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!());
    mac.update(original);
    mac.finalize().into_bytes().into()
}

/// Signs an already-built plaintext.
#[must_use]
pub fn sign_original(secret_key: &str, original: &str) -> String {
    let mut bytes = mac(secret_key, original.as_bytes()).to_vec();
    bytes.extend_from_slice(original.as_bytes());
    STANDARD.encode(bytes)
}

/// A received signature, decoded but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedSignature {
    /// The 20-byte HMAC-SHA1.
    pub mac: [u8; 20],
    /// The plaintext as received.
    pub original: String,
    /// The parameters read from it.
    pub params: SignatureParams,
    /// Parameters this crate does not know, in order.
    pub extra: Vec<(String, String)>,
}

impl DecodedSignature {
    /// Whether `secret_key` made this signature.
    #[must_use]
    pub fn verify(&self, secret_key: &str) -> bool {
        let expected = mac(secret_key, self.original.as_bytes());
        expected
            .iter()
            .zip(self.mac.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Decodes a signature and reads its parameters.
///
/// # Errors
/// When it is not Base64, is too short, or lacks a required parameter.
pub fn decode(signature: &str) -> Result<DecodedSignature, SignatureError> {
    let bytes = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Encoding)?;
    if bytes.len() <= 20 {
        return Err(SignatureError::Encoding);
    }
    let mut mac = [0u8; 20];
    mac.copy_from_slice(&bytes[..20]);
    let original = String::from_utf8(bytes[20..].to_vec()).map_err(|_| SignatureError::Encoding)?;
    let mut params = SignatureParams::default();
    let mut extra = Vec::new();
    let (mut has_id, mut has_now, mut has_expire, mut has_random) = (false, false, false, false);
    for pair in original.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode_query_component(value);
        let number = |field: &'static str| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| SignatureError::Parameter(field))
        };
        match name {
            "secretId" => {
                params.secret_id = value.clone();
                has_id = true;
            }
            "currentTimeStamp" => {
                params.current_time = number("currentTimeStamp")?;
                has_now = true;
            }
            "expireTime" => {
                params.expire_time = number("expireTime")?;
                has_expire = true;
            }
            "random" => {
                params.random = value
                    .trim()
                    .parse()
                    .map_err(|_| SignatureError::Parameter("random"))?;
                has_random = true;
            }
            "procedure" => params.procedure = Some(value),
            "taskPriority" => params.task_priority = Some(number("taskPriority")?),
            "taskNotifyMode" => params.task_notify_mode = Some(value),
            "sourceContext" => params.source_context = Some(value),
            "oneTimeValid" => params.one_time_valid = number("oneTimeValid")? == 1,
            "classId" => params.class_id = Some(number("classId")?),
            "vodSubAppId" => {
                params.vod_sub_app_id = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| SignatureError::Parameter("vodSubAppId"))?,
                );
            }
            "sessionContext" => params.session_context = Some(value),
            "storageRegion" => params.storage_region = Some(value),
            _ => extra.push((name.to_owned(), value)),
        }
    }
    for (present, field) in [
        (has_id, "secretId"),
        (has_now, "currentTimeStamp"),
        (has_expire, "expireTime"),
        (has_random, "random"),
    ] {
        if !present {
            return Err(SignatureError::Parameter(field));
        }
    }
    Ok(DecodedSignature {
        mac,
        original,
        params,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    #[test]
    fn documented_example_with_optional_fields() {
        let original = "secretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&currentTimeStamp=1700000000&expireTime=1700086400&random=220625&procedure=LongVideoPreset&vodSubAppId=1500000001&sourceContext=job%3D7%26user%3D42&oneTimeValid=0";
        let sig = sign_original(KEY, original);
        assert!(sig.starts_with("1GVCf9gZen7ijOMDAlOk5FwVPz1z"));
        let decoded = decode(&sig).unwrap();
        assert!(decoded.verify(KEY));
        assert!(!decoded.verify("other"));
        assert_eq!(
            decoded.params.source_context.as_deref(),
            Some("job=7&user=42")
        );
        assert_eq!(decoded.params.vod_sub_app_id, Some(1_500_000_001));
        assert!(!decoded.params.one_time_valid);
    }

    #[test]
    fn validity_rules() {
        let mut params = SignatureParams {
            secret_id: ID.into(),
            current_time: 100,
            expire_time: 100 + MAX_VALIDITY_SECONDS,
            random: 1,
            ..SignatureParams::default()
        };
        assert!(params.sign(KEY).is_ok());
        params.expire_time += 1;
        assert_eq!(
            params.sign(KEY),
            Err(SignatureError::Validity(MAX_VALIDITY_SECONDS + 1))
        );
        params.expire_time = 100;
        assert!(params.sign(KEY).is_err());
        params.expire_time = 200;
        params.source_context = Some("字".repeat(251));
        assert!(matches!(
            params.sign(KEY),
            Err(SignatureError::TooLong { len: 251, .. })
        ));
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(decode("not base64!"), Err(SignatureError::Encoding));
        assert_eq!(decode("AAAA"), Err(SignatureError::Encoding));
        let no_random = sign_original(KEY, "secretId=a&currentTimeStamp=1&expireTime=2");
        assert_eq!(decode(&no_random), Err(SignatureError::Parameter("random")));
    }
}
