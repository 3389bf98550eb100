//! The client-upload API (`POST /v3/index.php?Action=ApplyUploadUGC|CommitUploadUGC`), as
//! vod-js-sdk-v6 and the mobile SDKs call it.
//!
//! Answers are HTTP 200 with `{"code": 0, "message": "成功", "data": …}`, or a non-zero `code`
//! with a `message`. The service's code table is not published except 10010; the emulator uses:
//!
//! | code | meaning |
//! |---|---|
//! | 10000 | unknown `Action` |
//! | 10001 | malformed request (not JSON, not POST, a required field missing) |
//! | 10005 | the signature is not valid (not decodable, unknown secretId, wrong MAC) |
//! | 10009 | unknown `vodSessionKey` |
//! | 10010 | the signature expired |
//! | 10011 | a one-time signature (`oneTimeValid=1`) was already used |
//! | 10012 | the signature is valid for longer than 90 days |
//! | 10013 | unsupported media or cover type |
//! | 10014 | commit before the media (or cover) was uploaded |
//! | 10015 | the storage region asked for is not one of the application's |
//!
//! A one-time signature is consumed by the ApplyUploadUGC that opens a session; the same
//! signature still works for that session's renewal and commit, never for another session.
//! Renewal (`{signature, vodSessionKey}`) returns the same storage paths with a fresh
//! certificate; older certificates stay valid until they expire.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::state::Session;
use super::vod::{
    COVER_TYPES, commit_session, cover_url, is_storage_region, is_supported_media, issue_cert,
    media_url, storage_dir,
};
use super::{Emu, random_token};
use crate::tencent::{encoding, ugc_sign};

/// Largest accepted request body.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug)]
struct UgcErr {
    code: i64,
    message: String,
}

fn fail(code: i64, message: impl Into<String>) -> UgcErr {
    UgcErr {
        code,
        message: message.into(),
    }
}

impl From<rusqlite::Error> for UgcErr {
    fn from(error: rusqlite::Error) -> Self {
        tracing::error!("emulator database: {error}");
        fail(500, "internal error; retry")
    }
}

impl From<super::vod::ApiErr> for UgcErr {
    fn from(_: super::vod::ApiErr) -> Self {
        fail(500, "internal error; retry")
    }
}

