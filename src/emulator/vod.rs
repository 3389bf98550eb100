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
use super::{Emu, iso_time, random_token, request_id};
use crate::tencent::{encoding, models, tc3};

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
    match header_str(parts, "x-tc-version") {
        None => {
            return Err(err(
                "MissingParameter",
                "the X-TC-Version header is missing",
            ));
        }
        Some(tc3::VOD_VERSION) => {}
        Some(other) => {
            return Err(err(
                "NoSuchVersion",
                format!(
                    "version {other} does not exist for vod; use {}",
                    tc3::VOD_VERSION
                ),
            ));
        }
    }
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
    let secret_key = if parsed.secret_id == emu.secret_id {
        emu.secret_key.clone()
    } else if let Some(cert) = emu.db.cert(&parsed.secret_id)? {
        if header_str(parts, "x-tc-token") != Some(cert.token.as_str()) {
            return Err(err(
                "AuthFailure.TokenFailure",
                "the X-TC-Token does not belong to this temporary SecretId",
            ));
        }
        if cert.expires <= now {
            return Err(err(
                "AuthFailure.TokenFailure",
                "the temporary credentials have expired",
            ));
        }
        cert.secret_key
    } else {
        return Err(err(
            "AuthFailure.SecretIdNotFound",
            "the SecretId is not found; check for typos and spaces",
        ));
    };
    if !parsed.signed_headers.iter().any(|h| h == "host")
        || !parsed.signed_headers.iter().any(|h| h == "content-type")
    {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "SignedHeaders must include content-type and host",
        ));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for name in parts.headers.keys() {
        let joined: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.push((name.as_str().to_owned(), joined.join(",")));
    }
    if let Some(name) = parsed
        .signed_headers
        .iter()
        .find(|name| !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    {
        return Err(err(
            "AuthFailure.SignatureFailure",
            format!("the signed header {name} is not in the request"),
        ));
    }
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

// --- actions -------------------------------------------------------------------------------

fn apply_upload(emu: &Emu, params: &Value, region: Option<String>) -> ActionResult {
    let media_type = str_param(params, "MediaType")
        .ok_or_else(|| err("MissingParameter", "MediaType is required"))?
        .to_lowercase();
    if !is_supported_media(&media_type) {
        return Err(err(
            "InvalidParameterValue.MediaType",
            format!("media type {media_type} is not supported"),
        ));
    }
    let cover_type = str_param(params, "CoverType").map(|t| t.to_lowercase());
    if let Some(cover) = &cover_type
        && !COVER_TYPES.contains(&cover.as_str())
    {
        return Err(err(
            "InvalidParameterValue.CoverType",
            format!("cover type {cover} is not supported"),
        ));
    }
    let expire_time = str_param(params, "ExpireTime");
    if let Some(expire) = &expire_time
        && chrono::DateTime::parse_from_rfc3339(expire).is_err()
    {
        return Err(err(
            "InvalidParameterValue.ExpireTime",
            "ExpireTime must be ISO 8601, e.g. 2030-01-01T00:00:00Z",
        ));
    }
    if let Some(context) = str_param(params, "SourceContext")
        && context.chars().count() > crate::tencent::ugc_sign::MAX_SOURCE_CONTEXT_CHARS
    {
        return Err(err(
            "InvalidParameterValue",
            "SourceContext is longer than 250 characters",
        ));
    }
    let media_name = str_param(params, "MediaName");
    let media_path = match str_param(params, "MediaStoragePath") {
        Some(path) if !path.starts_with('/') => {
            return Err(err(
                "InvalidParameterValue.MediaStoragePath",
                "MediaStoragePath must start with /",
            ));
        }
        Some(path) => path,
        None => format!(
            "{}/{}.{media_type}",
            storage_dir(emu),
            safe_name(media_name.as_deref().unwrap_or("f0"))
        ),
    };
    let dir = media_path
        .rsplit_once('/')
        .map_or_else(|| storage_dir(emu), |(dir, _)| dir.to_owned());
    let cover_path = cover_type
        .as_ref()
        .map(|cover| format!("{dir}/cover.{cover}"));
    let wanted = str_param(params, "StorageRegion");
    if let Some(wanted) = &wanted
        && !is_storage_region(emu, wanted)
    {
        return Err(err(
            "InvalidParameterValue.StorageRegion",
            format!("StorageRegion {wanted} is not a storage region of this application"),
        ));
    }
    // Else the API region the request was sent to, when media can be stored there.
    let storage_region = wanted
        .or_else(|| region.filter(|r| is_storage_region(emu, r)))
        .unwrap_or_else(|| emu.region.clone());
    let session = Session {
        session_key: random_token(40),
        flow: "api".to_owned(),
        media_type,
        media_name: media_name.unwrap_or_else(|| {
            media_path
                .rsplit('/')
                .next()
                .and_then(|f| f.rsplit_once('.').map(|(stem, _)| stem.to_owned()))
                .unwrap_or_else(|| "f0".to_owned())
        }),
        media_path,
        cover_type,
        cover_path,
        procedure: str_param(params, "Procedure"),
        class_id: int_param(params, "ClassId")?.unwrap_or_default(),
        source_context: str_param(params, "SourceContext"),
        storage_region,
        expire_time,
        file_id: None,
        created: emu.now(),
    };
    emu.db.insert_session(&session)?;
    let cert = issue_cert(emu, &session.session_key)?;
    Ok(json!({
        "StorageBucket": format!("{}-{}", super::BUCKET_NAME, emu.app_id),
        "StorageRegion": session.storage_region,
        "VodSessionKey": session.session_key,
        "MediaStoragePath": session.media_path,
        // Like the service, a field with no value is null, not an empty string.
        "CoverStoragePath": session.cover_path.clone(),
        "TempCertificate": {
            "SecretId": cert.secret_id,
            "SecretKey": cert.secret_key,
            "Token": cert.token,
            "ExpiredTime": cert.expires,
        },
    }))
}

/// Makes the media of a session whose objects are in place (idempotent: a second commit returns
/// the same media). `Err(path)` names the object that is missing.
pub(crate) fn commit_session(
    emu: &Emu,
    session: &Session,
    source_type: &str,
) -> Result<Result<Media, String>, ApiErr> {
    if let Some(file_id) = &session.file_id
        && let Some(media) = emu.db.media(file_id)?
    {
        return Ok(Ok(media));
    }
    let key = session.media_path.trim_start_matches('/');
    let Some(object) = emu.db.object(key)? else {
        return Ok(Err(session.media_path.clone()));
    };
    if let Some(cover) = &session.cover_path
        && emu.db.object(cover.trim_start_matches('/'))?.is_none()
    {
        return Ok(Err(cover.clone()));
    }
    let media = Media {
        file_id: new_file_id(),
        name: session.media_name.clone(),
        media_type: session.media_type.clone(),
        media_key: key.to_owned(),
        cover_key: session
            .cover_path
            .as_ref()
            .map(|c| c.trim_start_matches('/').to_owned()),
        size: i64::try_from(object.size).unwrap_or(i64::MAX),
        status: "Normal".to_owned(),
        deleted: false,
        created: emu.now(),
        class_id: session.class_id,
        source_context: session.source_context.clone(),
        procedure: session.procedure.clone(),
        storage_region: session.storage_region.clone(),
        expire_time: session.expire_time.clone(),
        source_type: source_type.to_owned(),
    };
    emu.db.insert_media(&media)?;
    emu.db
        .set_session_file(&session.session_key, &media.file_id)?;
    Ok(Ok(media))
}

/// A numeric FileId like the service's (19 digits).
pub(crate) fn new_file_id() -> String {
    use rand::Rng;
    format!(
        "52858907{}",
        rand::rng().random_range(10_000_000_000u64..100_000_000_000)
    )
}

/// The playback URL of a media file's original.
pub(crate) fn media_url(base: &str, media: &Media) -> String {
    let name = media.media_key.rsplit('/').next().unwrap_or("f0");
    format!(
        "{base}/play/{}/media/{}",
        media.file_id,
        encoding::strict(name)
    )
}

/// The URL of a media file's cover, empty without one.
pub(crate) fn cover_url(base: &str, media: &Media) -> String {
    media.cover_key.as_ref().map_or_else(String::new, |key| {
        let name = key.rsplit('/').next().unwrap_or("cover");
        format!(
            "{base}/play/{}/cover/{}",
            media.file_id,
            encoding::strict(name)
        )
    })
}

/// The publishing page of a media file.
pub(crate) fn page_url(base: &str, file_id: &str) -> String {
    format!("{base}/wechat/{file_id}")
}

fn commit_upload(emu: &Emu, params: &Value, base: &str) -> ActionResult {
    let key = str_param(params, "VodSessionKey")
        .ok_or_else(|| err("MissingParameter", "VodSessionKey is required"))?;
    let session = emu
        .db
        .session(&key)?
        .filter(|s| s.flow == "api")
        .ok_or_else(|| {
            err(
                "InvalidParameterValue.VodSessionKey",
                "the VodSessionKey does not exist",
            )
        })?;
    match commit_session(emu, &session, "Upload")? {
        Ok(media) => Ok(json!({
            "FileId": media.file_id,
            "MediaUrl": media_url(base, &media),
            "CoverUrl": nullable(cover_url(base, &media)),
        })),
        Err(path) => Err(err(
            "ResourceNotFound",
            format!("nothing was uploaded to {path}; upload it to COS before CommitUpload"),
        )),
    }
}

/// `null` for an empty string: the service has no empty values, only absent ones.
fn nullable(value: String) -> Value {
    if value.is_empty() {
        Value::Null
    } else {
        Value::String(value)
    }
}

fn category(media_type: &str) -> &'static str {
    if AUDIO_TYPES.contains(&media_type) {
        "Audio"
    } else {
        "Video"
    }
}

