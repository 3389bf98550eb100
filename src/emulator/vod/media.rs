//! Media: URLs, `DescribeMediaInfos`, `SearchMedia`, `ForbidMediaDistribution`,
//! `ModifyMediaInfo` and `DeleteMedia`, answered with `null` where the service has no value.

use super::*;

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

/// `null` for an empty string: the service has no empty values, only absent ones.
pub(super) fn nullable(value: String) -> Value {
    if value.is_empty() {
        Value::Null
    } else {
        Value::String(value)
    }
}

pub(super) fn category(media_type: &str) -> &'static str {
    if AUDIO_TYPES.contains(&media_type) {
        "Audio"
    } else {
        "Video"
    }
}

#[allow(clippy::cast_precision_loss)]
pub(super) fn duration_of(media: &Media) -> f64 {
    (media.size as f64 * 8.0 / SOURCE_BITRATE as f64).max(1.0)
}

pub(super) fn transcode_set(base: &str, media: &Media) -> Vec<Value> {
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
pub(super) fn has_definition(media: &Media, definition: i64) -> bool {
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

pub(super) fn media_info(
    emu: &Emu,
    base: &str,
    media: &Media,
    filters: Option<&[String]>,
) -> ActionResult {
    let wants = |name: &str| filters.is_none_or(|f| f.iter().any(|x| x.eq_ignore_ascii_case(name)));
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
        info["BasicInfo"] = basic_info(base, media);
    }
    if wants("metaData") {
        info["MetaData"] = meta_data(media);
    }
    if wants("transcodeInfo") {
        info["TranscodeInfo"] = json!({ "TranscodeSet": transcode_set(base, media) });
    }
    if wants("miniProgramReviewInfo") {
        info["MiniProgramReviewInfo"] = review_info(emu, base, media)?;
    }
    Ok(info)
}

/// `BasicInfo` of a media file.
fn basic_info(base: &str, media: &Media) -> Value {
    let created = iso_time(media.created);
    json!({
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
    })
}

/// `MetaData` of a media file: a 1080p video, or audio without a picture.
fn meta_data(media: &Media) -> Value {
    let audio = category(&media.media_type) == "Audio";
    let duration = duration_of(media);
    json!({
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
    })
}

/// `MiniProgramReviewInfo`: the finished reviews, or null when the file was never published
/// (the service has no review information then).
fn review_info(emu: &Emu, base: &str, media: &Media) -> Result<Value, ApiErr> {
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
    Ok(if list.is_empty() {
        Value::Null
    } else {
        json!({ "MiniProgramReviewList": list })
    })
}

pub(super) fn live_media(emu: &Emu, file_id: &str) -> Result<Option<Media>, ApiErr> {
    Ok(emu.db.media(file_id)?.filter(|m| !m.deleted))
}

pub(super) fn describe_media_infos(emu: &Emu, params: &Value, base: &str) -> ActionResult {
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

pub(super) fn search_media(emu: &Emu, params: &Value, base: &str) -> ActionResult {
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

pub(super) fn forbid(emu: &Emu, params: &Value) -> ActionResult {
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
pub(super) fn modify_media_info(emu: &Emu, params: &Value) -> ActionResult {
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

pub(super) async fn delete_media(emu: &Emu, params: &Value) -> ActionResult {
    let id =
        str_param(params, "FileId").ok_or_else(|| err("MissingParameter", "FileId is required"))?;
    let media = live_media(emu, &id)?
        .ok_or_else(|| err("ResourceNotFound", format!("media {id} does not exist")))?;
    emu.db.mark_media_deleted(&id)?;
    for key in std::iter::once(&media.media_key).chain(media.cover_key.iter()) {
        if let Some(file) = emu.db.delete_object(key)? {
            crate::emulator::files::remove_object(&emu.object_file(&file)).await;
        }
    }
    Ok(json!({}))
}
