//! The multipart operations: initiating an upload, its parts, listing them and the uploads,
//! completing (the parts linked into the object) and aborting.

use md5::{Digest, Md5};

use super::*;
use crate::tencent::crc64;

/// Most parts in one upload.
const MAX_PARTS: usize = 10_000;

/// Largest CompleteMultipartUpload body.
const MAX_COMPLETE_BODY: usize = 4 * 1024 * 1024;

pub(super) fn initiate(emu: &Emu, parts: &Parts, key: &str) -> Result<Response, CosErr> {
    let upload = Upload {
        upload_id: format!("{}{}", emu.now(), uuid::Uuid::new_v4().simple()),
        key: key.to_owned(),
        content_type: content_type(parts),
        initiated: emu.now(),
    };
    emu.db.insert_upload(&upload)?;
    let body = xml::to_document(&xml::InitiateResult {
        bucket: bucket(emu),
        key: key.to_owned(),
        upload_id: upload.upload_id,
    })
    .map_err(|_| internal())?;
    Ok(xml_response(body))
}

fn no_such_upload() -> CosErr {
    cos_err(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified multipart upload does not exist.",
    )
}

fn open_upload(emu: &Emu, key: &str, upload_id: &str) -> Result<Upload, CosErr> {
    emu.db
        .upload(upload_id)?
        .filter(|u| u.key == key)
        .ok_or_else(no_such_upload)
}

pub(super) async fn upload_part(
    emu: &Emu,
    parts: &Parts,
    key: &str,
    params: &[(String, String)],
    body: Body,
) -> Result<Response, CosErr> {
    let upload_id = param(params, "uploadId").unwrap_or_default().to_owned();
    let number = match param(params, "partNumber").map(|n| n.trim().parse::<u32>()) {
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        _ => {
            drain(emu, body, None).await;
            return Err(cos_err(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
            ));
        }
    };
    if let Err(error) = open_upload(emu, key, &upload_id) {
        drain(emu, body, None).await;
        return Err(error);
    }
    emu.count_part_request(&upload_id);
    if emu.roll(emu.faults().upload_error_rate) {
        drain(emu, body, Some(&upload_id)).await;
        return Err(internal());
    }
    let received = files::receive(emu, body, Some(&upload_id), cut_plan(emu, parts)).await?;
    check_content_md5(parts, &received)?;
    let file = format!("{upload_id}/{number}.{}", uuid::Uuid::new_v4().simple());
    let part = Part {
        number,
        file: file.clone(),
        size: received.size,
        etag: format!("\"{}\"", received.md5),
        crc: received.crc,
        modified: emu.now(),
    };
    received.keep_as(&emu.dirs.parts.join(&file)).await?;
    match emu.db.put_part(&upload_id, &part)? {
        None => {
            // Aborted while the part was arriving.
            let _ = tokio::fs::remove_file(emu.dirs.parts.join(&file)).await;
            return Err(no_such_upload());
        }
        Some(Some(old)) => {
            let _ = tokio::fs::remove_file(emu.dirs.parts.join(old)).await;
        }
        Some(None) => {}
    }
    emu.count_part_done(&upload_id);
    Ok(stored_headers(&part.etag, part.crc)
        .body(Body::empty())
        .unwrap_or_default())
}

fn url_encoded(params: &[(String, String)]) -> bool {
    param(params, "encoding-type").is_some_and(|v| v.eq_ignore_ascii_case("url"))
}

