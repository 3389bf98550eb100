//! TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0.
//!
//! The algorithm is `Sign.sign_tc3` and `_build_req_with_tc3_signature` of
//! tencentcloud-sdk-python-common. Callers pass the clock in as `timestamp` (Unix seconds).

use chrono::DateTime;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name that starts every `Authorization` value.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The API version of the VOD actions this crate speaks.
pub const VOD_VERSION: &str = "2018-07-17";
/// The service name in the credential scope.
pub const VOD_SERVICE: &str = "vod";

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex SHA-256 of `data`.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp, as the credential scope needs it.
#[must_use]
pub fn scope_date(timestamp: i64) -> String {
    DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// What a canonical request is made of. Header values are taken as sent.
#[derive(Debug, Clone)]
pub struct CanonicalInput<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The query string after `?` for GET, empty for POST.
    pub query: &'a str,
    /// The signed headers as `(name, value)`; names are matched case-insensitively.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body (ignored when `unsigned_payload` is set).
    pub payload: &'a [u8],
    /// `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` was sent.
    pub unsigned_payload: bool,
}

/// Builds the canonical request; returns it with the `SignedHeaders` list.
#[must_use]
pub fn canonical_request(input: &CanonicalInput<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_lowercase()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let payload_hash = if input.unsigned_payload {
        sha256_hex(b"UNSIGNED-PAYLOAD")
    } else {
        sha256_hex(input.payload)
    };
    let request = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        input.method.to_uppercase(),
        input.query
    );
    (request, signed_headers)
}

/// The string to sign for a canonical request at `timestamp`.
#[must_use]
pub fn string_to_sign(canonical_request: &str, timestamp: i64, service: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}/{service}/tc3_request\n{}",
        scope_date(timestamp),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The derived signing key (`SecretSigning`).
#[must_use]
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    hmac_sha256(&secret_service, b"tc3_request")
}

/// Lower-case hex signature of `string_to_sign`.
#[must_use]
pub fn signature(secret_key: &str, timestamp: i64, service: &str, string_to_sign: &str) -> String {
    let key = signing_key(secret_key, &scope_date(timestamp), service);
    hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// The full `Authorization` header value for a POST with the SDK's two signed headers.
#[must_use]
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    content_type: &str,
    payload: &[u8],
    timestamp: i64,
) -> String {
    let headers = [("content-type", content_type), ("host", host)];
    let (request, signed_headers) = canonical_request(&CanonicalInput {
        method: "POST",
        query: "",
        headers: &headers,
        payload,
        unsigned_payload: false,
    });
    let to_sign = string_to_sign(&request, timestamp, service);
    format!(
        "{ALGORITHM} Credential={secret_id}/{}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={}",
        scope_date(timestamp),
        signature(secret_key, timestamp, service, &to_sign)
    )
}

/// The parts of a received `Authorization` header, for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// The SecretId that claims to have signed.
    pub secret_id: String,
    /// The scope date (`YYYY-MM-DD`).
    pub date: String,
    /// The scope service (`vod`).
    pub service: String,
    /// Signed header names, lower case, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed TC3 Authorization header: {0}")]
