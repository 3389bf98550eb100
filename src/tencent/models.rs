//! Typed models of the VOD API 3.0 actions this product uses (version 2018-07-17) and the
//! response envelope. Field names are the service's (PascalCase); every response field has a
//! default, `null` reads as absent (the service documents many fields as "may return null"),
//! unknown fields are ignored, and each action names the fields its flow cannot do without
//! ([`Action::missing_field`]), so that an answer without one is an error that says which.
//!
//! The actions themselves are grouped by area in the children: uploads (`upload.rs`), the
//! publication and its task (`tasks.rs`) and the media (`media.rs`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::lenient;

/// An error the service reported inside a 200 response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message} (RequestId {request_id})")]
pub struct ApiError {
    /// e.g. `AuthFailure.SignatureFailure`.
    pub code: String,
    /// The service's text.
    pub message: String,
    /// The request id for support.
    pub request_id: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: serde_json::Value,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

/// Why a response body could not be turned into a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The service reported an error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The body is not the API 3.0 envelope or not the expected response.
    #[error("the VOD API answered with a body this client cannot read: {0}")]
    Malformed(String),
    /// The answer lacks (or has `null` for) a field the flow needs.
    #[error("the VOD API answered without {field}{}", if .request_id.is_empty() { String::new() } else { format!(" (RequestId {})", .request_id) })]
    Missing {
        /// The field, as the service names it (`StorageBucket`, `TempCertificate.Token`).
        field: &'static str,
        /// The request id for support.
        request_id: String,
    },
}

/// Reads `{"Response": {...}}`: an `Error` inside becomes [`EnvelopeError::Api`]. `null`
/// anywhere reads as an absent field.
///
/// # Errors
/// When the service reported an error, or the body is not the expected shape.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<T, EnvelopeError> {
    parse_with_request_id(body).map(|(response, _)| response)
}

/// [`parse_response`], also returning the answer's RequestId (empty when it had none).
fn parse_with_request_id<T: DeserializeOwned>(body: &[u8]) -> Result<(T, String), EnvelopeError> {
    let mut envelope: Envelope =
        serde_json::from_slice(body).map_err(|err| EnvelopeError::Malformed(err.to_string()))?;
    lenient::strip_nulls(&mut envelope.response);
    if !envelope.response.is_object() {
        return Err(EnvelopeError::Malformed(
            "the answer's Response is not an object".to_owned(),
        ));
    }
    let request_id = envelope
        .response
        .get("RequestId")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(error) = envelope.response.get("Error") {
        let error: ErrorBody = serde_json::from_value(error.clone())
            .map_err(|err| EnvelopeError::Malformed(format!("{err} (RequestId {request_id})")))?;
        return Err(EnvelopeError::Api(ApiError {
            code: error.code,
            message: error.message,
            request_id,
        }));
    }
    let response = serde_json::from_value(envelope.response).map_err(|err| {
        EnvelopeError::Malformed(if request_id.is_empty() {
            err.to_string()
        } else {
            format!("{err} (RequestId {request_id})")
        })
    })?;
    Ok((response, request_id))
}

/// Reads the answer to `request`: [`parse_response`], then the check that the fields the flow
/// needs are there ([`Action::missing_field`]).
///
/// # Errors
/// As [`parse_response`], and [`EnvelopeError::Missing`] naming the first missing field.
pub fn read_answer<A: Action>(request: &A, body: &[u8]) -> Result<A::Response, EnvelopeError> {
    let (response, request_id) = parse_with_request_id::<A::Response>(body)?;
    match request.missing_field(&response) {
        Some(field) => Err(EnvelopeError::Missing { field, request_id }),
        None => Ok(response),
    }
}

/// Wraps a response object in the envelope, as the service (and the emulator) writes it.
#[must_use]
pub fn envelope(mut response: serde_json::Value, request_id: &str) -> serde_json::Value {
    if let Some(object) = response.as_object_mut() {
        object.insert("RequestId".to_owned(), request_id.into());
    }
    serde_json::json!({ "Response": response })
}

/// The error envelope.
#[must_use]
pub fn error_envelope(code: &str, message: &str, request_id: &str) -> serde_json::Value {
    serde_json::json!({ "Response": {
        "Error": { "Code": code, "Message": message },
        "RequestId": request_id,
    }})
}

/// A request of one action: its name and body type.
pub trait Action: Serialize {
    /// The `X-TC-Action` value.
    const NAME: &'static str;
    /// The response type.
    type Response: DeserializeOwned;

    /// The first field of `response` that the flow needs and the service left out (absent,
    /// `null` or empty), by its name in the answer; `None` when everything needed is there.
    fn missing_field(&self, response: &Self::Response) -> Option<&'static str> {
        let _ = response;
        None
    }
}

/// The first of `fields` (name, value) whose value is empty.
fn first_empty<'a>(
    fields: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
}