fn answer(body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// Handles one client-upload request.
pub(crate) async fn handle(
    axum::extract::State(emu): axum::extract::State<Arc<Emu>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let params = encoding::parse_query(parts.uri.query().unwrap_or_default());
    let action = params
        .iter()
        .find(|(n, _)| n == "Action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let base = emu.base_url(&parts.headers, &parts.extensions);
    let host = base
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_owned();
    let result = async {
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| fail(10001, "the request body is larger than 64 KiB or broke off"))?;
        if parts.method != Method::POST {
            return Err(fail(10001, "use POST with a JSON body"));
        }
        let request: Value = serde_json::from_slice(&bytes)
            .map_err(|e| fail(10001, format!("the body is not valid JSON: {e}")))?;
        if !request.is_object() {
            return Err(fail(10001, "the body must be a JSON object"));
        }
        match action.as_str() {
            "ApplyUploadUGC" => {
                emu.count_action("ApplyUploadUGC");
                apply(&emu, &request, &host)
            }
            "CommitUploadUGC" => {
                emu.count_action("CommitUploadUGC");
                commit(&emu, &request, &base)
            }
            other => Err(fail(10000, format!("unknown Action {other:?}"))),
        }
    }
    .await;
    match result {
        Ok(data) => answer(&json!({ "code": 0, "message": "成功", "data": data })),
        Err(error) => answer(&json!({ "code": error.code, "message": error.message })),
    }
}

fn field(request: &Value, name: &str) -> Option<String> {
    match request.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decodes and checks a signature: MAC with the configured key, expiry, 90-day cap.
fn check_signature(emu: &Emu, request: &Value) -> Result<ugc_sign::DecodedSignature, UgcErr> {
    let signature =
        field(request, "signature").ok_or_else(|| fail(10001, "signature is required"))?;
    let decoded =
        ugc_sign::decode(&signature).map_err(|e| fail(10005, format!("invalid signature: {e}")))?;
    // The MAC is checked by the emulator's own code, not the client's `verify`.
    if decoded.params.secret_id != emu.secret_id
        || !super::signature::upload_signature_verify(
            &emu.secret_key,
            decoded.original.as_bytes(),
            &decoded.mac,
        )
    {
        return Err(fail(
            10005,
            "invalid signature: it was not made with this account's key",
        ));
    }
    if decoded.params.expire_time <= emu.now() {
        return Err(fail(10010, "the upload signature has expired"));
    }
    if decoded.params.expire_time - decoded.params.current_time > ugc_sign::MAX_VALIDITY_SECONDS {
        return Err(fail(
            10012,
            "the upload signature is valid for longer than 90 days",
        ));
    }
    Ok(decoded)
}

fn mac_of(decoded: &ugc_sign::DecodedSignature) -> String {
    hex::encode(decoded.mac)
}

fn apply(emu: &Emu, request: &Value, host: &str) -> Result<Value, UgcErr> {
    let signature = check_signature(emu, request)?;
    let mac = mac_of(&signature);
    let session = if let Some(key) = field(request, "vodSessionKey") {
        let session = emu
            .db
            .session(&key)?
            .filter(|s| s.flow == "ugc")
            .ok_or_else(|| fail(10009, "the vodSessionKey does not exist"))?;
        if signature.params.one_time_valid && !emu.db.use_signature(&mac, &key, emu.now())? {
            return Err(fail(10011, "this one-time signature was already used"));
        }
        session
    } else {
        if signature.params.one_time_valid && emu.db.signature_used(&mac)?.is_some() {
            return Err(fail(10011, "this one-time signature was already used"));
        }
        let session = new_session(emu, request, &signature)?;
        emu.db.insert_session(&session)?;
        if signature.params.one_time_valid
            && !emu
                .db
                .use_signature(&mac, &session.session_key, emu.now())?
        {
            return Err(fail(10011, "this one-time signature was already used"));
        }
        session
    };
    let cert = issue_cert(emu, &session.session_key)?;
    let mut data = json!({
        "video": {
            "storageSignature": random_token(40),
            "storagePath": session.media_path,
        },
        "storageAppId": emu.app_id,
        "storageBucket": super::BUCKET_NAME,
        "storageRegion": short_region(&session.storage_region),
        "storageRegionV5": session.storage_region,
        "StorageRegionV5": session.storage_region,
        "domain": host,
        "vodSessionKey": session.session_key,
        "tempCertificate": {
            "secretId": cert.secret_id,
            "secretKey": cert.secret_key,
            "token": cert.token,
            "expiredTime": cert.expires,
        },
        "appId": emu.app_id,
        "timestamp": emu.now(),
        // Null without a cover, and acceleration off, as the service answers.
        "cover": null,
        "cosAcc": null,
    });
    if let Some(cover) = &session.cover_path {
        data["cover"] = json!({ "storageSignature": random_token(40), "storagePath": cover });
    }
    Ok(data)
}

/// The old short region names (`gz`, `cq`, …) the UGC API still reports beside the V5 ones.
fn short_region(region: &str) -> &'static str {
    match region {
        "ap-chongqing" => "cq",
        "ap-shanghai" => "sh",
        "ap-beijing" => "bj",
        "ap-chengdu" => "cd",
        "ap-hongkong" => "hk",
        "ap-singapore" => "sg",
        _ => "gz",
    }
}

fn new_session(
    emu: &Emu,
    request: &Value,
    signature: &ugc_sign::DecodedSignature,
) -> Result<Session, UgcErr> {
    let media_type = field(request, "videoType")
        .ok_or_else(|| fail(10001, "videoType is required"))?
        .to_lowercase();
    if !is_supported_media(&media_type) {
        return Err(fail(
            10013,
            format!("media type {media_type} is not supported"),
        ));
    }
    let cover_type = field(request, "coverType").map(|t| t.to_lowercase());
    if let Some(cover) = &cover_type
        && !COVER_TYPES.contains(&cover.as_str())
    {
        return Err(fail(10013, format!("cover type {cover} is not supported")));
    }
    let name = field(request, "videoName").unwrap_or_else(|| "f0".to_owned());
    let dir = storage_dir(emu);
    let file_name: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(100)
        .collect();
    let params = &signature.params;
    let storage_region = params
        .storage_region
        .clone()
        .or_else(|| field(request, "storageRegion"));
    if let Some(region) = &storage_region
        && !is_storage_region(emu, region)
    {
        return Err(fail(
            10015,
            format!("storage region {region} is not a storage region of this application"),
        ));
    }
    Ok(Session {
        session_key: random_token(40),
        flow: "ugc".to_owned(),
        media_path: format!("{dir}/{file_name}.{media_type}"),
        media_type,
        media_name: name,
        cover_path: cover_type.as_ref().map(|c| format!("{dir}/cover.{c}")),
        cover_type,
        procedure: params.procedure.clone(),
        class_id: params.class_id.unwrap_or_default(),
        source_context: params.source_context.clone(),
        storage_region: storage_region.unwrap_or_else(|| emu.region.clone()),
        expire_time: None,
        file_id: None,
        created: emu.now(),
    })
}

fn commit(emu: &Emu, request: &Value, base: &str) -> Result<Value, UgcErr> {
    let signature = check_signature(emu, request)?;
    let key =
        field(request, "vodSessionKey").ok_or_else(|| fail(10001, "vodSessionKey is required"))?;
    let session = emu
        .db
        .session(&key)?
        .filter(|s| s.flow == "ugc")
        .ok_or_else(|| fail(10009, "the vodSessionKey does not exist"))?;
    if signature.params.one_time_valid
        && !emu.db.use_signature(&mac_of(&signature), &key, emu.now())?
    {
        return Err(fail(10011, "this one-time signature was already used"));
    }
    let media = match commit_session(emu, &session, "ClientUpload")? {
        Ok(media) => media,
        Err(path) => {
            return Err(fail(
                10014,
                format!("nothing was uploaded to {path}; upload it to COS before committing"),
            ));
        }
    };
    let mut data = json!({
        "fileId": media.file_id,
        "video": { "url": media_url(base, &media), "verify_content": null },
        "cover": null,
    });
    if media.cover_key.is_some() {
        data["cover"] = json!({ "url": cover_url(base, &media) });
    }
    Ok(data)
}
