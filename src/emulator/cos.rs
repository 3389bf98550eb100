//! COS XML object operations, path-style under the emulator's base (`/{key}`), as the COS SDK
//! sends them with `Domain=host:port` and VodDesk's client with `VODDESK_COS_ENDPOINT`.
//!
//! Authentication (every answer is an `<Error>` document with these codes):
//!
//! | condition | answer |
//! |---|---|
//! | no `Authorization`, or one that cannot be read | 403 `AccessDenied` |
//! | unknown `q-ak` | 403 `InvalidAccessKeyId` |
//! | temporary certificate without its `x-cos-security-token`, or with another one | 403 `InvalidAccessKeyId` |
//! | temporary certificate past its expiry | 403 `AccessDenied` "Request has expired …" |
//! | `q-sign-time`/`q-key-time` already ended | 403 `AccessDenied` "Request has expired" |
//! | `q-sign-time` starting more than 5 minutes in the future | 403 `RequestTimeTooSkewed` |
//! | signature mismatch | 403 `SignatureDoesNotMatch` |
//!
//! The signature is recomputed over the parameters and headers the request lists, with their
//! actual values; `host` is accepted signed with or without the port. The account's permanent
//! key is accepted too (no token needed), as COS accepts a root key.
//!
//! Every answer carries `x-cos-request-id`. Bodies are streamed to disk.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::Response;
use futures_util::StreamExt;
use md5::{Digest, Md5};

use super::files::{self, CutPlan, Received};
use super::state::{Object, Part, Upload};
use super::{ConnCut, Emu, http_date, iso_time, request_id};
use crate::tencent::{cos_sign, crc64, encoding, xml};

/// Smallest part size except the last.
const MIN_PART_SIZE: u64 = 1024 * 1024;
/// Most parts in one upload.
const MAX_PARTS: usize = 10_000;
/// Largest CompleteMultipartUpload body.
const MAX_COMPLETE_BODY: usize = 4 * 1024 * 1024;
/// Clock window for signatures that start in the future.
const MAX_SKEW_SECONDS: i64 = 300;

