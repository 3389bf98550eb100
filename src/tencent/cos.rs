//! The COS XML client for the operations an upload needs.
//!
//! Bodies are streamed from the file (never a whole file in memory) while their CRC-64 is
//! computed, so every part and object is checked against the `x-cos-hash-crc64ecma` the
//! server returns, as Tencent's SDKs check them (COS needs no client MD5).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::Method;

use super::Credentials;
use super::clock::Clock;
use super::cos_sign::{self, KeyTime};
use super::encoding;
use super::error::{ErrorClass, TencentError};
use super::vod::host_header;
use super::xml::{self, XmlError};

mod body;
pub use body::{FileSlice, SentDigest, Stored, verify_stored};
use body::{finish_digest, read_failure};

/// How long a request signature is valid (the SDK's default is 10,000 s; uploads need less).
const SIGN_SECONDS: i64 = 3600;

/// Where objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosTarget {
    /// Full bucket name, `<name>-<appid>`.
    pub bucket: String,
    /// Region, e.g. `ap-chongqing`.
    pub region: String,
    /// When set, requests go to `{endpoint}/{key}` (the SDK's `Domain`); used for the emulator.
    pub endpoint: Option<String>,
}

/// A COS client for one bucket with one (replaceable) set of credentials.
#[derive(Debug, Clone)]
pub struct CosClient {
    http: reqwest::Client,
    target: CosTarget,
    credentials: Arc<RwLock<Credentials>>,
    clock: Arc<Clock>,
}

/// The result of CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// `"<hex>-<parts>"`.
    pub etag: String,
    /// The whole object's CRC-64, when the server sent it.
    pub crc64: Option<u64>,
}

/// What HEAD says of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    /// Bytes.
    pub size: u64,
    /// ETag.
    pub etag: String,
    /// Whole-object CRC-64.
    pub crc64: Option<u64>,
}

