//! The emulator's COS: q-sign checks, multipart rules, faults, and a restart in the middle of
//! a multipart upload.

use std::time::{Duration, Instant};

use voddesk::emulator::{self, EmulatorConfig};
use voddesk::tencent::cos::FileSlice;
use voddesk::tencent::cos_sign::KeyTime;
use voddesk::tencent::crc64;
use voddesk::tencent::models::{ApplyUploadRequest, ApplyUploadResponse};
use voddesk::tencent::xml;

use crate::emulator_support::{
    RawCos, TestEmulator, bytes, cos, cos_code, fast_faults, slice_of, start, start_with, vod,
};

const MIB: usize = 1024 * 1024;

/// A change that spoils a correct request.
type Change = Box<dyn Fn(&mut RawCos<'_>)>;

async fn apply(emu: &TestEmulator) -> ApplyUploadResponse {
    vod(emu)
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            media_name: Some("多 part clip".into()),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap()
}

/// The COS key of an ApplyUpload answer's media (its path without the leading `/`).
fn media_key(applied: &ApplyUploadResponse) -> String {
    applied
        .media_storage_path
        .trim_start_matches('/')
        .to_owned()
}

fn part_slice(emu: &TestEmulator, name: &str, data: &[u8]) -> FileSlice {
    slice_of(emu, name, data)
}

#[tokio::test]
async fn cos_authentication_refusals() {
    let emu = start().await;
    let applied = apply(&emu).await;
    let key = media_key(&applied);

    let mut ok = RawCos::new("PUT", &key, &applied);
    ok.body = b"hello".to_vec();
    let response = ok.send(&emu.base).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-cos-request-id"));
    assert!(response.headers().contains_key("date"));
    assert_eq!(
        response.headers()["x-cos-hash-crc64ecma"].to_str().unwrap(),
        crc64::checksum(b"hello").to_string()
    );

    let mut bare_host = RawCos::new("PUT", &key, &applied);
    bare_host.signed_host = Some("127.0.0.1".into());
    assert_eq!(
        bare_host.send(&emu.base).await.status(),
        200,
        "host signed without port"
    );

    let cases: Vec<(Change, u16, &str)> = vec![
        (Box::new(|r| r.unsigned = true), 403, "AccessDenied"),
        (
            Box::new(|r| r.token = Some("wrong".into())),
            403,
            "InvalidAccessKeyId",
        ),
        (Box::new(|r| r.token = None), 403, "InvalidAccessKeyId"),
        (
            Box::new(|r| r.secret_id = "AKIDnobody".into()),
            403,
            "InvalidAccessKeyId",
        ),
        (
            Box::new(|r| r.secret_key = "wrong".into()),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            Box::new(|r| {
                let now = chrono::Utc::now().timestamp();
                r.key_time = KeyTime {
                    start: now - 7200,
                    end: now - 3600,
                };
            }),
            403,
            "AccessDenied",
        ),
        (
            Box::new(|r| {
                let now = chrono::Utc::now().timestamp();
                r.key_time = KeyTime {
                    start: now + 3600,
                    end: now + 7200,
                };
            }),
            403,
            "RequestTimeTooSkewed",
        ),
    ];
    for (change, status, code) in cases {
        let mut request = RawCos::new("PUT", &key, &applied);
        request.body = b"data".to_vec();
        change(&mut request);
        let response = request.send(&emu.base).await;
        assert_eq!(response.status(), status, "{code}");
        assert!(response.headers().contains_key("x-cos-request-id"));
        assert_eq!(cos_code(&response.text().await.unwrap()), code);
    }

    emu.handle
        .update_faults(|f| f.cert_lifetime = Duration::ZERO);
    let expired = apply(&emu).await;
    let mut request = RawCos::new("PUT", &key, &expired);
    request.body = b"data".to_vec();
    let response = request.send(&emu.base).await;
    assert_eq!(response.status(), 403);
    let text = response.text().await.unwrap();
    assert_eq!(cos_code(&text), "AccessDenied");
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn multipart_rules_and_crc() {
    let emu = start().await;
    let applied = apply(&emu).await;
    let key = applied.media_storage_path.clone();
    let client = cos(&emu, &applied);
    let upload_id = client.initiate(&key, "video/mp4").await.unwrap();
    let part1 = bytes(MIB, 1);
    let part2 = bytes(MIB, 2);
    let part3 = bytes(1000, 3);
    let mut etags = Vec::new();
    for (n, data) in [(1u32, &part1), (2, &part2), (3, &part3)] {
        let (stored, _) = client
            .upload_part(
                &key,
                &upload_id,
                n,
                &part_slice(&emu, &format!("p{n}"), data),
            )
            .await
            .unwrap();
        etags.push(stored.etag);
    }
    let listed = client.list_parts(&key, &upload_id).await.unwrap();
    assert_eq!(listed.len(), 3);
    let raw_key = key.trim_start_matches('/');

    let complete = |parts: Vec<(u32, String)>| {
        let mut request = RawCos::new("POST", raw_key, &applied);
        request.params = vec![("uploadId", upload_id.as_str())];
        request.body = xml::complete_body(&parts).into_bytes();
        request
    };
    for (parts, status, code) in [
        (
            vec![(2, etags[1].clone()), (1, etags[0].clone())],
            400,
            "InvalidPartOrder",
        ),
        (
            vec![(1, etags[0].clone()), (3, etags[2].clone())],
            400,
            "InvalidPart",
        ),
        (vec![(1, "\"00\"".to_owned())], 400, "InvalidPart"),
    ] {
        let response = complete(parts).send(&emu.base).await;
        assert_eq!(response.status(), status);
        assert_eq!(cos_code(&response.text().await.unwrap()), code);
    }
    let mut malformed = complete(vec![]);
    malformed.body = b"<CompleteMultipartUpload><Part>".to_vec();
    let response = malformed.send(&emu.base).await;
    assert_eq!(response.status(), 400);
    assert_eq!(cos_code(&response.text().await.unwrap()), "MalformedXML");

    // A small part in the middle is refused.
    let small_upload = client.initiate(&key, "video/mp4").await.unwrap();
    let mut small_etags = Vec::new();
    for (n, data) in [(1u32, &part3), (2, &part1)] {
        let (stored, _) = client
            .upload_part(
                &key,
                &small_upload,
                n,
                &part_slice(&emu, &format!("s{n}"), data),
            )
            .await
            .unwrap();
        small_etags.push((n, stored.etag));
    }
    let mut request = RawCos::new("POST", raw_key, &applied);
    request.params = vec![("uploadId", small_upload.as_str())];
    request.body = xml::complete_body(&small_etags).into_bytes();
    let response = request.send(&emu.base).await;
    assert_eq!(response.status(), 400);
    assert_eq!(cos_code(&response.text().await.unwrap()), "EntityTooSmall");
    client.abort(&key, &small_upload).await.unwrap();
    let gone = client.list_parts(&key, &small_upload).await.unwrap_err();
    assert_eq!(gone.code().as_deref(), Some("NoSuchUpload"));

    let parts: Vec<(u32, String)> = (1..=3).zip(etags).collect();
    let done = client.complete(&key, &upload_id, &parts).await.unwrap();
    let whole: Vec<u8> = [part1, part2, part3].concat();
    assert_eq!(done.crc64, Some(crc64::checksum(&whole)));
    assert_eq!(emu.handle.object_bytes(&key).unwrap().unwrap(), whole);
    let head = client.head(&key).await.unwrap();
    assert_eq!(head.size, whole.len() as u64);
    assert_eq!(head.crc64, Some(crc64::checksum(&whole)));
    let again = client.complete(&key, &upload_id, &parts).await.unwrap_err();
    assert_eq!(again.code().as_deref(), Some("NoSuchUpload"));
    let counters = emu.handle.counters().upload(&upload_id);
    assert_eq!(counters.part_requests, 3);
    assert_eq!(counters.parts_completed, 3);
    assert_eq!(counters.bytes_received, whole.len() as u64);

    // GET with Range, as COS and the publishing page's player use it: signed (COS signs the
    // range header), it answers 206 with the bytes asked for and their Content-Range.
    let size = whole.len();
    for (range, start, end) in [
        ("bytes=5-9".to_owned(), 5, 9),
        ("bytes=-4".to_owned(), size - 4, size - 1),
        (format!("bytes={}-", size - 3), size - 3, size - 1),
        (format!("bytes=10-{}", size + 100), 10, size - 1),
    ] {
        let mut ranged = RawCos::new("GET", raw_key, &applied);
        ranged.extra_headers = vec![("range", range.clone())];
        let response = ranged.send(&emu.base).await;
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes {start}-{end}/{size}").as_str(),
            "{range}"
        );
        assert_eq!(response.headers()["accept-ranges"], "bytes");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.as_ref(), &whole[start..=end], "{range}");
    }
    // A range past the end cannot be satisfied: 416, with the size in Content-Range.
    let mut ranged = RawCos::new("GET", raw_key, &applied);
    ranged.extra_headers = vec![("range", format!("bytes={size}-"))];
    let response = ranged.send(&emu.base).await;
    assert_eq!(response.status(), 416);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );
    // Without Range, the whole object.
    let response = RawCos::new("GET", raw_key, &applied).send(&emu.base).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), whole.as_slice());
    // Unsigned, even a ranged GET is refused.
    let response = crate::emulator_support::http()
        .get(format!(
            "{}/{}",
            emu.base,
            voddesk::tencent::encoding::key_path(raw_key)
        ))
        .header("Range", "bytes=5-9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "GET needs a signature");
}

