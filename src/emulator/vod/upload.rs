//! Uploads: `ApplyUpload` (a session and its temporary certificate), `CommitUpload` (the media
//! made from the objects in place) and `PullUpload` (the emulator fetches a URL itself).

use super::*;

pub(super) fn apply_upload(emu: &Emu, params: &Value, region: Option<String>) -> ActionResult {
    let (media_type, cover_type, expire_time) = checked_types(params)?;
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
    let storage_region = storage_region(emu, params, region)?;
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
        "StorageBucket": format!("{}-{}", crate::emulator::BUCKET_NAME, emu.app_id),
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

/// The media type, the cover type and the expiry of an `ApplyUpload`, each checked as the
/// service checks it (and the source context's length).
fn checked_types(params: &Value) -> Result<(String, Option<String>, Option<String>), ApiErr> {
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
    Ok((media_type, cover_type, expire_time))
}

/// The region an upload is stored in: the one asked for, which must be a storage region of
/// the application, else the API region the request was sent to when media can be stored
/// there, else the emulator's own.
fn storage_region(emu: &Emu, params: &Value, region: Option<String>) -> Result<String, ApiErr> {
    let wanted = str_param(params, "StorageRegion");
    if let Some(wanted) = &wanted
        && !is_storage_region(emu, wanted)
    {
        return Err(err(
            "InvalidParameterValue.StorageRegion",
            format!("StorageRegion {wanted} is not a storage region of this application"),
        ));
    }
    Ok(wanted
        .or_else(|| region.filter(|r| is_storage_region(emu, r)))
        .unwrap_or_else(|| emu.region.clone()))
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

pub(super) fn commit_upload(emu: &Emu, params: &Value, base: &str) -> ActionResult {
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

pub(super) fn is_loopback_host(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn pull_upload(emu: &Arc<Emu>, params: &Value, region: Option<String>) -> ActionResult {
    let (raw, url) = pull_url(params)?;
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

/// The `MediaUrl` of a `PullUpload`: an http(s) URL on loopback (the emulator reaches
/// nothing else).
fn pull_url(params: &Value) -> Result<(String, reqwest::Url), ApiErr> {
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
    Ok((raw, url))
}

pub(super) async fn pull(
    emu: &Arc<Emu>,
    url: reqwest::Url,
    session: &Session,
) -> Result<String, String> {
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
    let received = crate::emulator::files::receive(emu, body, None, None)
        .await
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let key = session.media_path.trim_start_matches('/');
    crate::emulator::cos::store_object(emu, key, received, "application/octet-stream")
        .await
        .map_err(|e| format!("cannot store the media: {e}"))?;
    match commit_session(emu, session, "PullUpload") {
        Ok(Ok(media)) => Ok(media.file_id),
        Ok(Err(path)) => Err(format!("the pulled object {path} vanished")),
        Err(error) => Err(error.message),
    }
}