#[allow(clippy::cast_precision_loss)]
fn duration_of(media: &Media) -> f64 {
    (media.size as f64 * 8.0 / SOURCE_BITRATE as f64).max(1.0)
}

fn transcode_set(base: &str, media: &Media) -> Vec<Value> {
    let duration = duration_of(media);
    let audio = category(&media.media_type) == "Audio";
    let mut set = vec![json!({
        "Url": media_url(base, media),
        "Definition": 0,
        "Bitrate": SOURCE_BITRATE,
        "Height": if audio { 0 } else { 1080 },
        "Width": if audio { 0 } else { 1920 },
        "Size": media.size,
        "Duration": duration,
        "Md5": null,
        "Container": media.media_type,
        "DigitalWatermarkType": "None",
        "VideoStreamSet": [],
        "AudioStreamSet": [],
    })];
    if audio {
        return set;
    }
    for (definition, container, bitrate, width, height) in TRANSCODES {
        let ext = if *container == "hls" { "m3u8" } else { "mp4" };
        set.push(json!({
            "Url": format!("{base}/play/{}/t{definition}/v.{ext}", media.file_id),
            "Definition": definition,
            "Bitrate": bitrate,
            "Height": height,
            "Width": width,
            "Size": media.size.saturating_mul(*bitrate) / SOURCE_BITRATE,
            "Duration": duration,
            "Md5": null,
            "Container": container,
            "DigitalWatermarkType": "None",
            "VideoStreamSet": [],
            "AudioStreamSet": [],
        }));
    }
    set
}

