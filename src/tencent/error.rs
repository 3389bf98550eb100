//! One error type for every Tencent call, and one classification of it that the engine's retry
//! policy uses: retry, renew credentials, correct the clock, or give up and show it.

use super::models::ApiError;
use super::xml::CosError;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (network, 5xx, throttling, internal errors): try again after a backoff.
    Retry,
    /// The request was signed at a time the server considers too far off: correct the clock
    /// from the server's `Date` header and try again at once.
    ClockSkew,
    /// The temporary certificate or token ran out: renew it (or restart the session) and retry.
    CredentialsExpired,
    /// A one-time or expired upload signature: fetch or make a new one, never reuse it.
    SignatureExpired,
    /// Authentication, parameters, missing resources: retrying cannot help; show it.
    Fatal,
}

/// An error from a Tencent service or from the way to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TencentError {
    /// The request did not get an HTTP answer (DNS, refused, reset, timeout).
    #[error("could not reach {service}: {detail}")]
    Network {
        /// `VOD API`, `COS`, `client upload`, `WeCom`.
        service: &'static str,
        /// What the transport said.
        detail: String,
    },
    /// An HTTP status with a body that is not the service's error document.
    #[error("{service} answered HTTP {status}{}", request_id_suffix(.request_id))]
    Http {
        /// Which service.
        service: &'static str,
        /// The status code.
        status: u16,
        /// The start of the body, for support.
        body: String,
        /// The request id, when a header carried one.
        request_id: String,
    },
    /// VOD API 3.0 reported an error.
    #[error("VOD API error {}: {} (RequestId {})", .0.code, .0.message, .0.request_id)]
    Api(ApiError),
    /// COS answered with its `<Error>` document.
    #[error("COS error {} (HTTP {status}): {}{}", .error.code, .error.message, request_id_suffix(&.error.request_id))]
    Cos {
        /// The HTTP status.
        status: u16,
        /// The document.
        error: CosError,
    },
    /// The client-upload API answered with a non-zero `code`.
    #[error("client-upload API error {code}: {message}")]
    Ugc {
        /// The service's code.
        code: i64,
        /// The service's message.
        message: String,
    },
    /// The signature service refused this computer's token (401, 403) or asked it to slow
    /// down (429).
    #[error("the signature service refused the request (HTTP {status})")]
    SignatureRefused {
        /// 401, 403 or 429.
        status: u16,
        /// Seconds to wait, from the service's `Retry-After`.
        retry_after: Option<u64>,
    },
    /// A body could not be read as the expected response.
    #[error("{service} answered with something this client cannot read: {detail}")]
    Malformed {
        /// Which service.
        service: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// An answer that reads but lacks (or has `null` for) a field the flow cannot do without.
    #[error("{service} answered {action} without {field}{}", request_id_suffix(.request_id))]
    MissingField {
        /// Which service.
        service: &'static str,
        /// The action or call (`ApplyUpload`, `ApplyUploadUGC`).
        action: &'static str,
        /// The field as the service names it.
        field: &'static str,
        /// The request id, when the answer had one.
        request_id: String,
    },
    /// The bytes the server holds are not the bytes that were sent.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// A local file could not be read.
    #[error("could not read {path}: {detail}")]
    File {
        /// What went wrong.
        detail: String,
        /// The path (last, as the house style puts paths).
        path: String,
    },
}

fn request_id_suffix(request_id: &str) -> String {
    if request_id.is_empty() {
        String::new()
    } else {
        format!(" (RequestId {request_id})")
    }
}

/// An error's message followed by those of its causes (`a: b: c`): reqwest's own message alone
/// ("error sending request") does not say what went wrong.
#[must_use]
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut detail = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        source = inner.source();
    }
    detail
}

impl TencentError {
    /// The network variant from a transport error (reqwest's, in the clients: this module
    /// stays sans-IO and names no HTTP crate).
    #[must_use]
    pub fn network(service: &'static str, err: &dyn std::error::Error) -> Self {
        // reqwest's Display of a request error includes the URL; keep it, it has no secrets
        // (signatures travel in headers, never in our URLs).
        Self::Network {
            service,
            detail: with_causes(err),
        }
    }

