//! Errors as a person sees them: what happened, what to do, with the service's code and
//! RequestId.

use super::api::UserError;
use crate::tencent::error::{ErrorClass, TencentError};

/// Turns a service error met while `doing` something into plain words.
#[must_use]
pub fn user_error(doing: &str, err: &TencentError) -> UserError {
    let code = err.code();
    let request_id = err.request_id().map(str::to_owned);
    // A file that could not be read may be readable again (a disk back, a permission fixed).
    let retryable = matches!(
        err.class(),
        ErrorClass::Retry | ErrorClass::ClockSkew | ErrorClass::CredentialsExpired
    ) || matches!(err, TencentError::File { .. });
    let message = message(doing, err);
    UserError {
        message,
        code,
        request_id,
        retryable,
    }
}

/// The words for `err` met while `doing`: one arm per kind of error, each saying what
/// happened and what to do.
fn message(doing: &str, err: &TencentError) -> String {
    match err {
        TencentError::Network { service, detail } => format!(
            "Could not reach {service} while {doing} ({detail}). Check the network connection, then retry."
        ),
        TencentError::Api(api) => {
            let advice = api_advice(&api.code);
            format!(
                "VOD answered with an error while {doing}: {} ({}). {advice}",
                api.message, api.code
            )
        }
        TencentError::Cos { error, status } => {
            let advice = cos_advice(&error.code);
            format!(
                "Cloud storage (COS) answered with an error while {doing}: {} {} (HTTP {status}). {advice}",
                error.code, error.message
            )
        }
        TencentError::Ugc { code, message } => format!(
            "The client-upload service answered with an error while {doing}: {message} (code {code}). Check the API key or the upload signature settings, then retry."
        ),
        TencentError::SignatureRefused { status: 429, .. } => format!(
            "The signature service is limiting this computer's token (too many signatures a minute) while {doing}. Retry in a minute; if it keeps happening, ask your admin to raise the service's rate."
        ),
        TencentError::SignatureRefused { status, .. } => format!(
            "The signature service refused this computer's token while {doing} (HTTP {status}) — ask your admin for a new one, then enter it in the settings (or set VODDESK_SIGNATURE_TOKEN) and retry."
        ),
        TencentError::Http {
            service, status, ..
        } => format!(
            "{service} answered HTTP {status} while {doing}. Try again later; if it persists, contact support."
        ),
        TencentError::Malformed { service, detail } => format!(
            "{service} gave an answer VodDesk cannot read while {doing} ({detail}). Try again later."
        ),
        TencentError::MissingField {
            service,
            action,
            field,
            request_id,
        } => {
            let request_id = if request_id.is_empty() {
                String::new()
            } else {
                format!(", RequestId {request_id}")
            };
            format!(
                "{service} answered {action} without {field} while {doing}{request_id}: VodDesk needs it to go on and will not guess it. Try again later; if it keeps happening, contact Tencent Cloud support with the RequestId."
            )
        }
        TencentError::Integrity(detail) => format!(
            "The bytes stored on the server do not match the file ({detail}). Nothing was published; retry to upload it again."
        ),
        TencentError::File { detail, path } => format!(
            "Could not read the file while {doing} ({detail}): {path}. Check that it still exists and is readable, then retry."
        ),
    }
}

/// What to do about a COS error code.
fn cos_advice(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
            "The temporary upload credentials were refused; retrying starts a new session."
        }
        "NoSuchUpload" => "The unfinished upload is gone from the server; retrying starts it over.",
        _ => "Trying again may help; if it keeps failing, contact support with the RequestId.",
    }
}

fn api_advice(code: &str) -> &'static str {
    if let Some(text) = super::publish::explain_code(code) {
        return text.en;
    }
    match code {
        "AuthFailure.SignatureExpire" => {
            "The computer's clock is off by more than 5 minutes: correct it, then retry."
        }
        "AuthFailure.TokenFailure" => "The session token is invalid or expired: renew it.",
        c if c.starts_with("InvalidParameter") || c.starts_with("MissingParameter") => {
            "Check the item's options (name, expiry, region, class, task flow), then retry."
        }
        c if c.starts_with("InternalError") || c.starts_with("RequestLimitExceeded") => {
            "The service is busy; try again in a moment."
        }
        _ => "If it keeps happening, contact support with the RequestId.",
    }
}

/// A user error that is not from a service.
#[must_use]
pub fn plain(message: impl Into<String>, retryable: bool) -> UserError {
    UserError {
        message: message.into(),
        code: None,
        request_id: None,
        retryable,
    }
}
