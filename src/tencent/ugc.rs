//! The client-upload ("UGC") API: `ApplyUploadUGC` and `CommitUploadUGC`, authorised by an
//! upload signature in the body (vod-js-sdk-v6's flow).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::Clock;
use super::error::TencentError;
use super::lenient;
use super::vod::parse_endpoint;

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://vod2.qcloud.com";

/// `ApplyUploadUGC` request body. A renewal sends only `signature` and `vodSessionKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyRequest {
    /// The upload signature.
    pub signature: String,
    /// File name without extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_name: Option<String>,
    /// Extension, lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_type: Option<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_size: Option<u64>,
    /// Cover name without extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_name: Option<String>,
    /// Cover extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_type: Option<String>,
    /// Cover bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_size: Option<u64>,
    /// Resume or renew an existing session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vod_session_key: Option<String>,
    /// Preferred storage region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_region: Option<String>,
}

/// A storage slot in the apply answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageSlot {
    /// Legacy COS v4 signature, unused.
    pub storage_signature: String,
    /// COS key with a leading `/`.
    pub storage_path: String,
}

/// The temporary certificate in the apply answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UgcCertificate {
    /// Temporary SecretId.
    pub secret_id: String,
    /// Temporary SecretKey.
    pub secret_key: String,
    /// Session token.
    pub token: String,
    /// Unix seconds.
    pub expired_time: i64,
}

/// `data` of an `ApplyUploadUGC` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplyData {
    /// The media's slot.
    pub video: StorageSlot,
    /// The cover's slot, when a cover was announced.
    pub cover: Option<StorageSlot>,
    /// COS app id: bucket = `storageBucket-storageAppId`.
    pub storage_app_id: u64,
    /// Bucket name without app id.
    pub storage_bucket: String,
    /// Short region, e.g. `cq`.
    pub storage_region: String,
    /// COS region, e.g. `ap-chongqing`.
    #[serde(rename = "storageRegionV5")]
    pub storage_region_v5: String,
    /// Host for the commit.
    pub domain: String,
    /// Session to commit, resume or renew.
    pub vod_session_key: String,
    /// Credentials for COS.
    pub temp_certificate: UgcCertificate,
    /// VOD app id.
    pub app_id: u64,
    /// Server time, Unix seconds.
    pub timestamp: i64,
}

impl ApplyData {
    /// The full COS bucket name.
    #[must_use]
    pub fn bucket(&self) -> String {
        format!("{}-{}", self.storage_bucket, self.storage_app_id)
    }
}

/// A URL slot in the commit answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UrlSlot {
    /// Playback URL.
    pub url: String,
}

/// `data` of a `CommitUploadUGC` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommitData {
    /// The new media's id.
    pub file_id: String,
    /// Media URL.
    pub video: UrlSlot,
    /// Cover URL, when a cover was uploaded.
    pub cover: Option<UrlSlot>,
}

impl ApplyData {
    /// The first field the upload needs that the answer to `request` left out (absent, `null`
    /// or empty). A renewal (no file announced) needs only the certificate.
    #[must_use]
    pub fn missing_field(&self, request: &ApplyRequest) -> Option<&'static str> {
        let cert = &self.temp_certificate;
        let certificate = [
            ("tempCertificate.secretId", cert.secret_id.as_str()),
            ("tempCertificate.secretKey", cert.secret_key.as_str()),
            ("tempCertificate.token", cert.token.as_str()),
        ];
        let empty = |fields: &[(&'static str, &str)]| {
            fields
                .iter()
                .find(|(_, value)| value.trim().is_empty())
                .map(|(name, _)| *name)
        };
        let session = request.video_type.is_some() || request.video_size.is_some();
        // The short region (`cq`) cannot address COS: without the V5 one, nothing can.
        let session_fields = [
            ("vodSessionKey", self.vod_session_key.as_str()),
            ("storageBucket", self.storage_bucket.as_str()),
            ("storageRegionV5", self.storage_region_v5.as_str()),
            ("video.storagePath", self.video.storage_path.as_str()),
        ];
        let cover = self.cover.as_ref().map_or("", |c| c.storage_path.as_str());
        session
            .then(|| empty(&session_fields))
            .flatten()
            .or_else(|| (session && self.storage_app_id == 0).then_some("storageAppId"))
            .or_else(|| {
                (request.cover_type.is_some() && cover.trim().is_empty())
                    .then_some("cover.storagePath")
            })
            .or_else(|| empty(&certificate))
            .or_else(|| (cert.expired_time <= 0).then_some("tempCertificate.expiredTime"))
    }
}

impl CommitData {
    /// The first field the upload needs that the answer left out.
    #[must_use]
    pub fn missing_field(&self) -> Option<&'static str> {
        self.file_id.trim().is_empty().then_some("fileId")
    }
}

