//! COS request signatures (`q-sign-algorithm=sha1`), exactly as cos-python-sdk-v5's `CosS3Auth`.
//!
//! The path signed is `/` + the object key *un-encoded*; query parameters and the selected
//! headers are percent-encoded (RFC 3986 unreserved kept), their names lower-cased, sorted.

use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};

use super::encoding::strict;

type HmacSha1 = Hmac<Sha1>;

/// Headers outside `x-cos-*`/`x-ci-*` that the SDK signs when present (`filter_headers`).
const SIGNED_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-type",
    "content-md5",
    "content-length",
    "expect",
    "expires",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "origin",
    "range",
    "transfer-encoding",
    "pic-operations",
];

/// Whether the SDK signs a header of this name.
#[must_use]
pub fn is_signed_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SIGNED_HEADERS.contains(&name.as_str())
        || name.starts_with("x-cos-")
        || name.starts_with("x-ci-")
}

fn hmac_sha1_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The validity window of a signature, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTime {
    /// Not valid before.
    pub start: i64,
    /// Not valid after.
    pub end: i64,
}

impl KeyTime {
    /// The SDK's window: from a minute before `now` to `expire_seconds` after it.
    #[must_use]
    pub fn around(now: i64, expire_seconds: i64) -> Self {
        Self {
            start: now - 60,
            end: now + expire_seconds,
        }
    }

    fn render(self) -> String {
        format!("{};{}", self.start, self.end)
    }
}

/// Encodes and sorts `(name, value)` pairs; returns the `a=b&c=d` string and the `a;c` list.
fn encoded_list<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> (String, String) {
    let mut encoded: Vec<(String, String)> = pairs
        .map(|(name, value)| (strict(name).to_lowercase(), strict(value)))
        .collect();
    encoded.sort();
    let joined = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let names = encoded
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (joined, names)
}

/// One request to sign. `headers` must already be the ones to sign (see [`is_signed_header`]);
/// `key` is the object key as stored, with or without its leading `/`.
#[derive(Debug, Clone)]
pub struct SignInput<'a> {
    /// HTTP method, any case.
    pub method: &'a str,
    /// The object key, un-encoded; empty for bucket-level requests.
    pub key: &'a str,
    /// Every query parameter, including ones with empty values (`uploads`).
    pub params: &'a [(&'a str, &'a str)],
    /// The signed headers, including `host`.
    pub headers: &'a [(&'a str, &'a str)],
}

/// The `HttpString` of the algorithm.
#[must_use]
pub fn http_string(input: &SignInput<'_>) -> String {
    let path = format!("/{}", input.key.strip_prefix('/').unwrap_or(input.key));
    let (params, _) = encoded_list(input.params.iter().copied());
    let (headers, _) = encoded_list(input.headers.iter().copied());
    format!(
        "{}\n{path}\n{params}\n{headers}\n",
        input.method.to_lowercase()
    )
}

/// The hex signature of a request, given the secret key and window.
#[must_use]
pub fn signature(secret_key: &str, key_time: KeyTime, input: &SignInput<'_>) -> String {
    let key_time = key_time.render();
    let sign_key = hmac_sha1_hex(secret_key.as_bytes(), key_time.as_bytes());
    let http_sha1 = hex::encode(Sha1::digest(http_string(input).as_bytes()));
    let string_to_sign = format!("sha1\n{key_time}\n{http_sha1}\n");
    hmac_sha1_hex(sign_key.as_bytes(), string_to_sign.as_bytes())
}

/// The full `Authorization` value.
#[must_use]
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    key_time: KeyTime,
    input: &SignInput<'_>,
) -> String {
    let (_, param_list) = encoded_list(input.params.iter().copied());
    let (_, header_list) = encoded_list(input.headers.iter().copied());
    let window = key_time.render();
    format!(
        "q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={window}&q-key-time={window}\
         &q-header-list={header_list}&q-url-param-list={param_list}&q-signature={}",
        signature(secret_key, key_time, input)
    )
}

