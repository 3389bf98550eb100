//! VOD API 3.0 (`POST /` with `X-TC-Action`, version 2018-07-17).
//!
//! Every answer is HTTP 200 with the `{"Response": …}` envelope, errors included, except the
//! injected `InternalError` fault, which is HTTP 500 with the same envelope (a 5xx as the
//! gateway would send it). Checks, in order: body size (1 MiB), `X-TC-Action` present,
//! `X-TC-Version` = 2018-07-17 (`NoSuchVersion`), timestamp within ±300 s of the emulator's
//! clock (`AuthFailure.SignatureExpire`), a known SecretId (`AuthFailure.SecretIdNotFound`; a
//! temporary certificate needs its `X-TC-Token` and must not have run out:
//! `AuthFailure.TokenFailure`), the TC3-HMAC-SHA256 signature recomputed over the headers named
//! in `SignedHeaders` with their actual values and the exact body
//! (`AuthFailure.SignatureFailure`), then the action (`InvalidAction` when unknown).
//!
//! Publish reviews: WAITING for the first third of the review delay, PROCESSING until it ends,
//! then FINISH with `ErrCode` 0 and `PublishResult` `Pass`, or `Rejected` (also `ErrCode` 0: the
//! task ran, the review said no) when the reject switch was on at submission.
//!
//! Simplifications: `DeleteMedia` always deletes everything (any `DeleteParts` is treated as
//! the default), `SubAppId` is accepted and ignored, and every video gets the same fixed set of
//! transcodes at once (they serve the original's bytes).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header, request::Parts};
use axum::response::Response;
use serde_json::{Value, json};

use super::state::{Media, Session, Task};
use super::{Emu, KeyRefusal, iso_time, random_token, request_id};
use crate::tencent::{encoding, models, tc3};

mod media;
mod publish;
mod upload;

// The actions live in the child modules; `super::*` there sees what is here.
use media::*;
pub(crate) use media::{cover_url, media_url, published};
use publish::*;
pub(crate) use upload::commit_session;
use upload::*;

/// Largest accepted request body.
const MAX_BODY: usize = 1024 * 1024;
/// Signature window of API 3.0.
const MAX_SKEW_SECONDS: i64 = 300;

/// Video containers the service accepts.
pub const VIDEO_TYPES: &[&str] = &[
    "mp4", "ts", "flv", "wmv", "asf", "rm", "rmvb", "mpg", "mpeg", "3gp", "mov", "webm", "mkv",
    "avi", "m3u8",
];
/// Audio containers the service accepts.
pub const AUDIO_TYPES: &[&str] = &["mp3", "m4a", "flac", "ogg", "wav"];
/// Cover image types the service accepts.
pub const COVER_TYPES: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "tiff", "ai", "cdr", "eps",
];

/// The regions VOD stores media in (its storage-region list). A request for any other region
/// is refused with `InvalidParameterValue.StorageRegion`, as the service refuses a region that
/// is not enabled for the application.
pub const STORAGE_REGIONS: &[&str] = &[
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-mumbai",
    "ap-seoul",
    "ap-bangkok",
    "ap-tokyo",
    "ap-jakarta",
    "na-siliconvalley",
    "na-ashburn",
    "na-toronto",
    "eu-frankfurt",
    "eu-moscow",
    "sa-saopaulo",
];

/// Whether `region` is one media can be stored in: a region of the list, or the emulator's
/// own (whatever it was started with).
pub(crate) fn is_storage_region(emu: &Emu, region: &str) -> bool {
    STORAGE_REGIONS.contains(&region) || region == emu.region
}

/// The transcode templates every video gets: `(definition, container, bitrate, width, height)`.
/// The last HLS output has a higher bitrate than every MP4, so a picker that ignores the
/// container picks wrongly.
const TRANSCODES: &[(i64, &str, i64, i64, i64)] = &[
    (100_010, "mp4", 400_000, 640, 360),
    (100_020, "mp4", 1_000_000, 854, 480),
    (100_030, "mp4", 1_800_000, 1280, 720),
    (100_210, "hls", 600_000, 640, 360),
    (100_240, "hls", 3_500_000, 1920, 1080),
];
/// The bitrate reported for originals.
const SOURCE_BITRATE: i64 = 2_000_000;