fn missing(action: &'static str, field: &'static str) -> TencentError {
    TencentError::MissingField {
        service: "client upload",
        action,
        field,
        request_id: String::new(),
    }
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    /// Required: an answer that does not say it succeeded is not taken as success.
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
    data: Option<T>,
}

/// The client-upload API at one endpoint.
#[derive(Debug, Clone)]
pub struct UgcClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    clock: Option<Arc<Clock>>,
}

impl UgcClient {
    /// A client for `endpoint` ([`DEFAULT_ENDPOINT`] or an emulator).
    ///
    /// # Errors
    /// When the endpoint is not a URL.
    pub fn new(http: reqwest::Client, endpoint: &str) -> Result<Self, TencentError> {
        Ok(Self {
            http,
            endpoint: parse_endpoint(endpoint)?,
            clock: None,
        })
    }

    /// Learns the server's time from every answer's `Date` header, so that signatures made
    /// afterwards are within the service's window even when the local clock is off.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        action: &'static str,
        body: &impl Serialize,
    ) -> Result<T, TencentError> {
        let mut url = self.endpoint.clone();
        url.set_path("/v3/index.php");
        url.set_query(Some(&format!("Action={action}")));
        let response = self
            .http
            .post(url)
            .timeout(Duration::from_secs(30))
            .json(body)
            .send()
            .await
            .map_err(|err| TencentError::network("client upload", &err))?;
        if let (Some(clock), Some(date)) = (
            &self.clock,
            response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok()),
        ) {
            clock.observe_date_header(date);
        }
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| TencentError::network("client upload", &err))?;
        if !status.is_success() {
            return Err(TencentError::Http {
                service: "client upload",
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
                request_id: String::new(),
            });
        }
        let envelope: Envelope<T> =
            lenient::from_slice(&bytes).map_err(|err| TencentError::Malformed {
                service: "client upload",
                detail: format!("{action}: {err}"),
            })?;
        match envelope.code {
            None => return Err(missing(action, "code")),
            Some(0) => {}
            Some(code) => {
                return Err(TencentError::Ugc {
                    code,
                    message: envelope.message,
                });
            }
        }
        envelope.data.ok_or_else(|| TencentError::Malformed {
            service: "client upload",
            detail: format!("{action} answered code 0 without data"),
        })
    }

    /// `ApplyUploadUGC`.
    ///
    /// # Errors
    /// Transport errors and non-zero codes.
    pub async fn apply(&self, request: &ApplyRequest) -> Result<ApplyData, TencentError> {
        let data: ApplyData = self.post("ApplyUploadUGC", request).await?;
        match data.missing_field(request) {
            Some(field) => Err(missing("ApplyUploadUGC", field)),
            None => Ok(data),
        }
    }

    /// `CommitUploadUGC`.
    ///
    /// # Errors
    /// Transport errors and non-zero codes.
    pub async fn commit(
        &self,
        signature: &str,
        vod_session_key: &str,
    ) -> Result<CommitData, TencentError> {
        let data: CommitData = self
            .post(
                "CommitUploadUGC",
                &serde_json::json!({ "signature": signature, "vodSessionKey": vod_session_key }),
            )
            .await?;
        match data.missing_field() {
            Some(field) => Err(missing("CommitUploadUGC", field)),
            None => Ok(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_apply_answer() {
        let body = r#"{"code":0,"message":"成功","data":{
  "video":{"storageSignature":"bWcRMH","storagePath":"/faeed456vodcq1400170034/7f51d96b5285890784418605123/x2eWFXPftMEA.mp4"},
  "cover":{"storageSignature":"VgnnV+","storagePath":"/faeed456vodcq1400170034/7f51d96b5285890784418605123/5285890784418605124.png"},
  "storageAppId":10022853,"storageBucket":"faeed456vodcq1400170034","storageRegion":"cq","storageRegionV5":"ap-chongqing",
  "domain":"vod2.qcloud.com","vodSessionKey":"3FEmq9DWHl1xF819mM6j0fy",
  "tempCertificate":{"secretId":"a","secretKey":"b","token":"c","expiredTime":1547719375},
  "appId":1400170034,"timestamp":1547719375,"StorageRegionV5":"ap-chongqing"}}"#;
        let envelope: Envelope<ApplyData> = lenient::from_slice(body.as_bytes()).unwrap();
        let data = envelope.data.unwrap();
        assert_eq!(data.bucket(), "faeed456vodcq1400170034-10022853");
        assert_eq!(data.storage_region_v5, "ap-chongqing");
        assert_eq!(data.temp_certificate.expired_time, 1_547_719_375);
        assert!(data.cover.is_some());
    }

    #[test]
    fn renewal_sends_only_signature_and_session() {
        let body = serde_json::to_string(&ApplyRequest {
            signature: "s".into(),
            vod_session_key: Some("k".into()),
            ..ApplyRequest::default()
        })
        .unwrap();
        assert_eq!(body, r#"{"signature":"s","vodSessionKey":"k"}"#);
    }
}