/// A COS error answer.
#[derive(Debug)]
pub(crate) struct CosErr {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn cos_err(status: StatusCode, code: &'static str, message: impl Into<String>) -> CosErr {
    CosErr {
        status,
        code,
        message: message.into(),
    }
}

impl From<rusqlite::Error> for CosErr {
    fn from(error: rusqlite::Error) -> Self {
        tracing::error!("emulator database: {error}");
        internal()
    }
}

impl From<std::io::Error> for CosErr {
    fn from(error: std::io::Error) -> Self {
        tracing::error!("emulator storage: {error}");
        internal()
    }
}

impl From<files::ReceiveError> for CosErr {
    fn from(error: files::ReceiveError) -> Self {
        match error {
            files::ReceiveError::Body(detail) => cos_err(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                format!("the request body broke off: {detail}"),
            ),
            files::ReceiveError::Io(error) => error.into(),
        }
    }
}

fn internal() -> CosErr {
    cos_err(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

fn error_xml(error: &CosErr, resource: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId><TraceId>{}</TraceId></Error>",
        error.code,
        xml::escape(&error.message),
        xml::escape(resource),
        request_id,
        request_id,
    )
}

fn error_response(error: &CosErr, resource: &str, request_id: &str, head: bool) -> Response {
    let body = if head {
        Body::empty()
    } else {
        Body::from(error_xml(error, resource, request_id))
    };
    Response::builder()
        .status(error.status)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(body)
        .unwrap_or_default()
}

fn xml_response(body: String) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn bucket(emu: &Emu) -> String {
    format!("{}-{}", super::BUCKET_NAME, emu.app_id)
}

/// Which operation a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    PutObject,
    Initiate,
    UploadPart,
    ListParts,
    Complete,
    Abort,
    ListUploads,
    Get,
    Head,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::PutObject => "PutObject",
            Self::Initiate => "InitiateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::ListParts => "ListParts",
            Self::Complete => "CompleteMultipartUpload",
            Self::Abort => "AbortMultipartUpload",
            Self::ListUploads => "ListMultipartUploads",
            Self::Get => "GetObject",
            Self::Head => "HeadObject",
            Self::Delete => "DeleteObject",
        }
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn classify(method: &Method, key: &str, params: &[(String, String)]) -> Option<Op> {
    let has = |name: &str| param(params, name).is_some();
    if key.is_empty() {
        return (*method == Method::GET && has("uploads")).then_some(Op::ListUploads);
    }
    match *method {
        Method::PUT if has("partNumber") && has("uploadId") => Some(Op::UploadPart),
        Method::PUT => Some(Op::PutObject),
        Method::POST if has("uploads") => Some(Op::Initiate),
        Method::POST if has("uploadId") => Some(Op::Complete),
        Method::GET if has("uploadId") => Some(Op::ListParts),
        Method::GET => Some(Op::Get),
        Method::HEAD => Some(Op::Head),
        Method::DELETE if has("uploadId") => Some(Op::Abort),
        Method::DELETE => Some(Op::Delete),
        _ => None,
    }
}

/// Handles one COS request.
pub(crate) async fn handle(emu: Arc<Emu>, request: Request) -> Response {
    let request_id = request_id();
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let key = encoding::decode(raw_path.strip_prefix('/').unwrap_or(&raw_path));
    let params = encoding::parse_query(parts.uri.query().unwrap_or_default());
    let head = parts.method == Method::HEAD;
    let mut response = match classify(&parts.method, &key, &params) {
        None => {
            drain(&emu, body, None).await;
            error_response(
                &cos_err(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "The specified method is not allowed against this resource.",
                ),
                &raw_path,
                &request_id,
                head,
            )
        }
        Some(op) => {
            emu.count_action(op.name());
            match run(&emu, op, &parts, &key, &params, body).await {
                Ok(response) => response,
                Err(error) => error_response(&error, &raw_path, &request_id, head),
            }
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-cos-request-id", value);
    }
    headers.insert(header::SERVER, HeaderValue::from_static("tencent-cos"));
    response
}

/// Reads and discards a body the answer does not need, so the client can read the answer
/// instead of hitting a reset connection while it is still sending.
async fn drain(emu: &Emu, body: Body, upload_id: Option<&str>) {
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        emu.count_bytes(upload_id, chunk.len() as u64);
    }
}

async fn run(
    emu: &Arc<Emu>,
    op: Op,
    parts: &Parts,
    key: &str,
    params: &[(String, String)],
    body: Body,
) -> Result<Response, CosErr> {
    let upload_id = param(params, "uploadId").map(str::to_owned);
    if let Err(error) = verify(emu, parts, key, params) {
        drain(emu, body, None).await;
        return Err(error);
    }
    match op {
        Op::PutObject => put_object(emu, parts, key, body).await,
        Op::UploadPart => upload_part(emu, parts, key, params, body).await,
        Op::Initiate => {
            drain(emu, body, None).await;
            initiate(emu, parts, key)
        }
        Op::Complete => complete(emu, key, upload_id.as_deref().unwrap_or_default(), body).await,
        Op::ListParts => list_parts(emu, key, upload_id.as_deref().unwrap_or_default(), params),
        Op::Abort => abort(emu, key, upload_id.as_deref().unwrap_or_default()).await,
        Op::ListUploads => list_uploads(emu, params),
        Op::Get | Op::Head => get_object(emu, parts, key, op == Op::Head).await,
        Op::Delete => {
            if let Some(file) = emu.db.delete_object(key)? {
                files::remove_object(&emu.object_file(&file)).await;
            }
            Ok(Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .unwrap_or_default())
        }
    }
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn verify(emu: &Emu, parts: &Parts, key: &str, params: &[(String, String)]) -> Result<(), CosErr> {
    let denied = |message: &str| cos_err(StatusCode::FORBIDDEN, "AccessDenied", message);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| denied("Access Denied. The request carries no Authorization."))?;
    let parsed = cos_sign::parse_authorization(authorization)
        .map_err(|e| denied(&format!("Access Denied. {e}")))?;
    let now = emu.now();
    let secret_key = if parsed.secret_id == emu.secret_id {
        emu.secret_key.clone()
    } else {
        let cert = emu.db.cert(&parsed.secret_id)?.ok_or_else(|| {
            cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The Access Key Id you provided does not exist in our records.",
            )
        })?;
        let token = parts
            .headers
            .get("x-cos-security-token")
            .and_then(|v| v.to_str().ok());
        if token != Some(cert.token.as_str()) {
            return Err(cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The x-cos-security-token is missing or does not belong to this temporary SecretId.",
            ));
        }
        if cert.expires <= now {
            return Err(denied(
                "Request has expired: the temporary certificate ran out; apply for a new one.",
            ));
        }
        cert.secret_key
    };
    if parsed.sign_time.end < now || parsed.key_time.end < now {
        return Err(denied("Request has expired"));
    }
    if parsed.sign_time.start > now + MAX_SKEW_SECONDS {
        return Err(cos_err(
            StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        ));
    }
    let mismatch = || {
        cos_err(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    };
    let mut signed_params = Vec::new();
    for name in &parsed.param_list {
        let value = params
            .iter()
            .find(|(n, _)| encoding::strict(n).to_lowercase() == *name)
            .ok_or_else(mismatch)?;
        signed_params.push(value.clone());
    }
    let mut signed_headers = Vec::new();
    let mut host_index = None;
    for name in &parsed.header_list {
        let value = header_value(&parts.headers, name).ok_or_else(mismatch)?;
        if name == "host" {
            host_index = Some(signed_headers.len());
        }
        signed_headers.push((name.clone(), value));
    }
    // Clients sign the host with or without the port; try what was sent, then the other form.
    let mut hosts = vec![None];
    if let Some(index) = host_index {
        let sent = signed_headers[index].1.clone();
        match sent.rsplit_once(':') {
            Some((bare, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                hosts.push(Some(bare.to_owned()));
            }
            _ => hosts.push(Some(format!("{sent}:{}", emu.local_addr.port()))),
        }
    }
    let param_refs: Vec<(&str, &str)> = signed_params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for host in hosts {
        let mut headers = signed_headers.clone();
        if let (Some(index), Some(host)) = (host_index, host) {
            headers[index].1 = host;
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        // The emulator's own implementation, apart from the client's signer.
        let expected = super::signature::cos_signature(
            &secret_key,
            &format!("{};{}", parsed.key_time.start, parsed.key_time.end),
            parts.method.as_str(),
            key,
            &param_refs,
            &header_refs,
        );
        if super::signature::cos_verify(&parsed.signature, &expected) {
            return Ok(());
        }
    }
    Err(mismatch())
}

fn content_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The cut-connection fault for a body of the request's length.
fn cut_plan(emu: &Emu, parts: &Parts) -> Option<CutPlan> {
    if !emu.roll(emu.faults().cut_rate) {
        return None;
    }
    let cut = parts.extensions.get::<ConnCut>()?.clone();
    let len = content_length(parts).unwrap_or(MIN_PART_SIZE).max(2);
    Some(CutPlan {
        after_bytes: emu.cut_point(len),
        cut,
    })
}

/// Keeps a received body as the object under `key`.
pub(crate) async fn store_object(
    emu: &Emu,
    key: &str,
    received: Received,
    content_type: &str,
) -> Result<Object, std::io::Error> {
    let file = uuid::Uuid::new_v4().simple().to_string();
    let object = Object {
        key: key.to_owned(),
        file: file.clone(),
        size: received.size,
        etag: format!("\"{}\"", received.md5),
        crc: received.crc,
        content_type: content_type.to_owned(),
        modified: emu.now(),
    };
    received.keep_as(&emu.object_file(&file)).await?;
    match emu.db.put_object(&object) {
        Ok(Some(old)) => {
            files::remove_object(&emu.object_file(&old)).await;
        }
        Ok(None) => {}
        Err(error) => return Err(std::io::Error::other(error)),
    }
    Ok(object)
}

fn content_type(parts: &Parts) -> String {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned()
}

fn check_content_md5(parts: &Parts, received: &Received) -> Result<(), CosErr> {
    use base64::Engine as _;
    let Some(sent) = parts
        .headers
        .get("content-md5")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let matches = base64::engine::general_purpose::STANDARD
        .decode(sent.trim())
        .is_ok_and(|bytes| hex::encode(bytes) == received.md5);
    if matches {
        Ok(())
    } else {
        Err(cos_err(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ))
    }
}

fn stored_headers(etag: &str, crc: u64) -> axum::http::response::Builder {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::ETAG, etag)
        .header("x-cos-hash-crc64ecma", crc.to_string())
        .header(header::CONTENT_LENGTH, "0")
}

async fn put_object(emu: &Emu, parts: &Parts, key: &str, body: Body) -> Result<Response, CosErr> {
    if emu.roll(emu.faults().upload_error_rate) {
        drain(emu, body, None).await;
        return Err(internal());
    }
    let received = files::receive(emu, body, None, cut_plan(emu, parts)).await?;
    check_content_md5(parts, &received)?;
    let object = store_object(emu, key, received, &content_type(parts)).await?;
    Ok(stored_headers(&object.etag, object.crc)
        .body(Body::empty())
        .unwrap_or_default())
}

fn initiate(emu: &Emu, parts: &Parts, key: &str) -> Result<Response, CosErr> {
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

async fn upload_part(
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

fn list_parts(
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

async fn complete(
    emu: &Arc<Emu>,
    key: &str,
    upload_id: &str,
    body: Body,
) -> Result<Response, CosErr> {
    if let Err(error) = open_upload(emu, key, upload_id) {
        drain(emu, body, None).await;
        return Err(error);
    }
    let bytes = axum::body::to_bytes(body, MAX_COMPLETE_BODY)
        .await
        .map_err(|_| {
            cos_err(
                StatusCode::BAD_REQUEST,
                "MalformedXML",
                "The CompleteMultipartUpload body is too large or broke off.",
            )
        })?;
    let malformed = || {
        cos_err(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    };
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
    // The object's CRC from the parts' CRCs: no need to read the bytes again.
    let crc = chosen
        .iter()
        .fold(0u64, |acc, p| crc64::combine(acc, p.crc, p.size));
    let mut md5s = Md5::new();
    for part in &chosen {
        md5s.update(hex::decode(unquote(&part.etag)).unwrap_or_default());
    }
    let etag = format!("\"{}-{}\"", hex::encode(md5s.finalize()), chosen.len());
    let size: u64 = chosen.iter().map(|p| p.size).sum();

    // COS answers 200 at once and keeps the connection alive with spaces while it merges; the
    // result (or an <Error>) ends the body.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let emu = Arc::clone(emu);
    let key = key.to_owned();
    let upload_id = upload_id.to_owned();
    let result_etag = etag.clone();
    tokio::spawn(async move {
        let outcome = {
            let merge = merge(&emu, &key, &upload_id, &chosen, size, crc, &result_etag);
            tokio::pin!(merge);
            // One space at once, then one a second: every client meets the keep-alive
            // whitespace COS sends during long merges, not only those of large objects.
            let _ = sender.send(Ok(bytes::Bytes::from_static(b" "))).await;
            let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
            ticker.tick().await;
            loop {
                tokio::select! {
                    outcome = &mut merge => break outcome,
                    _ = ticker.tick() => {
                        let _ = sender.send(Ok(bytes::Bytes::from_static(b" "))).await;
                    }
                }
            }
        };
        // No XML declaration here: one may only open a document, and keep-alive spaces may
        // already have been sent (Python's ElementTree refuses a declaration after them).
        let tail = match outcome {
            Ok(()) => xml::to_document(&xml::CompleteResult {
                location: format!("{}.cos.{}.myqcloud.com/{key}", bucket(&emu), emu.region),
                bucket: bucket(&emu),
                key: key.clone(),
                etag: result_etag,
            })
            .unwrap_or_default(),
            Err(error) => error_xml(&error, &format!("/{key}"), &request_id()),
        };
        let tail = match tail.split_once("?>") {
            Some((declaration, rest)) if declaration.starts_with("<?xml") => {
                rest.trim_start().to_owned()
            }
            _ => tail,
        };
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

async fn abort(emu: &Emu, key: &str, upload_id: &str) -> Result<Response, CosErr> {
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

fn list_uploads(emu: &Emu, params: &[(String, String)]) -> Result<Response, CosErr> {
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

async fn get_object(emu: &Emu, parts: &Parts, key: &str, head: bool) -> Result<Response, CosErr> {
    let object = emu.db.object(key)?.ok_or_else(|| {
        cos_err(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    })?;
    let extra = [
        (header::ETAG, object.etag.clone()),
        (
            header::HeaderName::from_static("x-cos-hash-crc64ecma"),
            object.crc.to_string(),
        ),
        (header::LAST_MODIFIED, http_date(object.modified)),
    ];
    Ok(files::serve_file(
        &emu.object_file(&object.file),
        object.size,
        &parts.headers,
        &object.content_type,
        &extra,
        head,
    )
    .await)
}