#[tokio::test]
async fn list_parts_pages_and_encodes() {
    let emu = start().await;
    let applied = apply(&emu).await;
    let key = applied.media_storage_path.clone();
    let raw_key = key.trim_start_matches('/').to_owned();
    let client = cos(&emu, &applied);
    let upload_id = client.initiate(&key, "video/mp4").await.unwrap();
    for n in 1..=5u32 {
        client
            .upload_part(
                &key,
                &upload_id,
                n,
                &part_slice(&emu, &format!("q{n}"), &bytes(100, 0)),
            )
            .await
            .unwrap();
    }
    let mut page = RawCos::new("GET", &raw_key, &applied);
    page.params = vec![
        ("uploadId", upload_id.as_str()),
        ("max-parts", "2"),
        ("part-number-marker", "1"),
        ("encoding-type", "url"),
    ];
    let text = page.send(&emu.base).await.text().await.unwrap();
    let parsed: xml::ListPartsResult = xml::parse(&text).unwrap();
    assert!(parsed.is_truncated);
    assert_eq!(parsed.next_part_number_marker, Some(3));
    assert_eq!(
        parsed
            .parts
            .iter()
            .map(|p| p.part_number)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(voddesk::tencent::encoding::decode(&parsed.key), raw_key);
    assert!(
        !parsed.key.contains(' '),
        "encoding-type=url encodes the key"
    );
    assert_eq!(client.list_parts(&key, &upload_id).await.unwrap().len(), 5);
    let uploads = client.list_uploads(&raw_key).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].upload_id, upload_id);
    assert_eq!(emu.handle.open_uploads().unwrap()[0].parts.len(), 5);
}