pub struct MalformedAuthorization(pub &'static str);

/// Parses `TC3-HMAC-SHA256 Credential=…/date/service/tc3_request, SignedHeaders=…, Signature=…`.
///
/// # Errors
/// When the algorithm, a field or the credential scope is missing or malformed.
pub fn parse_authorization(value: &str) -> Result<ParsedAuthorization, MalformedAuthorization> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or(MalformedAuthorization("algorithm is not TC3-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in rest.split(',') {
        let Some((name, value)) = field.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let credential = credential.ok_or(MalformedAuthorization("no Credential"))?;
    let mut scope = credential.rsplitn(4, '/');
    let terminator = scope.next();
    let service = scope.next();
    let date = scope.next();
    let secret_id = scope.next();
    let (Some("tc3_request"), Some(service), Some(date), Some(secret_id)) =
        (terminator, service, date, secret_id)
    else {
        return Err(MalformedAuthorization("Credential scope is malformed"));
    };
    let signed_headers = signed_headers
        .ok_or(MalformedAuthorization("no SignedHeaders"))?
        .split(';')
        .map(|name| name.trim().to_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    Ok(ParsedAuthorization {
        secret_id: secret_id.to_owned(),
        date: date.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature
            .ok_or(MalformedAuthorization("no Signature"))?
            .to_owned(),
    })
}

/// Compares two strings in time that does not depend on where they differ.
#[must_use]
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The headers of one signed API 3.0 POST, ready to send.
///
/// `host` is the `Host` header exactly as sent, with the port when the URL has one.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// `(name, value)` pairs including `Authorization`.
    pub headers: Vec<(&'static str, String)>,
}

/// What one API 3.0 call needs besides its body.
#[derive(Debug, Clone)]
pub struct RequestParams<'a> {
    /// The action, e.g. `ApplyUpload`.
    pub action: &'a str,
    /// The API version, e.g. [`VOD_VERSION`].
    pub version: &'a str,
    /// The service, e.g. [`VOD_SERVICE`].
    pub service: &'a str,
    /// The region; omitted from the headers when empty, as the SDK does.
    pub region: &'a str,
    /// The `Host` header value.
    pub host: &'a str,
    /// Unix seconds of the signature.
    pub timestamp: i64,
    /// `X-TC-Language`, when one is wanted.
    pub language: Option<&'a str>,
}

/// Builds the headers of a signed POST with a JSON body.
#[must_use]
pub fn build_request(
    params: &RequestParams<'_>,
    credentials: &super::Credentials,
    body: &[u8],
) -> SignedRequest {
    let content_type = "application/json";
    let authorization = authorization(
        &credentials.secret_id,
        credentials.secret_key(),
        params.service,
        params.host,
        content_type,
        body,
        params.timestamp,
    );
    let mut headers = vec![
        ("Content-Type", content_type.to_owned()),
        ("Host", params.host.to_owned()),
        ("X-TC-Action", params.action.to_owned()),
        ("X-TC-Timestamp", params.timestamp.to_string()),
        ("X-TC-Version", params.version.to_owned()),
    ];
    if !params.region.is_empty() {
        headers.push(("X-TC-Region", params.region.to_owned()));
    }
    if let Some(token) = credentials.token.as_deref().filter(|t| !t.is_empty()) {
        headers.push(("X-TC-Token", token.to_owned()));
    }
    if let Some(language) = params.language {
        headers.push(("X-TC-Language", language.to_owned()));
    }
    headers.push(("Authorization", authorization));
    SignedRequest { headers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_apply_upload_example() {
        let auth = authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "vod",
            "vod.tencentcloudapi.com",
            "application/json",
            br#"{"MediaType": "mp4", "MediaName": "demo"}"#,
            1_700_000_000,
        );
        assert!(auth.ends_with(
            "Signature=e4c966cd77197f277952a65822b74946cec54f13006e1d5a1c402ecf9fa75982"
        ));
        let compact = authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "vod",
            "vod.tencentcloudapi.com",
            "application/json",
            br#"{"MediaType":"mp4","MediaName":"demo"}"#,
            1_700_000_000,
        );
        assert!(compact.ends_with(
            "Signature=7f5f6ad3d3055b0a5e3b16d5286bdcab5f1d8eec680f42ac49c4bfff03ee18c1"
        ));
    }

    #[test]
    fn documented_cvm_example_with_three_signed_headers() {
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "cvm.tencentcloudapi.com"),
            ("x-tc-action", "DescribeInstances"),
        ];
        let (request, signed) = canonical_request(&CanonicalInput {
            method: "POST",
            query: "",
            headers: &headers,
            payload: body.as_bytes(),
            unsigned_payload: false,
        });
        assert_eq!(signed, "content-type;host;x-tc-action");
        assert_eq!(
            sha256_hex(request.as_bytes()),
            "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
        );
    }

    #[test]
    fn parse_round_trip() {
        let auth = authorization("AKID", "key", "vod", "h", "application/json", b"{}", 1);
        let parsed = parse_authorization(&auth).unwrap();
        assert_eq!(parsed.secret_id, "AKID");
        assert_eq!(parsed.date, "1970-01-01");
        assert_eq!(parsed.service, "vod");
        assert_eq!(parsed.signed_headers, vec!["content-type", "host"]);
        assert!(parse_authorization("Basic abc").is_err());
        assert!(parse_authorization("TC3-HMAC-SHA256 Credential=x, Signature=y").is_err());
    }
}
