//! WeCom (WeChat Work) `gettoken`, `media/upload` and `media/get` under `/cgi-bin/`.
//!
//! Answers are HTTP 200 JSON with `errcode`/`errmsg` (media/get answers the file itself on
//! success). Limits, checked after the token: every file > 5 bytes (0 bytes → 44001, 1–5 →
//! 40006); image JPG/PNG (else 40004) ≤ 2 MB (else 40009; the service's documents disagree
//! between 2 and 10 MB, the emulator takes the stricter); voice AMR ≤ 2 MB; video MP4 ≤ 10 MB;
//! file ≤ 20 MB (else 45001; wrong format 40004). Types are judged by the file name's extension,
//! falling back to the content's magic bytes when the name has none. MB = 1,048,576 bytes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::state::WeComMedia;
use super::{Emu, random_token};
use crate::tencent::encoding;

const MB: usize = 1024 * 1024;
/// The most a media/upload body may carry (the 20 MB file limit plus multipart framing).
const MAX_BODY: usize = 20 * MB + 64 * 1024;

fn reply(body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn error(code: i64, message: &str) -> Response {
    reply(&json!({ "errcode": code, "errmsg": message }))
}

/// Handles one WeCom request.
pub(crate) async fn handle(State(emu): State<Arc<Emu>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path()
        .trim_start_matches("/cgi-bin/")
        .trim_end_matches('/')
        .to_owned();
    let params = encoding::parse_query(parts.uri.query().unwrap_or_default());
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    emu.count_action(&path);
    match path.as_str() {
        "gettoken" => gettoken(&emu, param("corpid"), param("corpsecret")),
        "media/upload" => {
            // Read the body first so the answer reaches a client that is still sending.
            let (bytes, oversize) = read_capped(body, emu.faults().bandwidth).await;
            if parts.method != Method::POST {
                return error(43_002, "require POST method");
            }
            if let Err(response) = check_token(&emu, param("access_token")) {
                return *response;
            }
            upload(&emu, param("type"), &parts.headers, &bytes, oversize).await
        }
        "media/get" => {
            if let Err(response) = check_token(&emu, param("access_token")) {
                return *response;
            }
            get(&emu, param("media_id"), &parts.headers).await
        }
        _ => error(
            40_058,
            &format!("invalid parameter: unknown API cgi-bin/{path}"),
        ),
    }
}

fn gettoken(emu: &Emu, corp_id: Option<String>, secret: Option<String>) -> Response {
    let Some(corp_id) = corp_id else {
        return error(41_002, "corpid missing");
    };
    let Some(secret) = secret else {
        return error(41_004, "corpsecret missing");
    };
    if corp_id != emu.wecom_corp_id {
        return error(40_013, "invalid corpid");
    }
    if secret != emu.wecom_secret {
        return error(
            40_001,
            "invalid credential, access_token is invalid or not latest",
        );
    }
    let now = emu.now();
    let result = match emu.db.live_wecom_token(now) {
        Ok(Some(existing)) => Ok(existing),
        Ok(None) => {
            let lifetime =
                i64::try_from(emu.faults().wecom_token_lifetime.as_secs()).unwrap_or(7200);
            let token = random_token(128);
            emu.db
                .insert_wecom_token(&token, now + lifetime)
                .map(|()| (token, now + lifetime))
        }
        Err(err) => Err(err),
    };
    match result {
        Ok((token, expires)) => reply(&json!({
            "errcode": 0,
            "errmsg": "ok",
            "access_token": token,
            "expires_in": (expires - now).max(0),
        })),
        Err(err) => {
            tracing::error!("emulator database: {err}");
            error(-1, "system busy")
        }
    }
}

fn check_token(emu: &Emu, token: Option<String>) -> Result<(), Box<Response>> {
    let Some(token) = token else {
        return Err(Box::new(error(41_001, "access_token missing")));
    };
    match emu.db.wecom_token(&token) {
        Ok(None) => Err(Box::new(error(40_014, "invalid access_token"))),
        Ok(Some(expires)) if expires <= emu.now() => {
            Err(Box::new(error(42_001, "access_token expired")))
        }
        Ok(Some(_)) => Ok(()),
        Err(err) => {
            tracing::error!("emulator database: {err}");
            Err(Box::new(error(-1, "system busy")))
        }
    }
}

/// Reads at most [`MAX_BODY`] bytes and discards the rest; the flag says whether there was more.
/// The bandwidth fault (bytes per second) holds reading back as it does for COS bodies.
async fn read_capped(body: Body, bandwidth: Option<u64>) -> (Vec<u8>, bool) {
    let started = std::time::Instant::now();
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut read = 0u64;
    let mut oversize = false;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len() as u64;
        if kept.len() + chunk.len() > MAX_BODY {
            oversize = true;
        } else {
            kept.extend_from_slice(&chunk);
        }
        if let Some(rate) = bandwidth.filter(|rate| *rate > 0) {
            #[allow(clippy::cast_precision_loss)]
            let due = std::time::Duration::from_secs_f64(read as f64 / rate as f64);
            let elapsed = started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    }
    (kept, oversize)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| haystack[i..].starts_with(needle))
}