/// Whether a media file has an output of `definition` that WeChat can publish.
fn has_definition(media: &Media, definition: i64) -> bool {
    category(&media.media_type) == "Video" && TRANSCODES.iter().any(|t| t.0 == definition)
}

/// The finished, passed publish tasks of a media file.
pub(crate) fn published(emu: &Emu, file_id: &str) -> Result<Vec<Task>, rusqlite::Error> {
    let now = emu.now_ms();
    Ok(emu
        .db
        .publish_tasks(file_id)?
        .into_iter()
        .filter(|t| t.finish_ms.is_some_and(|f| f <= now) && t.result == "Pass")
        .collect())
}

fn media_info(emu: &Emu, base: &str, media: &Media, filters: Option<&[String]>) -> ActionResult {
    let wants = |name: &str| filters.is_none_or(|f| f.iter().any(|x| x.eq_ignore_ascii_case(name)));
    let created = iso_time(media.created);
    let mut info = json!({
        "FileId": media.file_id,
        "BasicInfo": null,
        "MetaData": null,
        "TranscodeInfo": null,
        "MiniProgramReviewInfo": null,
        "AnimatedGraphicsInfo": null,
        "SampleSnapshotInfo": null,
        "ImageSpriteInfo": null,
        "SnapshotByTimeOffsetInfo": null,
        "KeyFrameDescInfo": null,
        "AdaptiveDynamicStreamingInfo": null,
        "SubtitleInfo": null,
        "ReviewInfo": null,
    });
    if wants("basicInfo") {
        info["BasicInfo"] = json!({
            "Name": media.name,
            "Description": null,
            "CreateTime": created,
            "UpdateTime": created,
            "ExpireTime": media.expire_time.clone().unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned()),
            "ClassId": media.class_id,
            // The default class has no name or path: the service answers null for them.
            "ClassName": null,
            "ClassPath": null,
            "CoverUrl": nullable(cover_url(base, media)),
            "Type": media.media_type,
            "MediaUrl": media_url(base, media),
            "SourceInfo": {
                "SourceType": media.source_type,
                "SourceContext": media.source_context.clone(),
            },
            "StorageRegion": media.storage_region,
            "StoragePath": format!("/{}", media.media_key),
            "TagSet": [],
            "Vid": null,
            "Category": category(&media.media_type),
            "Status": media.status,
            "StorageClass": "STANDARD",
        });
    }
    if wants("metaData") {
        let audio = category(&media.media_type) == "Audio";
        let duration = duration_of(media);
        info["MetaData"] = json!({
            "Size": media.size,
            "Container": media.media_type,
            "Bitrate": SOURCE_BITRATE,
            "Height": if audio { 0 } else { 1080 },
            "Width": if audio { 0 } else { 1920 },
            "Duration": duration,
            "Rotate": 0,
            "VideoStreamSet": [],
            "AudioStreamSet": [],
            "VideoDuration": if audio { 0.0 } else { duration },
            "AudioDuration": duration,
            "Md5": null,
        });
    }
    if wants("transcodeInfo") {
        info["TranscodeInfo"] = json!({ "TranscodeSet": transcode_set(base, media) });
    }
    if wants("miniProgramReviewInfo") {
        let now = emu.now_ms();
        let list: Vec<Value> = emu
            .db
            .publish_tasks(&media.file_id)?
            .into_iter()
            .filter(|t| t.finish_ms.is_some_and(|f| f <= now))
            .map(|t| {
                let pass = t.result == "Pass";
                json!({
                    "Definition": t.definition,
                    "MetaData": null,
                    "Url": page_url(base, &media.file_id),
                    "ReviewResult": t.result,
                    "ReviewSummary": [{
                        "Type": "Porn",
                        "Suggestion": if pass { "pass" } else { "block" },
                        "Confidence": if pass { 0.0 } else { 99.0 },
                    }],
                })
            })
            .collect();
        // Never published: the service has no review information, and says null.
        if !list.is_empty() {
            info["MiniProgramReviewInfo"] = json!({ "MiniProgramReviewList": list });
        }
    }
    Ok(info)
}