/// An error answer of an action.
#[derive(Debug)]
pub(crate) struct ApiErr {
    code: &'static str,
    message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> ApiErr {
    ApiErr {
        code,
        message: message.into(),
    }
}

impl From<rusqlite::Error> for ApiErr {
    fn from(error: rusqlite::Error) -> Self {
        tracing::error!("emulator database: {error}");
        err("InternalError", "internal error; retry later")
    }
}

impl From<std::io::Error> for ApiErr {
    fn from(error: std::io::Error) -> Self {
        tracing::error!("emulator storage: {error}");
        err("InternalError", "internal error; retry later")
    }
}

type ActionResult = Result<Value, ApiErr>;

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn error_response(error: &ApiErr, request_id: &str) -> Response {
    json_response(
        StatusCode::OK,
        &models::error_envelope(error.code, &error.message, request_id),
    )
}

/// Handles one API 3.0 request.
pub(crate) async fn handle(emu: Arc<Emu>, request: Request) -> Response {
    let request_id = request_id();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error_response(
            &err(
                "InvalidParameter",
                "the request body is larger than 1 MiB or broke off",
            ),
            &request_id,
        );
    };
    let Some(action) = header_str(&parts, "x-tc-action").map(str::to_owned) else {
        return error_response(
            &err("MissingParameter", "the X-TC-Action header is missing"),
            &request_id,
        );
    };
    emu.count_action(&action);
    if emu.roll(emu.faults().api_error_rate) {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &models::error_envelope(
                "InternalError",
                "internal error (injected by the emulator)",
                &request_id,
            ),
        );
    }
    let result = match check_request(&emu, &parts, &body) {
        Ok(()) => run_action(&emu, &parts, &action, &body).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(response) => json_response(StatusCode::OK, &models::envelope(response, &request_id)),
        Err(error) => error_response(&error, &request_id),
    }
}

fn header_str<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Version, clock window, key and signature.
fn check_request(emu: &Emu, parts: &Parts, body: &[u8]) -> Result<(), ApiErr> {
    check_version(parts)?;
    let timestamp: i64 = header_str(parts, "x-tc-timestamp")
        .ok_or_else(|| err("MissingParameter", "the X-TC-Timestamp header is missing"))?
        .parse()
        .map_err(|_| err("InvalidParameter", "X-TC-Timestamp is not a number"))?;
    let authorization = header_str(parts, "authorization").ok_or_else(|| {
        err(
            "AuthFailure.SignatureFailure",
            "the Authorization header is missing",
        )
    })?;
    let parsed = tc3::parse_authorization(authorization)
        .map_err(|e| err("AuthFailure.SignatureFailure", e.to_string()))?;
    let now = emu.now();
    if (timestamp - now).abs() > MAX_SKEW_SECONDS {
        return Err(err(
            "AuthFailure.SignatureExpire",
            format!(
                "the request timestamp {timestamp} differs from the server time {now} by more than 5 minutes"
            ),
        ));
    }
    let secret_key = secret_key_of(emu, parts, &parsed.secret_id, now)?;
    let headers = signed_headers_present(parts, &parsed.signed_headers)?;
    // The emulator's own verification, apart from the client's signer (see `signature`).
    let verified = super::signature::verify(
        &super::signature::Received {
            method: parts.method.as_str(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body,
            timestamp,
            service: &parsed.service,
            signed_headers: &parsed.signed_headers,
            signature: &parsed.signature,
        },
        &secret_key,
    );
    if parsed.service != tc3::VOD_SERVICE || !verified {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    Ok(())
}

/// `X-TC-Version` is there and is 2018-07-17.
fn check_version(parts: &Parts) -> Result<(), ApiErr> {
    match header_str(parts, "x-tc-version") {
        None => Err(err(
            "MissingParameter",
            "the X-TC-Version header is missing",
        )),
        Some(tc3::VOD_VERSION) => Ok(()),
        Some(other) => Err(err(
            "NoSuchVersion",
            format!(
                "version {other} does not exist for vod; use {}",
                tc3::VOD_VERSION
            ),
        )),
    }
}

/// The SecretKey of `secret_id` (see [`Emu::secret_key_of`]), with `X-TC-Token` as the token.
fn secret_key_of(emu: &Emu, parts: &Parts, secret_id: &str, now: i64) -> Result<String, ApiErr> {
    emu.secret_key_of(secret_id, header_str(parts, "x-tc-token"), now)?
        .map_err(|refusal| match refusal {
            KeyRefusal::Unknown => err(
                "AuthFailure.SecretIdNotFound",
                "the SecretId is not found; check for typos and spaces",
            ),
            KeyRefusal::WrongToken => err(
                "AuthFailure.TokenFailure",
                "the X-TC-Token does not belong to this temporary SecretId",
            ),
            KeyRefusal::Expired => err(
                "AuthFailure.TokenFailure",
                "the temporary credentials have expired",
            ),
        })
}

/// The request's headers (repeated ones joined with `,`), once every header named in
/// `SignedHeaders` is among them and `host` and `content-type` are signed.
fn signed_headers_present(
    parts: &Parts,
    signed: &[String],
) -> Result<Vec<(String, String)>, ApiErr> {
    if !signed.iter().any(|h| h == "host") || !signed.iter().any(|h| h == "content-type") {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "SignedHeaders must include content-type and host",
        ));
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .keys()
        .map(|name| {
            let joined: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (name.as_str().to_owned(), joined.join(","))
        })
        .collect();
    if let Some(name) = signed
        .iter()
        .find(|name| !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    {
        return Err(err(
            "AuthFailure.SignatureFailure",
            format!("the signed header {name} is not in the request"),
        ));
    }
    Ok(headers)
}

async fn run_action(emu: &Arc<Emu>, parts: &Parts, action: &str, body: &[u8]) -> ActionResult {
    let params: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            err(
                "InvalidParameter",
                format!("the body is not valid JSON: {e}"),
            )
        })?
    };
    if !params.is_object() {
        return Err(err("InvalidParameter", "the body must be a JSON object"));
    }
    let base = emu.base_url(&parts.headers, &parts.extensions);
    let region = header_str(parts, "x-tc-region").map(str::to_owned);
    match action {
        "ApplyUpload" => apply_upload(emu, &params, region),
        "CommitUpload" => commit_upload(emu, &params, &base),
        "DescribeMediaInfos" => describe_media_infos(emu, &params, &base),
        "SearchMedia" => search_media(emu, &params, &base),
        "ForbidMediaDistribution" => forbid(emu, &params),
        "DeleteMedia" => delete_media(emu, &params).await,
        "ModifyMediaInfo" => modify_media_info(emu, &params),
        "WeChatMiniProgramPublish" => publish(emu, &params),
        "DescribeTaskDetail" => describe_task(emu, &params, &base),
        "PullUpload" => pull_upload(emu, &params, region),
        _ => Err(err(
            "InvalidAction",
            format!("the action {action} does not exist in vod 2018-07-17"),
        )),
    }
}