/// The `media` field of a multipart body: `(filename, bytes)`.
fn media_part<'a>(headers: &HeaderMap, body: &'a [u8]) -> Option<(String, &'a [u8])> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut at = find(body, delimiter.as_bytes(), 0)?;
    loop {
        let start = at + delimiter.len();
        if body[start..].starts_with(b"--") {
            return None;
        }
        let headers_end = find(body, b"\r\n\r\n", start)?;
        let head = String::from_utf8_lossy(&body[start..headers_end]).into_owned();
        let data_start = headers_end + 4;
        let next = find(body, format!("\r\n{delimiter}").as_bytes(), data_start)?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default()
            .to_owned();
        let field = |name: &str| {
            disposition.split(';').find_map(|p| {
                let p = p.trim();
                p.strip_prefix(&format!("{name}="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some("media") {
            return Some((
                field("filename").unwrap_or_default(),
                &body[data_start..next],
            ));
        }
        at = next + 2;
    }
}

fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn looks_like(kind: &str, bytes: &[u8]) -> bool {
    match kind {
        "jpg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "png" => bytes.starts_with(b"\x89PNG"),
        "amr" => bytes.starts_with(b"#!AMR"),
        "mp4" => bytes.len() > 8 && &bytes[4..8] == b"ftyp",
        _ => false,
    }
}

/// The WeCom rule a file of `media_type` breaks, with its errcode: its format (by extension,
/// or by its first bytes without one) and its size.
fn broken_rule(media_type: &str, filename: &str, data: &[u8]) -> Option<(i64, &'static str)> {
    let ext = extension(filename);
    let format_ok = |names: &[&str], magic: &str| {
        if ext.is_empty() {
            looks_like(magic, data)
        } else {
            names.contains(&ext.as_str())
        }
    };
    match media_type {
        "image" if !(format_ok(&["jpg", "jpeg"], "jpg") || format_ok(&["png"], "png")) => {
            Some((40_004, "invalid media type: images must be JPG or PNG"))
        }
        "image" if data.len() > 2 * MB => Some((40_009, "invalid image size: at most 2 MB")),
        "voice" if !format_ok(&["amr"], "amr") => {
            Some((40_004, "invalid media type: voice must be AMR"))
        }
        "voice" if data.len() > 2 * MB => {
            Some((45_001, "media size out of limit: voice at most 2 MB"))
        }
        "video" if !format_ok(&["mp4"], "mp4") => {
            Some((40_004, "invalid media type: video must be MP4"))
        }
        "video" if data.len() > 10 * MB => {
            Some((45_001, "media size out of limit: video at most 10 MB"))
        }
        "file" if data.len() > 20 * MB => {
            Some((45_001, "media size out of limit: file at most 20 MB"))
        }
        _ => None,
    }
}

async fn upload(
    emu: &Emu,
    media_type: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
    oversize: bool,
) -> Response {
    let media_type = media_type.unwrap_or_default();
    if !matches!(media_type.as_str(), "image" | "voice" | "video" | "file") {
        return error(
            40_005,
            "invalid media type: use image, voice, video or file",
        );
    }
    if oversize {
        return if media_type == "image" {
            error(40_009, "invalid image size")
        } else {
            error(45_001, "media size out of limit")
        };
    }
    let Some((filename, data)) = media_part(headers, body) else {
        return error(44_001, "empty media data: no multipart field named media");
    };
    if data.is_empty() {
        return error(44_001, "empty media data");
    }
    if data.len() <= 5 {
        return error(
            40_006,
            "invalid file size: a file must be larger than 5 bytes",
        );
    }
    if let Some((code, message)) = broken_rule(&media_type, &filename, data) {
        return error(code, message);
    }
    let media_id = format!("3{}", random_token(63));
    let path = emu.dirs.wecom.join(&media_id);
    if let Err(err) = tokio::fs::write(&path, data).await {
        tracing::error!("emulator storage: {err}");
        return error(-1, "system busy");
    }
    let created = emu.now();
    let filename = if filename.is_empty() {
        format!("{media_id}.bin")
    } else {
        filename
    };
    let stored = emu.db.insert_wecom_media(&WeComMedia {
        media_id: media_id.clone(),
        media_type: media_type.clone(),
        file: media_id.clone(),
        filename,
        size: data.len() as u64,
        created,
    });
    if let Err(err) = stored {
        tracing::error!("emulator database: {err}");
        return error(-1, "system busy");
    }
    reply(&json!({
        "errcode": 0,
        "errmsg": "",
        "type": media_type,
        "media_id": media_id,
        "created_at": created.to_string(),
    }))
}

async fn get(emu: &Emu, media_id: Option<String>, headers: &HeaderMap) -> Response {
    let Some(media_id) = media_id else {
        return error(41_006, "media_id missing");
    };
    let lifetime =
        i64::try_from(emu.faults().wecom_media_lifetime.as_secs()).unwrap_or(i64::MAX / 4);
    let media = match emu.db.wecom_media(&media_id) {
        Ok(Some(media)) if media.created + lifetime > emu.now() => media,
        Ok(_) => return error(40_007, "invalid media_id"),
        Err(err) => {
            tracing::error!("emulator database: {err}");
            return error(-1, "system busy");
        }
    };
    let content_type = mime_guess::from_path(&media.filename)
        .first_or_octet_stream()
        .to_string();
    let disposition = format!(
        "attachment; filename=\"{}\"",
        media.filename.replace(['"', '\\', '\r', '\n'], "_")
    );
    let extra = [
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::CACHE_CONTROL,
            "no-cache, must-revalidate".to_owned(),
        ),
    ];
    super::files::serve_file(
        &emu.dirs.wecom.join(&media.file),
        media.size,
        headers,
        &content_type,
        &extra,
        false,
    )
    .await
}