fn live_media(emu: &Emu, file_id: &str) -> Result<Option<Media>, ApiErr> {
    Ok(emu.db.media(file_id)?.filter(|m| !m.deleted))
}

fn describe_media_infos(emu: &Emu, params: &Value, base: &str) -> ActionResult {
    let ids = list_param(params, "FileIds")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(err(
            "InvalidParameterValue.FileIdsEmpty",
            "FileIds must name at least one file",
        ));
    }
    if ids.len() > 20 {
        return Err(err(
            "InvalidParameterValue.FileIdsOverLimit",
            "FileIds may name at most 20 files",
        ));
    }
    let filters = list_param(params, "Filters")?;
    let mut set = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match live_media(emu, &id)? {
            Some(media) => set.push(media_info(emu, base, &media, filters.as_deref())?),
            None => missing.push(id),
        }
    }
    Ok(json!({ "MediaInfoSet": set, "NotExistFileIdSet": missing }))
}

fn search_media(emu: &Emu, params: &Value, base: &str) -> ActionResult {
    let names = list_param(params, "Names")?.unwrap_or_default();
    let statuses = list_param(params, "Status")?.unwrap_or_default();
    let categories = list_param(params, "Categories")?.unwrap_or_default();
    let file_ids = list_param(params, "FileIds")?.unwrap_or_default();
    let filters = list_param(params, "Filters")?;
    let offset = int_param(params, "Offset")?.unwrap_or(0);
    let limit = int_param(params, "Limit")?.unwrap_or(10);
    if offset < 0 || limit < 0 || offset + limit > 5000 {
        return Err(err(
            "InvalidParameterValue.Offset",
            "Offset and Limit must be non-negative and Offset + Limit at most 5000",
        ));
    }
    let descending = match params.get("Sort") {
        None | Some(Value::Null) => true,
        Some(sort) => {
            if str_param(sort, "Field").as_deref() != Some("CreateTime") {
                return Err(err(
                    "InvalidParameterValue.Sort",
                    "Sort.Field must be CreateTime",
                ));
            }
            match str_param(sort, "Order").as_deref() {
                Some("Desc") => true,
                Some("Asc") => false,
                _ => {
                    return Err(err(
                        "InvalidParameterValue.Sort",
                        "Sort.Order must be Asc or Desc",
                    ));
                }
            }
        }
    };
    let mut found: Vec<Media> = emu
        .db
        .all_media()?
        .into_iter()
        .filter(|m| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| m.name.to_lowercase().contains(&n.to_lowercase()))
        })
        .filter(|m| statuses.is_empty() || statuses.contains(&m.status))
        .filter(|m| {
            categories.is_empty() || categories.iter().any(|c| c == category(&m.media_type))
        })
        .filter(|m| file_ids.is_empty() || file_ids.contains(&m.file_id))
        .collect();
    if descending {
        found.reverse();
    }
    let total = found.len();
    let page: Vec<Value> = found
        .iter()
        .skip(usize::try_from(offset).unwrap_or_default())
        .take(usize::try_from(limit).unwrap_or_default())
        .map(|m| media_info(emu, base, m, filters.as_deref()))
        .collect::<Result<_, _>>()?;
    Ok(json!({ "TotalCount": total.min(5000), "MediaInfoSet": page }))
}

