//! Percent-encoding as the Tencent services and SDKs use it.
//!
//! Three sets matter: the strict RFC 3986 set (only `A-Z a-z 0-9 - _ . ~` kept) that COS
//! signatures and upload signatures use; the same set plus `/` for object keys in URLs
//! (`CosConfig.uri` in cos-python-sdk-v5); and decoding for what comes back.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but the RFC 3986 unreserved characters is encoded.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`STRICT`] but keeps `/`, for object keys placed in a URL path.
const KEY_PATH: &AsciiSet = &STRICT.remove(b'/');

/// Percent-encodes UTF-8 keeping only `A-Z a-z 0-9 - _ . ~` (space becomes `%20`, `/` `%2F`).
#[must_use]
pub fn strict(text: &str) -> String {
    utf8_percent_encode(text, STRICT).to_string()
}

/// Encodes an object key for the path of a COS URL, the way cos-python-sdk-v5 does.
///
/// One leading `/` is dropped, `/` is kept, and `./` becomes `.%2F` so that no server or proxy
/// normalises the path into a different key.
#[must_use]
pub fn key_path(key: &str) -> String {
    let key = key.strip_prefix('/').unwrap_or(key);
    utf8_percent_encode(key, KEY_PATH)
        .to_string()
        .replace("./", ".%2F")
}

/// Decodes percent-encoding (as in `encoding-type=url` results); `+` is left as it is.
#[must_use]
pub fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Decodes a query-string component, where `+` also stands for a space.
#[must_use]
pub fn decode_query_component(text: &str) -> String {
    decode(&text.replace('+', " "))
}

/// Parses a query string into ordered `(name, value)` pairs; a name without `=` has an empty value.
#[must_use]
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode_query_component(name), decode_query_component(value)),
            None => (decode_query_component(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_keeps_only_unreserved() {
        assert_eq!(strict("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(strict("a b/c+d=e&f"), "a%20b%2Fc%2Bd%3De%26f");
        assert_eq!(strict("编辑"), "%E7%BC%96%E8%BE%91");
    }

    #[test]
    fn key_path_encodes_like_cos_sdk() {
        assert_eq!(
            key_path("/1234567890/ab12cd34/媒体 small clip 小.mp4"),
            "1234567890/ab12cd34/%E5%AA%92%E4%BD%93%20small%20clip%20%E5%B0%8F.mp4"
        );
        assert_eq!(key_path("a+b~c.mp4"), "a%2Bb~c.mp4");
        assert_eq!(key_path("dir/./x.mp4"), "dir/.%2Fx.mp4");
    }

    #[test]
    fn query_round_trip() {
        let pairs = parse_query("uploads&partNumber=3&x=a%20b+c");
        assert_eq!(
            pairs,
            vec![
                ("uploads".to_owned(), String::new()),
                ("partNumber".to_owned(), "3".to_owned()),
                ("x".to_owned(), "a b c".to_owned()),
            ]
        );
    }
}