pub(super) fn list_parts(
    emu: &Emu,
    key: &str,
    upload_id: &str,
    params: &[(String, String)],
) -> Result<Response, CosErr> {
    let upload = open_upload(emu, key, upload_id)?;
    let max_parts = param(params, "max-parts")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1000)
        .clamp(1, 1000);
    let marker = param(params, "part-number-marker")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let all: Vec<Part> = emu
        .db
        .parts(upload_id)?
        .into_iter()
        .filter(|p| p.number > marker)
        .collect();
    let truncated = all.len() > max_parts;
    let page = &all[..all.len().min(max_parts)];
    let encoded = url_encoded(params);
    let shown_key = if encoded {
        encoding::key_path(&upload.key)
    } else {
        upload.key.clone()
    };
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult>");
    body.push_str(&format!(
        "<Bucket>{}</Bucket><Encoding-type>{}</Encoding-type><Key>{}</Key><UploadId>{}</UploadId>",
        bucket(emu),
        if encoded { "url" } else { "" },
        xml::escape(&shown_key),
        xml::escape(upload_id)
    ));
    body.push_str(&format!(
        "<Initiator><ID>qcs::cam::uin/{0}:uin/{0}</ID><DisplayName>{0}</DisplayName></Initiator><Owner><ID>{0}</ID><DisplayName>{0}</DisplayName></Owner>",
        emu.app_id
    ));
    body.push_str(&format!("<PartNumberMarker>{marker}</PartNumberMarker>"));
    for part in page {
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size></Part>",
            part.number,
            iso_time(part.modified).replace('Z', ".000Z"),
            xml::escape(&part.etag),
            part.size
        ));
    }
    if truncated && let Some(last) = page.last() {
        body.push_str(&format!(
            "<NextPartNumberMarker>{}</NextPartNumberMarker>",
            last.number
        ));
    }
    body.push_str(&format!(
        "<StorageClass>Standard</StorageClass><MaxParts>{max_parts}</MaxParts><IsTruncated>{truncated}</IsTruncated></ListPartsResult>"
    ));
    Ok(xml_response(body))
}

fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

