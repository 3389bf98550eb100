//! The emulator's own checks of TC3-HMAC-SHA256 (API 3.0) and `q-sign-algorithm=sha1` (COS)
//! signatures.
//!
//! Written from the API 3.0 signature reference (protocols.md §1.2), apart from the client's
//! signer in `tencent::tc3`: if both shared one canonicalisation, a mistake in it would sign
//! and verify alike and every test would pass. Only the parsing of the `Authorization` header
//! is shared, which decides nothing about the signature. The official SDKs' vectors
//! (`tests/fixtures/signatures.json`) check this code as they check the signer.
//!
//! Tencent's SDKs differ in the `host` they sign when the endpoint has a port: the Python SDK
//! signs `host:port` as sent in the `Host` header, others the host name alone. The service
//! accepts either, so a signature is checked against the `Host` header as sent and, when it
//! carries a port, against the name without it.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// What a received request brings to the check.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The query string after `?` (GET), empty for POST.
    pub query: &'a str,
    /// Every header as received: `(name, value)`, a name given more than once is joined by `,`.
    pub headers: &'a [(String, String)],
    /// The body bytes.
    pub body: &'a [u8],
    /// `X-TC-Timestamp`.
    pub timestamp: i64,
    /// The service in the credential scope (`vod`).
    pub service: &'a str,
    /// `SignedHeaders`, as listed.
    pub signed_headers: &'a [String],
    /// The hex `Signature`.
    pub signature: &'a str,
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; the error case cannot happen.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex_sha256(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYY-MM-DD` in UTC of a Unix time, by the civil-from-days algorithm (no shared date code).
fn utc_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The signature the request should carry with `host` as the value of the `host` header.
fn expected(received: &Received<'_>, secret_key: &str, host: &str) -> Option<String> {
    let mut names: Vec<String> = received
        .signed_headers
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    let mut canonical_headers = String::new();
    for name in &names {
        let value = if name == "host" {
            host.to_owned()
        } else {
            received
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())?
        };
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value.trim().to_lowercase());
        canonical_headers.push('\n');
    }
    let unsigned = received.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("x-tc-content-sha256") && v.trim() == "UNSIGNED-PAYLOAD"
    });
    let payload = if unsigned {
        hex_sha256(b"UNSIGNED-PAYLOAD")
    } else {
        hex_sha256(received.body)
    };
    let canonical_request = [
        received.method.to_ascii_uppercase().as_str(),
        "/",
        received.query,
        &canonical_headers,
        &names.join(";"),
        &payload,
    ]
    .join("\n");
    let date = utc_date(received.timestamp);
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{}\n{date}/{}/tc3_request\n{}",
        received.timestamp,
        received.service,
        hex_sha256(canonical_request.as_bytes())
    );
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, received.service.as_bytes());
    let k_signing = hmac(&k_service, b"tc3_request");
    Some(hex(&hmac(&k_signing, string_to_sign.as_bytes())))
}

/// Compares in time that does not depend on where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether the request is signed with `secret_key`, with `host` as sent or without its port.
#[must_use]
pub fn verify(received: &Received<'_>, secret_key: &str) -> bool {
    let Some(host) = received
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim())
    else {
        return false;
    };
    let mut candidates = vec![host];
    // `name:port` or `[v6]:port`; a bare IPv6 address has colons but no brackets.
    if let Some((name, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && (!name.contains(':') || name.ends_with(']'))
    {
        candidates.push(name);
    }
    let signature = received.signature.trim().to_ascii_lowercase();
    candidates.iter().any(|candidate| {
        expected(received, secret_key, candidate).is_some_and(|e| same(&e, &signature))
    })
}

/// COS's encoding of names and values: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn cos_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hmac_sha1_hex(key: &[u8], message: &[u8]) -> String {
    match <Hmac<Sha1> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `name=value&…`, names lower-cased, both encoded, sorted (the `HttpParameters` and
/// `HttpHeaders` of the COS reference).
fn cos_pairs(pairs: &[(&str, &str)]) -> String {
    let mut encoded: Vec<String> = pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                cos_encode(name).to_ascii_lowercase(),
                cos_encode(value)
            )
        })
        .collect();
    encoded.sort();
    encoded.join("&")
}

/// The hex `q-signature` a COS request should carry: `method`, the object `key` as stored (not
/// encoded), the signed query parameters and headers as `(name, value)`, the `q-key-time`
/// window as sent (`start;end`).
#[must_use]
pub fn cos_signature(
    secret_key: &str,
    key_time: &str,
    method: &str,
    key: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> String {
    let path = format!("/{}", key.strip_prefix('/').unwrap_or(key));
    let http_string = format!(
        "{}\n{path}\n{}\n{}\n",
        method.to_ascii_lowercase(),
        cos_pairs(params),
        cos_pairs(headers)
    );
    let digest = Sha1::digest(http_string.as_bytes());
    let string_to_sign = format!("sha1\n{key_time}\n{}\n", hex(&digest));
    let sign_key = hmac_sha1_hex(secret_key.as_bytes(), key_time.as_bytes());
    hmac_sha1_hex(sign_key.as_bytes(), string_to_sign.as_bytes())
}

/// Whether `signature` is the COS signature of the request.
#[must_use]
pub fn cos_verify(signature: &str, expected: &str) -> bool {
    same(&signature.trim().to_ascii_lowercase(), expected)
}

/// Whether `mac` is the HMAC-SHA1 of a client-upload signature's plaintext under
/// `secret_key` (the signature is Base64 of MAC ‖ plaintext).
#[must_use]
pub fn upload_signature_verify(secret_key: &str, original: &[u8], mac: &[u8]) -> bool {
    same(&hmac_sha1_hex(secret_key.as_bytes(), original), &hex(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/fixtures/signatures.json")).unwrap()
    }

    fn field<'a>(authorization: &'a str, name: &str) -> &'a str {
        authorization
            .split([',', ' '])
            .find_map(|part| part.trim().strip_prefix(name))
            .unwrap()
    }

    /// The official SDK's requests, as sent, pass; changed in any signed part, they fail.
    #[test]
    fn official_vectors_verify() {
        let all = vectors();
        let cases = all["tc3_hmac_sha256"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let headers: Vec<(String, String)> = case["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let authorization = case["authorization"].as_str().unwrap();
            let signed: Vec<String> = field(authorization, "SignedHeaders=")
                .split(';')
                .map(str::to_owned)
                .collect();
            let body = case["body"].as_str().unwrap().as_bytes();
            let received = Received {
                method: "POST",
                query: "",
                headers: &headers,
                body,
                timestamp: case["timestamp"].as_i64().unwrap(),
                service: case["service"].as_str().unwrap(),
                signed_headers: &signed,
                signature: field(authorization, "Signature="),
            };
            let key = case["secret_key"].as_str().unwrap();
            assert!(verify(&received, key), "{}", case["action"]);
            assert!(!verify(&received, "another key"));
            let mut tampered = body.to_vec();
            tampered.push(b' ');
            assert!(!verify(
                &Received {
                    body: &tampered,
                    ..received
                },
                key
            ));
            assert!(!verify(
                &Received {
                    timestamp: received.timestamp + 1,
                    ..received
                },
                key
            ));
        }
    }

    /// The documented CVM example signs three headers (`x-tc-action` too); its hashed
    /// canonical request is published in the reference.
    #[test]
    fn documented_canonical_request_with_three_headers() {
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            ),
            ("Host".to_owned(), "cvm.tencentcloudapi.com".to_owned()),
            ("X-TC-Action".to_owned(), "DescribeInstances".to_owned()),
        ];
        let signed = vec![
            "content-type".to_owned(),
            "host".to_owned(),
            "x-tc-action".to_owned(),
        ];
        let received = Received {
            method: "POST",
            query: "",
            headers: &headers,
            body: br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
            timestamp: 1_551_113_065,
            service: "cvm",
            signed_headers: &signed,
            signature: "644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26",
        };
        assert!(verify(&received, "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"));
    }

    /// A signature over the host name alone passes when the request's `Host` has a port, as
    /// it does over `host:port`; a different host does not.
    #[test]
    fn host_with_or_without_port() {
        let body = br#"{"VodSessionKey":"k"}"#;
        let timestamp = 1_763_690_414;
        for (signed_host, sent_host, passes) in [
            ("127.0.0.1:9000", "127.0.0.1:9000", true),
            ("127.0.0.1", "127.0.0.1:9000", true),
            ("localhost", "localhost:40151", true),
            ("[::1]", "[::1]:40151", true),
            ("127.0.0.1:9001", "127.0.0.1:9000", false),
            ("127.0.0.2", "127.0.0.1:9000", false),
            ("127.0.0.1:9000", "127.0.0.1", false),
        ] {
            // Signed by the client's signer, an implementation apart from this one.
            let authorization = crate::tencent::tc3::authorization(
                "AKIDtest",
                "testkey",
                "vod",
                signed_host,
                "application/json",
                body,
                timestamp,
            );
            let headers = vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Host".to_owned(), sent_host.to_owned()),
            ];
            let signed = vec!["content-type".to_owned(), "host".to_owned()];
            let received = Received {
                method: "POST",
                query: "",
                headers: &headers,
                body,
                timestamp,
                service: "vod",
                signed_headers: &signed,
                signature: field(&authorization, "Signature="),
            };
            assert_eq!(
                verify(&received, "testkey"),
                passes,
                "signed {signed_host}, sent {sent_host}"
            );
        }
    }

    /// cos-python-sdk-v5's signatures of the fixture requests, reproduced.
    #[test]
    fn official_cos_vectors() {
        let all = vectors();
        let cases = all["cos_q_sign_sha1"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let now = case["now"].as_i64().unwrap();
            let key_time = format!(
                "{};{}",
                now - 60,
                now + case["expire_seconds"].as_i64().unwrap()
            );
            let params: Vec<(&str, &str)> = case["params"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                .collect();
            let mut headers: Vec<(&str, &str)> = case["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                .collect();
            headers.push(("host", case["signed_host"].as_str().unwrap()));
            let authorization = case["authorization"].as_str().unwrap();
            let expected = authorization.rsplit("q-signature=").next().unwrap();
            let signature = cos_signature(
                case["secret_key"].as_str().unwrap(),
                &key_time,
                case["method"].as_str().unwrap(),
                case["key"].as_str().unwrap(),
                &params,
                &headers,
            );
            assert!(cos_verify(expected, &signature), "{}", case["url"]);
            assert!(!cos_verify(
                expected,
                &cos_signature("other", &key_time, "PUT", "k", &params, &headers)
            ));
        }
    }

    /// The upload signatures of the fixture (the documented algorithm), checked here.
    #[test]
    fn upload_signature_vectors() {
        use base64::Engine as _;
        let all = vectors();
        for case in all["vod_client_upload_signature"].as_array().unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(case["signature"].as_str().unwrap())
                .unwrap();
            let (mac, original) = bytes.split_at(20);
            assert_eq!(original, case["original"].as_str().unwrap().as_bytes());
            let key = case["secret_key"].as_str().unwrap();
            assert!(upload_signature_verify(key, original, mac));
            assert!(!upload_signature_verify("other", original, mac));
            assert!(!upload_signature_verify(key, &original[1..], mac));
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_date(253_402_300_799), "9999-12-31");
    }
}
