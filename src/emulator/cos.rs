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
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::Response;
use futures_util::StreamExt;

use super::files::{self, CutPlan, Received};
use super::state::{Object, Part, Upload};
use super::{ConnCut, Emu, http_date, iso_time, request_id};
use crate::tencent::{encoding, xml};

mod auth;
mod multipart;

// The signature check and the multipart operations live in the child modules; `super::*`
// there sees what is here.
use auth::verify;
use multipart::{abort, complete, initiate, list_parts, list_uploads, upload_part};

/// Smallest part size except the last.
const MIN_PART_SIZE: u64 = 1024 * 1024;

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