    /// The service's request id, when there is one.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        let id = match self {
            Self::Api(err) => err.request_id.as_str(),
            Self::Cos { error, .. } => error.request_id.as_str(),
            Self::Http { request_id, .. } | Self::MissingField { request_id, .. } => {
                request_id.as_str()
            }
            _ => "",
        };
        (!id.is_empty()).then_some(id)
    }

    /// The service's error code (`AuthFailure.SignatureFailure`, `NoSuchUpload`, `10010`).
    #[must_use]
    pub fn code(&self) -> Option<String> {
        match self {
            Self::Api(err) => Some(err.code.clone()),
            Self::Cos { error, .. } => Some(error.code.clone()),
            Self::Ugc { code, .. } => Some(code.to_string()),
            _ => None,
        }
    }

    /// What to do about it.
    #[must_use]
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Network { .. } => ErrorClass::Retry,
            Self::Http { status, .. } => classify_status(*status),
            Self::Api(err) => classify_api_code(&err.code),
            Self::Cos { status, error } => classify_cos(*status, error),
            Self::Ugc { code, .. } => match code {
                // 10010: the upload signature expired (iOS SDK's TVC_ERR_UPLOAD_SIGN_EXPIRED).
                10010 => ErrorClass::SignatureExpired,
                500.. if *code < 600 => ErrorClass::Retry,
                _ => ErrorClass::Fatal,
            },
            // Over the token's rate passes; a refused token does not until the admin acts.
            Self::SignatureRefused { status, .. } if *status == 429 => ErrorClass::Retry,
            Self::SignatureRefused { .. } => ErrorClass::Fatal,
            // A truncated or garbled body is what a cut connection produces.
            Self::Malformed { .. } => ErrorClass::Retry,
            Self::Integrity(_) => ErrorClass::Retry,
            // The service answered, and would answer the same again: retrying cannot help.
            Self::MissingField { .. } | Self::File { .. } => ErrorClass::Fatal,
        }
    }

    /// How long the service asked to wait before the next attempt (a signature service's
    /// `Retry-After`), at most a minute whatever it said.
    #[must_use]
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::SignatureRefused {
                retry_after: Some(seconds),
                ..
            } => Some(std::time::Duration::from_secs((*seconds).min(60))),
            _ => None,
        }
    }

    /// Whether a retry after a backoff may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retry
    }
}

fn classify_status(status: u16) -> ErrorClass {
    match status {
        408 | 429 | 500..=599 => ErrorClass::Retry,
        _ => ErrorClass::Fatal,
    }
}

/// Classifies a VOD API 3.0 error code.
#[must_use]
pub fn classify_api_code(code: &str) -> ErrorClass {
    let head = code.split('.').next().unwrap_or(code);
    match (head, code) {
        (_, "AuthFailure.SignatureExpire") => ErrorClass::ClockSkew,
        (_, "AuthFailure.TokenFailure") => ErrorClass::CredentialsExpired,
        ("InternalError" | "RequestLimitExceeded" | "ResourceUnavailable", _) => ErrorClass::Retry,
        ("LimitExceeded", _) if code.contains("Frequency") => ErrorClass::Retry,
        _ => ErrorClass::Fatal,
    }
}

fn classify_cos(status: u16, error: &CosError) -> ErrorClass {
    match error.code.as_str() {
        "RequestTimeTooSkewed" => ErrorClass::ClockSkew,
        "ExpiredToken" | "InvalidToken" | "TokenExpired" => ErrorClass::CredentialsExpired,
        // COS says "Request has expired" with AccessDenied when the key time window is past;
        // with temporary credentials that means the certificate ran out.
        "AccessDenied" if error.message.to_ascii_lowercase().contains("expired") => {
            ErrorClass::CredentialsExpired
        }
        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" => ErrorClass::Retry,
        _ => classify_status(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> TencentError {
        TencentError::Api(ApiError {
            code: code.into(),
            message: String::new(),
            request_id: "r".into(),
        })
    }

    #[test]
    fn api_codes() {
        assert_eq!(api("InternalError").class(), ErrorClass::Retry);
        assert_eq!(api("RequestLimitExceeded").class(), ErrorClass::Retry);
        assert_eq!(
            api("RequestLimitExceeded.UinLimitExceeded").class(),
            ErrorClass::Retry
        );
        assert_eq!(
            api("AuthFailure.SignatureExpire").class(),
            ErrorClass::ClockSkew
        );
        assert_eq!(
            api("AuthFailure.SignatureFailure").class(),
            ErrorClass::Fatal
        );
        assert_eq!(
            api("InvalidParameterValue.FileType").class(),
            ErrorClass::Fatal
        );
        assert_eq!(api("InternalError").request_id(), Some("r"));
    }

    #[test]
    fn cos_codes() {
        let cos = |status, code: &str, message: &str| TencentError::Cos {
            status,
            error: CosError {
                code: code.into(),
                message: message.into(),
                ..CosError::default()
            },
        };
        assert_eq!(cos(503, "SlowDown", "").class(), ErrorClass::Retry);
        assert_eq!(cos(500, "Whatever", "").class(), ErrorClass::Retry);
        assert_eq!(
            cos(403, "SignatureDoesNotMatch", "").class(),
            ErrorClass::Fatal
        );
        assert_eq!(
            cos(403, "RequestTimeTooSkewed", "").class(),
            ErrorClass::ClockSkew
        );
        assert_eq!(
            cos(403, "AccessDenied", "Request has expired").class(),
            ErrorClass::CredentialsExpired
        );
        assert_eq!(cos(404, "NoSuchUpload", "").class(), ErrorClass::Fatal);
    }

    #[test]
    fn messages_carry_request_ids() {
        let text = api("FailedOperation.InvalidVodUser").to_string();
        assert!(text.contains("RequestId r"), "{text}");
    }
}