#[tokio::test]
async fn injected_5xx_cut_latency_and_bandwidth() {
    let emu = start_with(|c| c.faults.upload_error_rate = 1.0).await;
    let applied = apply(&emu).await;
    let key = media_key(&applied);
    let mut put = RawCos::new("PUT", &key, &applied);
    put.body = bytes(10_000, 1);
    let response = put.send(&emu.base).await;
    assert_eq!(response.status(), 500);
    assert_eq!(cos_code(&response.text().await.unwrap()), "InternalError");

    emu.handle.update_faults(|f| {
        f.upload_error_rate = 0.0;
        f.cut_rate = 1.0;
    });
    let client = cos(&emu, &applied);
    let upload_id = client.initiate(&key, "video/mp4").await.unwrap();
    let data = bytes(400_000, 2);
    let cut = client
        .upload_part(&key, &upload_id, 1, &part_slice(&emu, "cut", &data))
        .await
        .unwrap_err();
    assert!(
        cut.is_retryable(),
        "a cut connection is a network error: {cut}"
    );
    let counters = emu.handle.counters().upload(&upload_id);
    assert_eq!(counters.part_requests, 1);
    assert_eq!(counters.parts_completed, 0);
    assert!(counters.bytes_received < data.len() as u64);

    emu.handle.update_faults(|f| {
        f.cut_rate = 0.0;
        f.latency = Duration::from_millis(200);
        f.bandwidth = Some(1024 * 1024);
    });
    let started = Instant::now();
    client
        .upload_part(&key, &upload_id, 1, &part_slice(&emu, "ok", &data))
        .await
        .unwrap();
    // 200 ms of latency plus 400 KB at 1 MiB/s.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn multipart_upload_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = EmulatorConfig::with_data_dir(dir.path());
        config.faults = fast_faults();
        config
    };
    let (addr, handle) = emulator::spawn(config()).await.unwrap();
    let first = TestEmulator {
        handle,
        base: format!("http://{addr}"),
        dir: tempfile::tempdir().unwrap(),
    };
    let applied = apply(&first).await;
    let key = applied.media_storage_path.clone();
    let part1 = bytes(MIB, 8);
    let part2 = bytes(12_345, 9);
    let client = cos(&first, &applied);
    let upload_id = client.initiate(&key, "video/mp4").await.unwrap();
    let (stored1, _) = client
        .upload_part(&key, &upload_id, 1, &part_slice(&first, "r1", &part1))
        .await
        .unwrap();
    first.handle.shutdown().await;

    let (addr, handle) = emulator::spawn(config()).await.unwrap();
    let second = TestEmulator {
        handle,
        base: format!("http://{addr}"),
        dir: first.dir,
    };
    let client = cos(&second, &applied);
    let listed = client.list_parts(&key, &upload_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].etag, stored1.etag);
    let (stored2, _) = client
        .upload_part(&key, &upload_id, 2, &part_slice(&second, "r2", &part2))
        .await
        .unwrap();
    client
        .complete(&key, &upload_id, &[(1, stored1.etag), (2, stored2.etag)])
        .await
        .unwrap();
    let whole = [part1, part2].concat();
    assert_eq!(second.handle.object_bytes(&key).unwrap().unwrap(), whole);
    assert!(second.handle.open_uploads().unwrap().is_empty());
}

/// A body whose file cannot be read (here: it is gone when the send opens it) is a file
/// error naming the file, not a network error to retry.
#[tokio::test]
async fn an_unreadable_body_is_a_file_error() {
    let emu = start().await;
    let applied = apply(&emu).await;
    let key = media_key(&applied);
    let mut slice = part_slice(&emu, "gone.mp4", &bytes(64 * 1024, 3));
    slice.path = slice.path.with_file_name("never there.mp4");
    let err = cos(&emu, &applied)
        .put_object(&key, &slice, "video/mp4")
        .await
        .unwrap_err();
    match &err {
        voddesk::tencent::error::TencentError::File { path, .. } => {
            assert!(path.ends_with("never there.mp4"), "{err}");
        }
        other => panic!("expected a file error, got {other:?}"),
    }
}