/// CompleteMultipartUpload: checks the list of parts against what was stored, then answers
/// 200 at once and merges while the body keeps the connection alive, as COS does.
pub(super) async fn complete(
    emu: &Arc<Emu>,
    key: &str,
    upload_id: &str,
    body: Body,
) -> Result<Response, CosErr> {
    if let Err(error) = open_upload(emu, key, upload_id) {
        drain(emu, body, None).await;
        return Err(error);
    }
    let request = complete_request(body).await?;
    let chosen = chosen_parts(emu, upload_id, &request)?;
    // The object's CRC from the parts' CRCs: no need to read the bytes again.
    let crc = chosen
        .iter()
        .fold(0u64, |acc, p| crc64::combine(acc, p.crc, p.size));
    let etag = object_etag(&chosen);
    let size: u64 = chosen.iter().map(|p| p.size).sum();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let emu = Arc::clone(emu);
    let key = key.to_owned();
    let upload_id = upload_id.to_owned();
    tokio::spawn(async move {
        let merge = merge(&emu, &key, &upload_id, &chosen, size, crc, &etag);
        let outcome = keep_alive_until(merge, &sender).await;
        let tail = complete_tail(&emu, &key, etag, outcome);
        let _ = sender.send(Ok(bytes::Bytes::from(tail))).await;
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/xml")
        .header("x-cos-hash-crc64ecma", crc.to_string())
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
        .unwrap_or_default())
}

fn malformed() -> CosErr {
    cos_err(
        StatusCode::BAD_REQUEST,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// The Complete body: well-formed, at most 10,000 parts, numbered 1, 2, 3… in order.
async fn complete_request(body: Body) -> Result<xml::CompleteRequest, CosErr> {
    let bytes = axum::body::to_bytes(body, MAX_COMPLETE_BODY)
        .await
        .map_err(|_| {
            cos_err(
                StatusCode::BAD_REQUEST,
                "MalformedXML",
                "The CompleteMultipartUpload body is too large or broke off.",
            )
        })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
    let request: xml::CompleteRequest =
        quick_xml::de::from_str(text.trim()).map_err(|_| malformed())?;
    if request.parts.is_empty() {
        return Err(malformed());
    }
    if request.parts.len() > MAX_PARTS {
        return Err(cos_err(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "A multipart upload has at most 10000 parts.",
        ));
    }
    if request
        .parts
        .windows(2)
        .any(|w| w[1].part_number <= w[0].part_number)
    {
        return Err(cos_err(
            StatusCode::BAD_REQUEST,
            "InvalidPartOrder",
            "The list of parts was not in ascending order.",
        ));
    }
    if request
        .parts
        .iter()
        .enumerate()
        .any(|(i, p)| p.part_number as usize != i + 1)
    {
        return Err(cos_err(
            StatusCode::BAD_REQUEST,
            "InvalidPart",
            "Part numbers must be contiguous, starting at 1.",
        ));
    }
    Ok(request)
}

/// The stored parts the request names, each with the ETag it gives; every one but the last at
/// least 1 MB.
fn chosen_parts(
    emu: &Emu,
    upload_id: &str,
    request: &xml::CompleteRequest,
) -> Result<Vec<Part>, CosErr> {
    let stored = emu.db.parts(upload_id)?;
    let mut chosen = Vec::with_capacity(request.parts.len());
    for wanted in &request.parts {
        let part = stored
            .iter()
            .find(|p| p.number == wanted.part_number)
            .filter(|p| unquote(&p.etag) == unquote(&wanted.etag))
            .ok_or_else(|| {
                cos_err(
                    StatusCode::BAD_REQUEST,
                    "InvalidPart",
                    format!(
                        "Part {} was not uploaded or its ETag does not match.",
                        wanted.part_number
                    ),
                )
            })?;
        chosen.push(part.clone());
    }
    if chosen[..chosen.len() - 1]
        .iter()
        .any(|p| p.size < MIN_PART_SIZE)
    {
        return Err(cos_err(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed object size: every part but the last must be at least 1 MB.",
        ));
    }
    Ok(chosen)
}

/// A multipart object's ETag, as COS gives it: the MD5 of the parts' MD5s, then `-` and the
/// number of parts.
fn object_etag(chosen: &[Part]) -> String {
    let mut md5s = Md5::new();
    for part in chosen {
        md5s.update(hex::decode(unquote(&part.etag)).unwrap_or_default());
    }
    format!("\"{}-{}\"", hex::encode(md5s.finalize()), chosen.len())
}

/// Sends keep-alive spaces until `merge` ends, as COS does during long merges: one at once,
/// then one a second, so every client meets them, not only those of large objects.
async fn keep_alive_until(
    merge: impl std::future::Future<Output = Result<(), CosErr>>,
    sender: &tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
) -> Result<(), CosErr> {
    tokio::pin!(merge);
    let _ = sender.send(Ok(bytes::Bytes::from_static(b" "))).await;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.tick().await;
    loop {
        tokio::select! {
            outcome = &mut merge => return outcome,
            _ = ticker.tick() => {
                let _ = sender.send(Ok(bytes::Bytes::from_static(b" "))).await;
            }
        }
    }
}

/// What ends the Complete body: the result, or an `<Error>`. No XML declaration: one may only
/// open a document, and keep-alive spaces were already sent (Python's ElementTree refuses a
/// declaration after them).
fn complete_tail(emu: &Emu, key: &str, etag: String, outcome: Result<(), CosErr>) -> String {
    let tail = match outcome {
        Ok(()) => xml::to_document(&xml::CompleteResult {
            location: format!("{}.cos.{}.myqcloud.com/{key}", bucket(emu), emu.region),
            bucket: bucket(emu),
            key: key.to_owned(),
            etag,
        })
        .unwrap_or_default(),
        Err(error) => error_xml(&error, &format!("/{key}"), &request_id()),
    };
    match tail.split_once("?>") {
        Some((declaration, rest)) if declaration.starts_with("<?xml") => {
            rest.trim_start().to_owned()
        }
        _ => tail,
    }
}

async fn merge(
    emu: &Emu,
    key: &str,
    upload_id: &str,
    chosen: &[Part],
    size: u64,
    crc: u64,
    etag: &str,
) -> Result<(), CosErr> {
    let upload = emu.db.upload(upload_id)?.ok_or_else(no_such_upload)?;
    let file = uuid::Uuid::new_v4().simple().to_string();
    let sources: Vec<_> = chosen
        .iter()
        .map(|p| emu.dirs.parts.join(&p.file))
        .collect();
    files::link_parts(&emu.dirs.tmp, &sources, &emu.object_file(&file)).await?;
    let object = Object {
        key: key.to_owned(),
        file,
        size,
        etag: etag.to_owned(),
        crc,
        content_type: upload.content_type,
        modified: emu.now(),
    };
    if let Some(old) = emu.db.put_object(&object)? {
        files::remove_object(&emu.object_file(&old)).await;
    }
    for part_file in emu.db.delete_upload(upload_id)? {
        let _ = tokio::fs::remove_file(emu.dirs.parts.join(part_file)).await;
    }
    let _ = tokio::fs::remove_dir(emu.dirs.parts.join(upload_id)).await;
    Ok(())
}

pub(super) async fn abort(emu: &Emu, key: &str, upload_id: &str) -> Result<Response, CosErr> {
    open_upload(emu, key, upload_id)?;
    for file in emu.db.delete_upload(upload_id)? {
        let _ = tokio::fs::remove_file(emu.dirs.parts.join(file)).await;
    }
    let _ = tokio::fs::remove_dir(emu.dirs.parts.join(upload_id)).await;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default())
}

pub(super) fn list_uploads(emu: &Emu, params: &[(String, String)]) -> Result<Response, CosErr> {
    let prefix = param(params, "prefix").unwrap_or_default();
    let max = param(params, "max-uploads")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1000)
        .clamp(1, 1000);
    let key_marker = param(params, "key-marker").unwrap_or_default();
    let id_marker = param(params, "upload-id-marker").unwrap_or_default();
    let all: Vec<Upload> = emu
        .db
        .uploads(prefix)?
        .into_iter()
        .filter(|u| {
            key_marker.is_empty()
                || u.key.as_str() > key_marker
                || (u.key == key_marker
                    && !id_marker.is_empty()
                    && u.upload_id.as_str() > id_marker)
        })
        .collect();
    let truncated = all.len() > max;
    let page = &all[..all.len().min(max)];
    let encoded = url_encoded(params);
    let enc = |text: &str| {
        if encoded {
            encoding::key_path(text)
        } else {
            text.to_owned()
        }
    };
    let mut body =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult>");
    body.push_str(&format!(
        "<Bucket>{}</Bucket><Encoding-Type>{}</Encoding-Type><KeyMarker>{}</KeyMarker><UploadIdMarker>{}</UploadIdMarker>",
        bucket(emu),
        if encoded { "url" } else { "" },
        xml::escape(&enc(key_marker)),
        xml::escape(id_marker)
    ));
    if truncated && let Some(last) = page.last() {
        body.push_str(&format!(
            "<NextKeyMarker>{}</NextKeyMarker><NextUploadIdMarker>{}</NextUploadIdMarker>",
            xml::escape(&enc(&last.key)),
            xml::escape(&last.upload_id)
        ));
    }
    body.push_str(&format!(
        "<Prefix>{}</Prefix><MaxUploads>{max}</MaxUploads><IsTruncated>{truncated}</IsTruncated>",
        xml::escape(&enc(prefix))
    ));
    for upload in page {
        body.push_str(&format!(
            "<Upload><Key>{}</Key><UploadId>{}</UploadId><StorageClass>STANDARD</StorageClass><Initiator><ID>{2}</ID><DisplayName>{2}</DisplayName></Initiator><Owner><ID>{2}</ID><DisplayName>{2}</DisplayName></Owner><Initiated>{3}</Initiated></Upload>",
            xml::escape(&enc(&upload.key)),
            xml::escape(&upload.upload_id),
            emu.app_id,
            iso_time(upload.initiated).replace('Z', ".000Z"),
        ));
    }
    body.push_str("</ListMultipartUploadsResult>");
    Ok(xml_response(body))
}