fn header_str(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn crc_header(response: &reqwest::Response) -> Option<u64> {
    header_str(response, "x-cos-hash-crc64ecma").and_then(|v| v.trim().parse().ok())
}

impl CosClient {
    /// A client for `target`, signing with `credentials`.
    #[must_use]
    pub fn new(
        http: reqwest::Client,
        target: CosTarget,
        credentials: Credentials,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            http,
            target,
            credentials: Arc::new(RwLock::new(credentials)),
            clock,
        }
    }

    /// Replaces the credentials (after a renewal) for this client and its clones.
    pub fn set_credentials(&self, credentials: Credentials) {
        if let Ok(mut slot) = self.credentials.write() {
            *slot = credentials;
        }
    }

    /// The bucket and region.
    #[must_use]
    pub fn target(&self) -> &CosTarget {
        &self.target
    }

    fn url(&self, key: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, TencentError> {
        let base = match &self.target.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
            None => format!(
                "https://{}.cos.{}.myqcloud.com",
                self.target.bucket, self.target.region
            ),
        };
        let mut url = format!("{base}/{}", encoding::key_path(key));
        if !query.is_empty() {
            let query: Vec<String> = query
                .iter()
                .map(|(name, value)| {
                    if value.is_empty() {
                        encoding::strict(name)
                    } else {
                        format!("{}={}", encoding::strict(name), encoding::strict(value))
                    }
                })
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        reqwest::Url::parse(&url).map_err(|err| TencentError::Malformed {
            service: "COS",
            detail: format!("cannot build a URL for key {key:?}: {err}"),
        })
    }

    /// Sends one signed request; non-2xx answers become errors.
    async fn send(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        mut headers: Vec<(String, String)>,
        body: Option<reqwest::Body>,
        timeout: Duration,
    ) -> Result<reqwest::Response, TencentError> {
        let url = self.url(key, query)?;
        let credentials =
            self.credentials
                .read()
                .map(|c| c.clone())
                .map_err(|_| TencentError::Malformed {
                    service: "COS",
                    detail: "credentials lock poisoned".into(),
                })?;
        if let Some(token) = &credentials.token {
            headers.push(("x-cos-security-token".into(), token.clone()));
        }
        // The SDK signs the host name without the port.
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut signed: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(name, _)| cos_sign::is_signed_header(name))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        signed.push(("host", &host));
        let authorization = cos_sign::authorization(
            &credentials.secret_id,
            credentials.secret_key(),
            KeyTime::around(self.clock.now(), SIGN_SECONDS),
            &cos_sign::SignInput {
                method: method.as_str(),
                key,
                params: query,
                headers: &signed,
            },
        );
        let mut request = self
            .http
            .request(method, url)
            .timeout(timeout)
            .header("Authorization", authorization);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| TencentError::network("COS", &err))?;
        if let Some(date) = header_str(&response, "date") {
            self.clock.observe_date_header(&date);
        }
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let request_id = header_str(&response, "x-cos-request-id").unwrap_or_default();
        let text = response.text().await.unwrap_or_default();
        match xml::parse::<xml::CosError>(&text) {
            Err(XmlError::Service(error)) => Err(TencentError::Cos { status, error }),
            _ => Err(TencentError::Http {
                service: "COS",
                status,
                body: text.chars().take(300).collect(),
                request_id,
            }),
        }
    }

    fn sized_headers(len: u64, content_type: Option<&str>) -> Vec<(String, String)> {
        let mut headers = vec![("Content-Length".to_owned(), len.to_string())];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type".to_owned(), content_type.to_owned()));
        }
        headers
    }

    /// A generous timeout for sending `len` bytes: a minute plus 64 KiB/s.
    fn body_timeout(len: u64) -> Duration {
        Duration::from_secs(60 + len / (64 * 1024))
    }

    /// PutObject from a file slice, checked against its length and the CRC-64 answered.
    ///
    /// # Errors
    /// Transport, service and integrity errors.
    pub async fn put_object(
        &self,
        key: &str,
        slice: &FileSlice,
        content_type: &str,
    ) -> Result<Stored, TencentError> {
        let (body, digest) = slice.body();
        let response = self
            .send(
                Method::PUT,
                key,
                &[],
                Self::sized_headers(slice.len, Some(content_type)),
                Some(body),
                Self::body_timeout(slice.len),
            )
            .await
            .map_err(|err| read_failure(&digest, slice).unwrap_or(err))?;
        let stored = Stored {
            etag: header_str(&response, "etag").unwrap_or_default(),
            crc64: crc_header(&response),
        };
        let sent = finish_digest(&digest)
            .ok_or_else(|| TencentError::Integrity("digest state lost".into()))?;
        verify_stored(&sent, slice.len, &stored)?;
        Ok(stored)
    }

    /// InitiateMultipartUpload; returns the upload id.
    ///
    /// # Errors
    /// Transport and service errors.
    pub async fn initiate(&self, key: &str, content_type: &str) -> Result<String, TencentError> {
        let response = self
            .send(
                Method::POST,
                key,
                &[("uploads", "")],
                Self::sized_headers(0, Some(content_type)),
                Some(reqwest::Body::from(Vec::new())),
                Duration::from_secs(60),
            )
            .await?;
        let request_id = header_str(&response, "x-cos-request-id").unwrap_or_default();
        let text = response
            .text()
            .await
            .map_err(|err| TencentError::network("COS", &err))?;
        let result: xml::InitiateResult = parse_xml(&text)?;
        missing(
            "InitiateMultipartUpload",
            result.missing_field(),
            request_id,
        )?;
        Ok(result.upload_id)
    }

    /// UploadPart from a file slice, checked against its length and the CRC-64 answered.
    ///
    /// # Errors
    /// Transport, service and integrity errors.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        slice: &FileSlice,
    ) -> Result<(Stored, SentDigest), TencentError> {
        let (body, digest) = slice.body();
        let number = part_number.to_string();
        let response = self
            .send(
                Method::PUT,
                key,
                &[("partNumber", &number), ("uploadId", upload_id)],
                Self::sized_headers(slice.len, None),
                Some(body),
                Self::body_timeout(slice.len),
            )
            .await
            .map_err(|err| read_failure(&digest, slice).unwrap_or(err))?;
        let stored = Stored {
            etag: header_str(&response, "etag").unwrap_or_default(),
            crc64: crc_header(&response),
        };
        let sent = finish_digest(&digest)
            .ok_or_else(|| TencentError::Integrity("digest state lost".into()))?;
        verify_stored(&sent, slice.len, &stored)?;
        Ok((stored, sent))
    }

    /// ListParts, all pages.
    ///
    /// # Errors
    /// Transport and service errors (`NoSuchUpload` when the upload is gone).
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<xml::ListedPart>, TencentError> {
        let mut parts = Vec::new();
        let mut marker = 0u32;
        loop {
            let marker_text = marker.to_string();
            let response = self
                .send(
                    Method::GET,
                    key,
                    &[
                        ("uploadId", upload_id),
                        ("max-parts", "1000"),
                        ("part-number-marker", &marker_text),
                    ],
                    Vec::new(),
                    None,
                    Duration::from_secs(60),
                )
                .await?;
            let request_id = header_str(&response, "x-cos-request-id").unwrap_or_default();
            let text = response
                .text()
                .await
                .map_err(|err| TencentError::network("COS", &err))?;
            let page: xml::ListPartsResult = parse_xml(&text)?;
            missing("ListParts", page.missing_field(), request_id)?;
            let last = page.parts.last().map(|p| p.part_number);
            parts.extend(page.parts);
            match (page.is_truncated, page.next_part_number_marker.or(last)) {
                (true, Some(next)) if next > marker => marker = next,
                _ => return Ok(parts),
            }
        }
    }

    /// CompleteMultipartUpload with `(number, etag)` in ascending order.
    ///
    /// # Errors
    /// Transport and service errors, including an `<Error>` after a 200.
    pub async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Completed, TencentError> {
        let body = xml::complete_body(parts);
        let response = self
            .send(
                Method::POST,
                key,
                &[("uploadId", upload_id)],
                Self::sized_headers(body.len() as u64, Some("application/xml")),
                Some(reqwest::Body::from(body)),
                // The service merges while it keeps the connection open; the SDK allows 1200 s.
                Duration::from_secs(1200),
            )
            .await?;
        let crc64 = crc_header(&response);
        let text = response
            .text()
            .await
            .map_err(|err| TencentError::network("COS", &err))?;
        let result = xml::parse_complete(&text).map_err(|err| xml_error(err, 200))?;
        Ok(Completed {
            etag: result.etag,
            crc64,
        })
    }

    /// AbortMultipartUpload. An upload that is already gone counts as aborted.
    ///
    /// # Errors
    /// Transport and other service errors.
    pub async fn abort(&self, key: &str, upload_id: &str) -> Result<(), TencentError> {
        match self
            .send(
                Method::DELETE,
                key,
                &[("uploadId", upload_id)],
                Vec::new(),
                None,
                Duration::from_secs(60),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(TencentError::Cos { error, .. }) if error.code == "NoSuchUpload" => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// ListMultipartUploads under a prefix (first 1000).
    ///
    /// # Errors
    /// Transport and service errors.
    pub async fn list_uploads(&self, prefix: &str) -> Result<Vec<xml::ListedUpload>, TencentError> {
        let response = self
            .send(
                Method::GET,
                "",
                &[
                    ("uploads", ""),
                    ("prefix", prefix),
                    ("max-uploads", "1000"),
                    ("encoding-type", "url"),
                ],
                Vec::new(),
                None,
                Duration::from_secs(60),
            )
            .await?;
        let request_id = header_str(&response, "x-cos-request-id").unwrap_or_default();
        let text = response
            .text()
            .await
            .map_err(|err| TencentError::network("COS", &err))?;
        let mut result: xml::ListUploadsResult = parse_xml(&text)?;
        missing("ListMultipartUploads", result.missing_field(), request_id)?;
        if result.encoding_type.as_deref() == Some("url") {
            for upload in &mut result.uploads {
                upload.key = encoding::decode(&upload.key);
            }
        }
        Ok(result.uploads)
    }

    /// HEAD of an object.
    ///
    /// # Errors
    /// Transport and service errors (404 when absent).
    pub async fn head(&self, key: &str) -> Result<HeadInfo, TencentError> {
        let response = self
            .send(
                Method::HEAD,
                key,
                &[],
                Vec::new(),
                None,
                Duration::from_secs(60),
            )
            .await?;
        Ok(HeadInfo {
            // reqwest's content_length() is the body's size hint, which is 0 for HEAD: read
            // the header the server sent instead.
            size: header_str(&response, "content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_default(),
            etag: header_str(&response, "etag").unwrap_or_default(),
            crc64: crc_header(&response),
        })
    }

    /// The host name the SDK would sign for this target (for diagnostics).
    #[must_use]
    pub fn signed_host(&self) -> String {
        self.url("", &[])
            .map(|url| host_header(&url))
            .unwrap_or_default()
    }
}

fn xml_error(err: XmlError, status: u16) -> TencentError {
    match err {
        XmlError::Service(error) => TencentError::Cos { status, error },
        XmlError::Malformed(detail) => TencentError::Malformed {
            service: "COS",
            detail,
        },
    }
}

/// The error for an answer of `action` that lacks `field`, when it does.
fn missing(
    action: &'static str,
    field: Option<&'static str>,
    request_id: String,
) -> Result<(), TencentError> {
    match field {
        Some(field) => Err(TencentError::MissingField {
            service: "COS",
            action,
            field,
            request_id,
        }),
        None => Ok(()),
    }
}

fn parse_xml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, TencentError> {
    xml::parse(text).map_err(|err| xml_error(err, 200))
}

/// Whether an error means the credentials must be renewed before going on.
#[must_use]
pub fn needs_new_credentials(err: &TencentError) -> bool {
    err.class() == ErrorClass::CredentialsExpired
}