/// A received COS `Authorization` value, split into its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// `q-ak`.
    pub secret_id: String,
    /// `q-sign-time` (which the SDK makes equal to `q-key-time`).
    pub sign_time: KeyTime,
    /// `q-key-time`.
    pub key_time: KeyTime,
    /// `q-header-list`, lower case.
    pub header_list: Vec<String>,
    /// `q-url-param-list`, lower case.
    pub param_list: Vec<String>,
    /// `q-signature`.
    pub signature: String,
}

/// Why a COS `Authorization` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed COS Authorization: {0}")]
pub struct MalformedAuthorization(pub &'static str);

fn parse_window(text: &str) -> Result<KeyTime, MalformedAuthorization> {
    let (start, end) = text
        .split_once(';')
        .ok_or(MalformedAuthorization("time window has no ';'"))?;
    let start = start
        .trim()
        .parse()
        .map_err(|_| MalformedAuthorization("time window start is not a number"))?;
    let end = end
        .trim()
        .parse()
        .map_err(|_| MalformedAuthorization("time window end is not a number"))?;
    Ok(KeyTime { start, end })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(';')
        .filter(|name| !name.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parses `q-sign-algorithm=sha1&q-ak=…&…&q-signature=…`.
///
/// # Errors
/// When a field is missing, the algorithm is not `sha1`, or a time window is malformed.
pub fn parse_authorization(value: &str) -> Result<ParsedAuthorization, MalformedAuthorization> {
    let mut fields = std::collections::HashMap::new();
    for pair in value.trim().split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            fields.insert(name.trim(), value.trim());
        }
    }
    let field = |name: &'static str| {
        fields
            .get(name)
            .copied()
            .ok_or(MalformedAuthorization(name))
    };
    if !field("q-sign-algorithm")?.eq_ignore_ascii_case("sha1") {
        return Err(MalformedAuthorization("q-sign-algorithm is not sha1"));
    }
    Ok(ParsedAuthorization {
        secret_id: field("q-ak")?.to_owned(),
        sign_time: parse_window(field("q-sign-time")?)?,
        key_time: parse_window(field("q-key-time")?)?,
        header_list: split_list(fields.get("q-header-list").copied().unwrap_or_default()),
        param_list: split_list(fields.get("q-url-param-list").copied().unwrap_or_default()),
        signature: field("q-signature")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_put_object_example() {
        let headers = [
            ("Content-Length", "13"),
            ("Content-Type", "video/mp4"),
            (
                "Host",
                "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
            ),
        ];
        let input = SignInput {
            method: "PUT",
            key: "exampleobject.mp4",
            params: &[],
            headers: &headers,
        };
        assert_eq!(
            http_string(&input),
            "put\n/exampleobject.mp4\n\ncontent-length=13&content-type=video%2Fmp4&host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com\n"
        );
        let auth = authorization(
            "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q",
            "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz",
            KeyTime::around(1_700_000_000, 10_000),
            &input,
        );
        assert_eq!(
            auth,
            "q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1699999940;1700010000&q-key-time=1699999940;1700010000&q-header-list=content-length;content-type;host&q-url-param-list=&q-signature=094d72fba1b590db4e17b1b4331e8ebd1237e392"
        );
        let parsed = parse_authorization(&auth).unwrap();
        assert_eq!(
            parsed.header_list,
            ["content-length", "content-type", "host"]
        );
        assert!(parsed.param_list.is_empty());
        assert_eq!(parsed.key_time.start, 1_699_999_940);
    }

    #[test]
    fn signed_header_filter() {
        assert!(is_signed_header("Content-MD5"));
        assert!(is_signed_header("x-cos-security-token"));
        assert!(is_signed_header("X-CI-Foo"));
        assert!(!is_signed_header("User-Agent"));
        assert!(!is_signed_header("Authorization"));
        assert!(!is_signed_header("accept"));
    }
}