fn forbid(emu: &Emu, params: &Value) -> ActionResult {
    let ids = list_param(params, "FileIds")?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| err("MissingParameter", "FileIds is required"))?;
    if ids.len() > 20 {
        return Err(err(
            "InvalidParameterValue.FileIdsTooMany",
            "at most 20 FileIds per call",
        ));
    }
    let status = match str_param(params, "Operation").as_deref() {
        Some("forbid") => "Forbidden",
        Some("recover") => "Normal",
        _ => {
            return Err(err(
                "InvalidParameterValue.Operation",
                "Operation must be forbid or recover",
            ));
        }
    };
    let mut missing = Vec::new();
    for id in ids {
        if live_media(emu, &id)?.is_some() {
            emu.db.set_media_status(&id, status)?;
        } else {
            missing.push(id);
        }
    }
    Ok(json!({ "NotExistFileIdSet": missing }))
}

/// `ModifyMediaInfo`: the expiry only (the one field VodDesk changes); the others are
/// accepted and left as they are.
fn modify_media_info(emu: &Emu, params: &Value) -> ActionResult {
    let id =
        str_param(params, "FileId").ok_or_else(|| err("MissingParameter", "FileId is required"))?;
    if live_media(emu, &id)?.is_none() {
        return Err(err(
            "ResourceNotFound.FileNotExist",
            format!("media {id} does not exist"),
        ));
    }
    if let Some(expire) = str_param(params, "ExpireTime") {
        if chrono::DateTime::parse_from_rfc3339(&expire).is_err() {
            return Err(err(
                "InvalidParameterValue.ExpireTime",
                "ExpireTime must be ISO 8601, e.g. 2030-01-01T00:00:00Z",
            ));
        }
        emu.db.set_media_expiry(&id, &expire)?;
    }
    Ok(json!({}))
}