// --- parameter helpers ---------------------------------------------------------------------

fn str_param(params: &Value, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_param(params: &Value, name: &str) -> Result<Option<i64>, ApiErr> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| err("InvalidParameter", format!("{name} must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| err("InvalidParameter", format!("{name} must be an integer"))),
        Some(_) => Err(err(
            "InvalidParameter",
            format!("{name} must be an integer"),
        )),
    }
}

fn list_param(params: &Value, name: &str) -> Result<Option<Vec<String>>, ApiErr> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(err(
                    "InvalidParameter",
                    format!("{name} must be a list of strings"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(err(
            "InvalidParameter",
            format!("{name} must be a list of strings"),
        )),
    }
}

/// A name that is safe as one path segment of a storage path.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').to_owned();
    if cleaned.is_empty() {
        "f0".to_owned()
    } else {
        cleaned.chars().take(100).collect()
    }
}

/// A new storage directory: `/{appid}/{random}`.
pub(crate) fn storage_dir(emu: &Emu) -> String {
    format!("/{}/{}", emu.app_id, random_token(16).to_lowercase())
}

pub(crate) fn is_supported_media(media_type: &str) -> bool {
    VIDEO_TYPES.contains(&media_type) || AUDIO_TYPES.contains(&media_type)
}

/// Issues a temporary certificate for a session.
pub(crate) fn issue_cert(emu: &Emu, session_key: &str) -> Result<super::state::Cert, ApiErr> {
    let lifetime = i64::try_from(emu.faults().cert_lifetime.as_secs()).unwrap_or(i64::MAX / 4);
    let cert = super::state::Cert {
        secret_id: format!("AKIDtmp{}", random_token(29)),
        secret_key: random_token(32),
        token: random_token(96),
        expires: emu.now() + lifetime,
        session_key: session_key.to_owned(),
    };
    emu.db.insert_cert(&cert)?;
    Ok(cert)
}
