//! The publishing page (`/wechat/{FileId}`) and the unauthenticated media URLs
//! (`/play/{FileId}/media|cover|t{definition}/…`) it and the API answers point at.
//!
//! The page answers 200 with a `<video>` player once a publish review passed, 403 while the
//! media is suspended (forbidden), 410 once it is deleted, and 404 when it is unknown or not
//! published. It speaks Chinese with `?lang=zh` or an `Accept-Language` that prefers `zh`,
//! English otherwise. Media URLs serve the stored bytes with Range support (transcodes serve
//! the original's bytes), 403 while forbidden and 410 once deleted.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::Emu;
use super::vod::{media_url, published};
use crate::tencent::xml::escape;

/// The `lang` query parameter.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

fn chinese(query: &LangQuery, headers: &HeaderMap) -> bool {
    if let Some(lang) = &query.lang {
        return lang.to_ascii_lowercase().starts_with("zh");
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("zh"))
}

fn html(status: StatusCode, zh: bool, title: &str, body: &str) -> Response {
    let lang = if zh { "zh-CN" } else { "en" };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head><body style=\"font-family:sans-serif;margin:1em\">{body}</body></html>\n",
        escape(title)
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(page))
        .unwrap_or_default()
}

fn message_page(status: StatusCode, zh: bool, en_text: &str, zh_text: &str) -> Response {
    let text = if zh { zh_text } else { en_text };
    html(status, zh, text, &format!("<h1>{}</h1>", escape(text)))
}

/// `GET /wechat/{FileId}`.
pub(crate) async fn wechat_page(
    State(emu): State<Arc<Emu>>,
    Path(file_id): Path<String>,
    Query(query): Query<LangQuery>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let zh = chinese(&query, &headers);
    let not_found = || {
        message_page(
            StatusCode::NOT_FOUND,
            zh,
            "This video is not published.",
            "该视频未发布。",
        )
    };
    let media = match emu.db.media(&file_id) {
        Ok(Some(media)) => media,
        Ok(None) => return not_found(),
        Err(err) => return internal_error(zh, &err),
    };
    if media.deleted {
        return message_page(
            StatusCode::GONE,
            zh,
            "This video was deleted and is no longer available.",
            "该视频已被删除，无法再观看。",
        );
    }
    let passed = match published(&emu, &file_id) {
        Ok(tasks) => tasks,
        Err(err) => return internal_error(zh, &err),
    };
    let Some(latest) = passed.last() else {
        return not_found();
    };
    if media.status != "Normal" {
        return message_page(
            StatusCode::FORBIDDEN,
            zh,
            "This video is suspended.",
            "该视频已暂停播放。",
        );
    }
    let base = emu.base_url(&headers, &extensions);
    let src = if latest.definition == 0 {
        media_url(&base, &media)
    } else {
        format!("{base}/play/{}/t{}/v.mp4", media.file_id, latest.definition)
    };
    let (heading, note) = if zh {
        ("微信小程序发布预览", "由 VodDesk 模拟器提供")
    } else {
        (
            "WeChat Mini Program preview",
            "Served by the VodDesk emulator",
        )
    };
    let body = format!(
        "<h1>{}</h1><video controls playsinline preload=\"metadata\" style=\"max-width:100%\" src=\"{}\"></video><p>{}</p><p><small>{} · FileId {}</small></p>",
        escape(heading),
        escape(&src),
        escape(&media.name),
        escape(note),
        escape(&media.file_id)
    );
    html(StatusCode::OK, zh, &media.name, &body)
}

/// `GET /play/{FileId}/{kind}/{name}`: the bytes of a media file.
pub(crate) async fn play(
    State(emu): State<Arc<Emu>>,
    Path((file_id, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let not_found = || super::files::plain(StatusCode::NOT_FOUND, "not found");
    let media = match emu.db.media(&file_id) {
        Ok(Some(media)) => media,
        Ok(None) => return not_found(),
        Err(err) => {
            tracing::error!("emulator database: {err}");
            return super::files::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    if media.deleted {
        return super::files::plain(StatusCode::GONE, "this media was deleted");
    }
    if media.status != "Normal" {
        return super::files::plain(StatusCode::FORBIDDEN, "this media is suspended");
    }
    let kind = rest.split('/').next().unwrap_or_default();
    let key = match kind {
        "cover" => match &media.cover_key {
            Some(key) => key.clone(),
            None => return not_found(),
        },
        "media" => media.media_key.clone(),
        transcode if transcode.starts_with('t') => media.media_key.clone(),
        _ => return not_found(),
    };
    let object = match emu.db.object(&key) {
        Ok(Some(object)) => object,
        Ok(None) => return not_found(),
        Err(err) => {
            tracing::error!("emulator database: {err}");
            return super::files::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let content_type = mime_guess::from_path(&rest)
        .first_or_octet_stream()
        .to_string();
    super::files::serve_file(
        &emu.object_file(&object.file),
        object.size,
        &headers,
        &content_type,
        &[(header::ETAG, object.etag.clone())],
        false,
    )
    .await
}

/// The page for a failure of the emulator's own storage (logged, not shown).
fn internal_error(zh: bool, err: &dyn std::fmt::Display) -> Response {
    tracing::error!("emulator database: {err}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        zh,
        "Internal error.",
        "内部错误。",
    )
}