async fn delete_media(emu: &Emu, params: &Value) -> ActionResult {
    let id =
        str_param(params, "FileId").ok_or_else(|| err("MissingParameter", "FileId is required"))?;
    let media = live_media(emu, &id)?
        .ok_or_else(|| err("ResourceNotFound", format!("media {id} does not exist")))?;
    emu.db.mark_media_deleted(&id)?;
    for key in std::iter::once(&media.media_key).chain(media.cover_key.iter()) {
        if let Some(file) = emu.db.delete_object(key)? {
            super::files::remove_object(&emu.object_file(&file)).await;
        }
    }
    Ok(json!({}))
}

fn publish(emu: &Emu, params: &Value) -> ActionResult {
    if !emu.admit_publishing_call() {
        return Err(err(
            "RequestLimitExceeded",
            "more than the allowed requests per second on publishing actions",
        ));
    }
    let faults = emu.faults();
    if faults.unverified_account {
        return Err(err(
            "FailedOperation.NoPrivileges",
            "the account has not completed identity verification, so it may not publish to WeChat",
        ));
    }
    let id =
        str_param(params, "FileId").ok_or_else(|| err("MissingParameter", "FileId is required"))?;
    let media = match emu.db.media(&id)? {
        None => {
            return Err(err(
                "InvalidParameterValue.FileId",
                format!("FileId {id} does not exist"),
            ));
        }
        Some(media) if media.deleted => {
            return Err(err(
                "ResourceNotFound.FileNotExist",
                format!("media {id} was deleted"),
            ));
        }
        Some(media) => media,
    };
    let definition = int_param(params, "SourceDefinition")?.unwrap_or(0);
    if category(&media.media_type) == "Audio" {
        return Err(err(
            "InvalidParameterValue.FileType",
            "audio cannot be published to WeChat Mini Program",
        ));
    }
    if definition == 0 {
        if !matches!(media.media_type.as_str(), "mp4" | "3gp") {
            return Err(err(
                "InvalidParameterValue.FileType",
                "the original is not MP4/3GP; publish an MP4 transcode instead",
            ));
        }
    } else if !has_definition(&media, definition) {
        return Err(err(
            "InvalidParameterValue.SourceDefinition",
            format!("media {id} has no output of template {definition}"),
        ));
    }
    let now = emu.now_ms();
    let delay = i64::try_from(faults.review_delay.as_millis()).unwrap_or(i64::MAX / 4);
    let task = Task {
        task_id: format!(
            "{}-wechat-mini-program-publish-{}",
            emu.app_id,
            uuid::Uuid::new_v4().simple()
        ),
        kind: "WechatMiniProgramPublish".to_owned(),
        file_id: Some(id),
        definition,
        created_ms: now,
        finish_ms: Some(now + delay),
        result: if faults.reject_publish {
            "Rejected"
        } else {
            "Pass"
        }
        .to_owned(),
        err_code: 0,
        message: String::new(),
        source_url: None,
    };
    emu.db.insert_task(&task)?;
    Ok(json!({ "TaskId": task.task_id }))
}

