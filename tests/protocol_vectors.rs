//! Every vector of `fixtures/signatures.json` (made by running Tencent's official SDKs),
//! reproduced byte for byte.

use serde_json::Value;
use voddesk::tencent::{Credentials, cos_sign, crc64, tc3, ugc_sign};

fn vectors() -> Value {
    let text = include_str!("fixtures/signatures.json");
    serde_json::from_str(text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn tc3_vectors() {
    let all = vectors();
    let cases = all["tc3_hmac_sha256"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let credentials = Credentials::new(s(&case["secret_id"]), s(&case["secret_key"]))
            .with_token(case["token"].as_str().map(str::to_owned));
        let signed = tc3::build_request(
            &tc3::RequestParams {
                action: s(&case["action"]),
                version: s(&case["version"]),
                service: s(&case["service"]),
                region: s(&case["region"]),
                host: s(&case["host"]),
                timestamp: case["timestamp"].as_i64().unwrap(),
                language: Some("zh-CN"),
            },
            &credentials,
            s(&case["body"]).as_bytes(),
        );
        let expected = case["headers"].as_object().unwrap();
        // Same set of headers, same values.
        assert_eq!(signed.headers.len(), expected.len(), "{}", case["action"]);
        for (name, value) in &signed.headers {
            assert_eq!(
                Some(value.as_str()),
                expected.get(*name).and_then(Value::as_str),
                "{} header {name}",
                case["action"]
            );
        }
    }
}

#[test]
fn cos_vectors() {
    let all = vectors();
    let cases = all["cos_q_sign_sha1"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let params: Vec<(&str, &str)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), s(v)))
            .collect();
        let mut headers: Vec<(&str, &str)> = case["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), s(v)))
            .collect();
        headers.push(("Host", s(&case["signed_host"])));
        let auth = cos_sign::authorization(
            s(&case["secret_id"]),
            s(&case["secret_key"]),
            cos_sign::KeyTime::around(
                case["now"].as_i64().unwrap(),
                case["expire_seconds"].as_i64().unwrap(),
            ),
            &cos_sign::SignInput {
                method: s(&case["method"]),
                key: s(&case["key"]),
                params: &params,
                headers: &headers,
            },
        );
        assert_eq!(auth, s(&case["authorization"]), "{}", case["url"]);
        // The URL path is the key encoded the way the SDK encodes it.
        let url = s(&case["url"]);
        let path = url.split_once(".myqcloud.com/").unwrap().1;
        let path = path.split('?').next().unwrap();
        assert_eq!(voddesk::tencent::encoding::key_path(s(&case["key"])), path);
    }
}

#[test]
fn client_upload_signature_vectors() {
    let all = vectors();
    let cases = all["vod_client_upload_signature"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let mut params = ugc_sign::SignatureParams::default();
        for pair in case["params"].as_array().unwrap() {
            let (name, value) = (s(&pair[0]), s(&pair[1]));
            match name {
                "secretId" => params.secret_id = value.into(),
                "currentTimeStamp" => params.current_time = value.parse().unwrap(),
                "expireTime" => params.expire_time = value.parse().unwrap(),
                "random" => params.random = value.parse().unwrap(),
                "procedure" => params.procedure = Some(value.into()),
                "taskPriority" => params.task_priority = Some(value.parse().unwrap()),
                "taskNotifyMode" => params.task_notify_mode = Some(value.into()),
                "sourceContext" => params.source_context = Some(value.into()),
                "oneTimeValid" => params.one_time_valid = value == "1",
                "classId" => params.class_id = Some(value.parse().unwrap()),
                other => panic!("unexpected parameter {other}"),
            }
        }
        assert_eq!(params.original(), s(&case["original"]));
        let signature = params.sign(s(&case["secret_key"])).unwrap();
        assert_eq!(signature, s(&case["signature"]));
        let decoded = ugc_sign::decode(&signature).unwrap();
        assert!(decoded.verify(s(&case["secret_key"])));
        assert_eq!(decoded.params, params);
        assert!(decoded.extra.is_empty());
    }
}

#[test]
fn crc64_vectors() {
    let all = vectors();
    for case in all["crc64_ecma_cos"].as_array().unwrap() {
        let data = if let Some(hex_input) = case["hex_input"].as_str() {
            hex::decode(hex_input).unwrap()
        } else {
            assert_eq!(s(&case["pattern"]), "bytes(range(256)) * 4097");
            (0..=255u8).cycle().take(256 * 4097).collect()
        };
        assert_eq!(data.len() as u64, case["length"].as_u64().unwrap());
        let expected: u64 = s(&case["x-cos-hash-crc64ecma"]).parse().unwrap();
        assert_eq!(crc64::checksum(&data), expected);
        // Incremental in uneven chunks, and combined from two halves, give the same.
        let mut crc = crc64::Crc64::new();
        for chunk in data.chunks(4093) {
            crc.update(chunk);
        }
        assert_eq!(crc.sum(), expected);
        let (a, b) = data.split_at(data.len() / 3);
        assert_eq!(
            crc64::combine(crc64::checksum(a), crc64::checksum(b), b.len() as u64),
            expected
        );
    }
}