macro_rules! action {
    ($request:ident => $response:ident, $name:literal) => {
        impl Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;
        }
    };
    ($request:ident => $response:ident, $name:literal, |$this:ident, $answer:ident| $check:expr) => {
        impl Action for $request {
            const NAME: &'static str = $name;
            type Response = $response;

            fn missing_field(&self, $answer: &Self::Response) -> Option<&'static str> {
                let $this = self;
                $check
            }
        }
    };
}

// Below `action!`, which they use: a macro is seen only after its definition.
mod media;
mod tasks;
mod upload;

pub use media::*;
pub use tasks::*;
pub use upload::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_apply_upload_response() {
        let body = br#"{"Response":{"CoverStoragePath":"/dir/cover.xx","RequestId":"880f3005-a8c9-4bba-8c87-74e216a17a0b","StorageBucket":"xadacq111211-100922","StorageRegion":"ap-chongqing","MediaStoragePath":"/dir/name.xx","VodSessionKey":"VodSessionKey","TempCertificate":{"SecretId":"xxxxxxx","SecretKey":"xxxxxxxx","Token":"xxxxxxxx","ExpiredTime":182823331}}}"#;
        let parsed: ApplyUploadResponse = parse_response(body).unwrap();
        assert_eq!(parsed.storage_bucket, "xadacq111211-100922");
        assert_eq!(parsed.temp_certificate.unwrap().expired_time, 182_823_331);
    }

    #[test]
    fn error_envelope_becomes_api_error() {
        let body = br#"{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."}, "RequestId": "ed93f3cb"}}"#;
        let err = parse_response::<CommitUploadResponse>(body).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::Api(ApiError {
                code: "AuthFailure.SignatureFailure".into(),
                message: "The provided credentials could not be validated.".into(),
                request_id: "ed93f3cb".into(),
            })
        );
        assert!(matches!(
            parse_response::<CommitUploadResponse>(b"<html>"),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn documented_task_detail_and_media_infos() {
        let body = br#"{"Response":{"TaskType":"WechatMiniProgramPublish","Status":"FINISH","CreateTime":"2019-06-23T13:04:42Z","BeginProcessTime":"2019-06-23T13:04:42Z","FinishTime":"2019-06-23T13:04:53Z","ProcedureTask":null,"WechatMiniProgramPublishTask":{"TaskId":"1253339xxx-wechat-mini-program-publish-e576t0","Status":"FINISH","ErrCode":0,"Message":"","FileId":"5285890789444337543","SourceDefinition":0,"PublishResult":"Pass"},"PullUploadTask":null,"RequestId":"04db7d25"}}"#;
        let task: DescribeTaskDetailResponse = parse_response(body).unwrap();
        assert_eq!(
            task.wechat_mini_program_publish_task
                .unwrap()
                .publish_result,
            "Pass"
        );
        let body = br#"{"Response":{"RequestId":"6ca31e3a","NotExistFileIdSet":["5285485487985271488"],"MediaInfoSet":[{"FileId":"5285485487985271487","BasicInfo":{"Name":"test file","Type":"mp4","MediaUrl":"http://example.com/xx/xx/f0.mp4","Status":"Normal","StorageRegion":"gzp","Category":"Video","StorageClass":"STANDARD","ExpireTime":"2017-03-23T07:25:52Z"},"TranscodeInfo":{"TranscodeSet":[{"Url":"http://example.com/xx/xx/f0.mp4","Definition":0,"Bitrate":563477,"Height":378,"Width":672,"Container":"m4a","Duration":3601,"Size":10502,"Md5":"b3ae","DigitalWatermarkType":"None","VideoStreamSet":[],"AudioStreamSet":[]}]},"MiniProgramReviewInfo":{"MiniProgramReviewList":[{"Url":"u","Definition":0,"ReviewResult":"Pass","ReviewSummary":[{"Confidence":0,"Type":"Porn","Suggestion":"pass"}],"MetaData":{}}]},"MetaData":null,"AdaptiveDynamicStreamingInfo":null,"ReviewInfo":null}]}}"#;
        let infos: DescribeMediaInfosResponse = parse_response(body).unwrap();
        let info = &infos.media_info_set[0];
        assert_eq!(info.basic_info.as_ref().unwrap().media_type, "mp4");
        assert_eq!(
            info.transcode_info.as_ref().unwrap().transcode_set[0].bitrate,
            563_477
        );
        assert!(info.meta_data.is_none());
        assert_eq!(infos.not_exist_file_id_set, ["5285485487985271488"]);
    }

    #[test]
    fn requests_serialise_without_absent_fields() {
        let body = serde_json::to_string(&ApplyUploadRequest {
            media_type: "mp4".into(),
            media_name: Some("demo".into()),
            ..ApplyUploadRequest::default()
        })
        .unwrap();
        assert_eq!(body, r#"{"MediaType":"mp4","MediaName":"demo"}"#);
    }
}