fn iso_ms(ms: i64) -> String {
    iso_time(ms.div_euclid(1000))
}

fn describe_task(emu: &Emu, params: &Value, base: &str) -> ActionResult {
    if !emu.admit_publishing_call() {
        return Err(err(
            "RequestLimitExceeded",
            "more than the allowed requests per second on publishing actions",
        ));
    }
    let id =
        str_param(params, "TaskId").ok_or_else(|| err("MissingParameter", "TaskId is required"))?;
    let task = emu.db.task(&id)?.ok_or_else(|| {
        err(
            "InvalidParameterValue.TaskId",
            format!("task {id} does not exist"),
        )
    })?;
    let now = emu.now_ms();
    let mut answer = json!({
        "TaskType": task.kind,
        "Status": null,
        "CreateTime": iso_ms(task.created_ms),
        "BeginProcessTime": null,
        "FinishTime": null,
        "ProcedureTask": null,
        "EditMediaTask": null,
        "WechatPublishTask": null,
        "WechatMiniProgramPublishTask": null,
        "PullUploadTask": null,
    });
    if task.kind == "WechatMiniProgramPublish" {
        let finish = task.finish_ms.unwrap_or(task.created_ms);
        let begin = task.created_ms + (finish - task.created_ms) / 3;
        let status = if now >= finish {
            "FINISH"
        } else if now >= begin {
            "PROCESSING"
        } else {
            "WAITING"
        };
        answer["Status"] = json!(status);
        if status != "WAITING" {
            answer["BeginProcessTime"] = json!(iso_ms(begin));
        }
        let done = status == "FINISH";
        if done {
            answer["FinishTime"] = json!(iso_ms(finish));
        }
        answer["WechatMiniProgramPublishTask"] = json!({
            "TaskId": task.task_id,
            "Status": status,
            "ErrCode": 0,
            "Message": (done && task.result == "Rejected").then_some("the content review rejected the media"),
            "FileId": task.file_id,
            "SourceDefinition": task.definition,
            "PublishResult": done.then_some(task.result.as_str()),
        });
    } else {
        let done = task.finish_ms.is_some();
        let status = if done { "FINISH" } else { "PROCESSING" };
        answer["Status"] = json!(status);
        answer["BeginProcessTime"] = json!(iso_ms(task.created_ms));
        if let Some(finish) = task.finish_ms {
            answer["FinishTime"] = json!(iso_ms(finish));
        }
        let media = match &task.file_id {
            Some(id) if task.err_code == 0 => live_media(emu, id)?,
            _ => None,
        };
        answer["PullUploadTask"] = json!({
            "TaskId": task.task_id,
            "Status": status,
            "ErrCode": task.err_code,
            "ErrCodeExt": null,
            "Message": task.message,
            "FileId": task.file_id,
            "MediaBasicInfo": media.as_ref().map(|m| json!({
                "Name": m.name, "Type": m.media_type, "MediaUrl": media_url(base, m),
                "Category": category(&m.media_type), "Status": m.status,
                "CreateTime": iso_time(m.created),
            })),
            "MetaData": media.as_ref().map(|m| json!({ "Size": m.size, "Container": m.media_type })),
            "FileUrl": media.as_ref().map(|m| media_url(base, m)),
            "ProcedureTaskId": null,
            "ReviewAudioVideoTaskId": null,
            "SessionContext": null,
            "SessionId": null,
            "Progress": if done { 100 } else { 50 },
        });
    }
    let _ = now;
    Ok(answer)
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn pull_upload(emu: &Arc<Emu>, params: &Value, region: Option<String>) -> ActionResult {
    let raw = str_param(params, "MediaUrl")
        .ok_or_else(|| err("MissingParameter", "MediaUrl is required"))?;
    let url = reqwest::Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            err(
                "InvalidParameterValue.MediaUrl",
                "MediaUrl is not an http(s) URL",
            )
        })?;
    if !is_loopback_host(&url) {
        return Err(err(
            "InvalidParameterValue.MediaUrl",
            "the emulator only pulls from loopback addresses",
        ));
    }
    let file_name = url
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .map(|s| encoding::decode(&s))
        .unwrap_or_default();
    let (stem, ext) = file_name
        .rsplit_once('.')
        .map_or((file_name.as_str(), ""), |(s, e)| (s, e));
    let media_type = str_param(params, "MediaType")
        .unwrap_or_else(|| ext.to_owned())
        .to_lowercase();
    if !is_supported_media(&media_type) {
        return Err(err(
            "FailedOperation.MediaType",
            format!(
                "cannot tell a supported media type from the URL ({media_type:?}); pass MediaType"
            ),
        ));
    }
    let name = str_param(params, "MediaName").unwrap_or_else(|| safe_name(stem));
    let task = Task {
        task_id: format!("{}-pull-{}", emu.app_id, uuid::Uuid::new_v4().simple()),
        kind: "PullUpload".to_owned(),
        file_id: None,
        definition: 0,
        created_ms: emu.now_ms(),
        finish_ms: None,
        result: String::new(),
        err_code: 0,
        message: String::new(),
        source_url: Some(raw),
    };
    emu.db.insert_task(&task)?;
    let session = Session {
        session_key: random_token(40),
        flow: "pull".to_owned(),
        media_path: format!("{}/{}.{media_type}", storage_dir(emu), safe_name(&name)),
        media_type,
        media_name: name,
        procedure: str_param(params, "Procedure"),
        class_id: int_param(params, "ClassId")?.unwrap_or_default(),
        source_context: str_param(params, "SourceContext"),
        storage_region: str_param(params, "StorageRegion")
            .or(region)
            .unwrap_or_else(|| emu.region.clone()),
        expire_time: str_param(params, "ExpireTime"),
        created: emu.now(),
        ..Session::default()
    };
    emu.db.insert_session(&session)?;
    let emu = Arc::clone(emu);
    let task_id = task.task_id.clone();
    tokio::spawn(async move {
        let outcome = pull(&emu, url, &session).await;
        let now = emu.now_ms();
        let stored = match outcome {
            Ok(file_id) => emu.db.finish_task(&task_id, now, Some(&file_id), 0, ""),
            Err(message) => emu.db.finish_task(&task_id, now, None, 60000, &message),
        };
        if let Err(error) = stored {
            tracing::error!("emulator: cannot record the end of pull task {task_id}: {error}");
        }
    });
    Ok(json!({ "TaskId": task.task_id }))
}

async fn pull(emu: &Arc<Emu>, url: reqwest::Url, session: &Session) -> Result<String, String> {
    let response = emu
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch the source: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the source answered HTTP {}", response.status()));
    }
    let body = Body::from_stream(response.bytes_stream());
    let received = super::files::receive(emu, body, None, None)
        .await
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let key = session.media_path.trim_start_matches('/');
    super::cos::store_object(emu, key, received, "application/octet-stream")
        .await
        .map_err(|e| format!("cannot store the media: {e}"))?;
    match commit_session(emu, session, "PullUpload") {
        Ok(Ok(media)) => Ok(media.file_id),
        Ok(Err(path)) => Err(format!("the pulled object {path} vanished")),
        Err(error) => Err(error.message),
    }
}
