//! Every answer the clients read, in the shapes of Tencent's API reference, through the real
//! clients against a scripted server on loopback: (a) every optional field `null` — at the top
//! and, separately, at every leaf — (b) every optional field absent, (c) unknown fields added
//! at every level. The results must be the same as with the documented answer (for (c)) or as
//! with only the needed fields (for (a) and (b)); and each needed field, when `null`, must give
//! an error that names the action and the field, with the RequestId.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use voddesk::engine::publish::{ReviewOutcome, review_outcome};
use voddesk::tencent::clock::Clock;
use voddesk::tencent::models::{
    ApplyUploadRequest, CommitUploadRequest, DeleteMediaRequest, DescribeMediaInfosRequest,
    DescribeTaskDetailRequest, ForbidMediaDistributionRequest, ModifyMediaInfoRequest,
    PullUploadRequest, SearchMediaRequest, WeChatMiniProgramPublishRequest,
};
use voddesk::tencent::retry::RetryPolicy;
use voddesk::tencent::ugc::{ApplyRequest, UgcClient};
use voddesk::tencent::vod::VodClient;
use voddesk::tencent::{Credentials, xml};

use crate::wecom_fake::{self, Reply};

const REQUEST_ID: &str = "6ca31e3a-6b8e-4b4d-8a35-7c1fd8b7f6a1";

/// Whether `pointer` is `path` or lies under it.
fn under(pointer: &str, path: &str) -> bool {
    pointer == path || pointer.starts_with(&format!("{path}/"))
}

/// The answer with every optional member replaced: at the highest level (`deep` false), or
/// only its scalar leaves, keeping objects and arrays (`deep` true). `replace` None removes it.
fn vary(
    value: &Value,
    path: &str,
    required: &[&str],
    deep: bool,
    replace: Option<&Value>,
) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, member) in map {
                let child = format!("{path}/{key}");
                let needed = required.iter().any(|r| under(r, &child));
                let container = member.is_object() || member.is_array();
                if needed || (deep && container) {
                    out.insert(key.clone(), vary(member, &child, required, deep, replace));
                } else if let Some(replacement) = replace {
                    out.insert(key.clone(), replacement.clone());
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| vary(item, &format!("{path}/{i}"), required, deep, replace))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The answer with an unknown member of each kind added to every object.
fn with_unknown(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> = map
                .iter()
                .map(|(key, member)| (key.clone(), with_unknown(member)))
                .collect();
            out.insert(
                "VodDeskUnknownField".into(),
                json!({"Nested": [1, null, {"Deeper": "x"}], "Flag": true}),
            );
            out.insert("voddeskUnknownNull".into(), Value::Null);
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(with_unknown).collect()),
        other => other.clone(),
    }
}

/// Sets the member at `pointer` to `null`.
fn null_at(value: &Value, pointer: &str) -> Value {
    let mut out = value.clone();
    *out.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the answer")) = Value::Null;
    out
}

/// Serves `body` for every request but `gettoken` (a good token).
async fn serve(body: Value) -> wecom_fake::FakeWeCom {
    wecom_fake::start(move |request| {
        if request.path.ends_with("/gettoken") {
            Reply::token()
        } else {
            Reply::json(&body)
        }
    })
    .await
}

/// Runs one action's answer through `call` in every variant. `required` are the fields the
/// flow needs (each must be an error when null); `envelope` the objects that hold the answer,
/// which are kept but need not be there for themselves.
async fn exercise<R, F, Fut>(
    what: &str,
    full: Value,
    (required, envelope): (&[&str], &[&str]),
    call: F,
    check: impl Fn(&R),
) where
    R: PartialEq + std::fmt::Debug,
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<R, String>>,
{
    let kept: Vec<&str> = required.iter().chain(envelope).copied().collect();
    let kept = kept.as_slice();
    let run = async |body: &Value| {
        let fake = serve(body.clone()).await;
        call(fake.base.clone()).await
    };
    let documented = run(&full)
        .await
        .unwrap_or_else(|err| panic!("{what}, documented answer: {err}"));
    check(&documented);
    let unknown = run(&with_unknown(&full))
        .await
        .unwrap_or_else(|err| panic!("{what}, unknown fields: {err}"));
    assert_eq!(
        unknown, documented,
        "{what}: unknown fields changed the result"
    );
    let absent = run(&vary(&full, "", kept, false, None))
        .await
        .unwrap_or_else(|err| panic!("{what}, optional fields absent: {err}"));
    check(&absent);
    let null = run(&vary(&full, "", kept, false, Some(&Value::Null)))
        .await
        .unwrap_or_else(|err| panic!("{what}, optional fields null: {err}"));
    assert_eq!(null, absent, "{what}: null and absent differ");
    let leaves = run(&vary(&full, "", kept, true, Some(&Value::Null)))
        .await
        .unwrap_or_else(|err| panic!("{what}, optional leaves null: {err}"));
    check(&leaves);
    let leaves_absent = run(&vary(&full, "", kept, true, None))
        .await
        .unwrap_or_else(|err| panic!("{what}, optional leaves absent: {err}"));
    assert_eq!(
        leaves, leaves_absent,
        "{what}: null and absent leaves differ"
    );
    for pointer in required {
        let err = match run(&null_at(&full, pointer)).await {
            Ok(result) => panic!("{what}: {pointer} null was accepted: {result:?}"),
            Err(err) => err,
        };
        let field = pointer.rsplit('/').next().unwrap_or_default();
        assert!(
            err.contains(field),
            "{what}: the error for {pointer} null does not name it: {err}"
        );
    }
}

fn vod(base: &str) -> VodClient {
    VodClient::new(
        voddesk::tencent::vod::http_client().unwrap(),
        base,
        "ap-guangzhou",
        Credentials::new("AKIDtest", "testkey"),
        Arc::new(Clock::new()),
    )
    .unwrap()
    .with_retry(RetryPolicy {
        max_attempts: 1,
        base: Duration::from_millis(1),
        max: Duration::from_millis(1),
    })
}

/// A VOD API 3.0 action: the answer's needed fields are under `/Response`; each error must
/// carry the action's name and the RequestId.
async fn vod_action<A, R>(
    request: A,
    response: Value,
    required: &[&str],
    check: impl Fn(&R),
    project: impl Fn(A::Response) -> R,
) where
    A: voddesk::tencent::models::Action + Sync,
    R: PartialEq + std::fmt::Debug,
{
    let mut body = json!({ "Response": response });
    body["Response"]["RequestId"] = REQUEST_ID.into();
    let required: Vec<String> = required.iter().map(|r| format!("/Response/{r}")).collect();
    let required: Vec<&str> = required.iter().map(String::as_str).collect();
    let request = &request;
    let project = &project;
    exercise(
        A::NAME,
        body,
        (&required, &["/Response"]),
        move |base: String| async move {
            vod(&base).call(request).await.map(project).map_err(|err| {
                let text = err.to_string();
                assert!(text.contains(A::NAME), "{text}");
                assert!(text.contains(REQUEST_ID), "{text}");
                text
            })
        },
        check,
    )
    .await;
}

fn media_info() -> Value {
    json!({
        "FileId": "5285485487985271487",
        "BasicInfo": {
            "Name": "test file", "Description": "d", "CreateTime": "2017-03-23T07:25:52Z",
            "UpdateTime": "2017-03-23T07:25:52Z", "ExpireTime": "9999-12-31T23:59:59Z",
            "ClassId": 0, "ClassName": "其他", "ClassPath": "其他", "CoverUrl": "http://example.com/c.jpg",
            "Type": "mp4", "MediaUrl": "http://example.com/xx/xx/f0.mp4",
            "SourceInfo": {"SourceType": "Upload", "SourceContext": "job=7", "TrtcRecordInfo": null},
            "StorageRegion": "gzp", "TagSet": ["a"], "Vid": "v", "Category": "Video",
            "Status": "Normal", "StorageClass": "STANDARD"
        },
        "MetaData": {"Size": 10502, "Container": "mp4", "Bitrate": 563_477, "Height": 378,
            "Width": 672, "Duration": 3601.5, "Rotate": 0, "VideoStreamSet": [], "AudioStreamSet": [],
            "VideoDuration": 3601, "AudioDuration": 3601, "Md5": ""},
        "TranscodeInfo": {"TranscodeSet": [{"Url": "http://example.com/xx/xx/f0.mp4", "Definition": 0,
            "Bitrate": 563_477, "Height": 378, "Width": 672, "Container": "mp4", "Duration": 3601,
            "Size": 10502, "Md5": "b3ae", "DigitalWatermarkType": "None",
            "VideoStreamSet": [{"Bitrate": 1, "Codec": "h264"}], "AudioStreamSet": []}]},
        "MiniProgramReviewInfo": {"MiniProgramReviewList": [{"Url": "http://example.com/r.mp4",
            "Definition": 0, "ReviewResult": "Pass",
            "ReviewSummary": [{"Confidence": 0, "Type": "Porn", "Suggestion": "pass"}], "MetaData": {}}]},
        "AdaptiveDynamicStreamingInfo": null,
        "ReviewInfo": null
    })
}

#[tokio::test]
async fn vod_answers_with_null_absent_and_unknown_fields() {
    vod_action(
        ApplyUploadRequest {
            media_type: "mp4".into(),
            cover_type: Some("jpg".into()),
            ..ApplyUploadRequest::default()
        },
        json!({"CoverStoragePath": "/dir/cover.xx", "StorageBucket": "xadacq111211-100922",
            "StorageRegion": "ap-chongqing", "MediaStoragePath": "/dir/name.xx",
            "VodSessionKey": "VodSessionKey", "TempCertificate": {"SecretId": "xxxxxxx",
            "SecretKey": "xxxxxxxx", "Token": "xxxxxxxx", "ExpiredTime": 182_823_331}}),
        &[
            "StorageBucket",
            "StorageRegion",
            "VodSessionKey",
            "MediaStoragePath",
            "CoverStoragePath",
            "TempCertificate/SecretId",
            "TempCertificate/SecretKey",
            "TempCertificate/Token",
            "TempCertificate/ExpiredTime",
        ],
        |r: &voddesk::tencent::models::ApplyUploadResponse| {
            assert_eq!(r.storage_bucket, "xadacq111211-100922");
            assert_eq!(r.media_storage_path, "/dir/name.xx");
            assert_eq!(
                r.temp_certificate.as_ref().unwrap().expired_time,
                182_823_331
            );
        },
        |r| r,
    )
    .await;
    vod_action(
        CommitUploadRequest::default(),
        json!({"FileId": "24820810452266399", "MediaUrl": "http://example.com/f0.mp4",
            "CoverUrl": "http://example.com/24820810452266400.jpg"}),
        &["FileId"],
        |r: &voddesk::tencent::models::CommitUploadResponse| {
            assert_eq!(r.file_id, "24820810452266399");
        },
        |r| r,
    )
    .await;
    vod_action(
        WeChatMiniProgramPublishRequest::default(),
        json!({"TaskId": "125xxx65-wechat-mini-program-publish-bffb15f0"}),
        &["TaskId"],
        |r: &voddesk::tencent::models::WeChatMiniProgramPublishResponse| {
            assert!(r.task_id.ends_with("bffb15f0"));
        },
        |r| r,
    )
    .await;
    vod_action(
        PullUploadRequest::default(),
        json!({"TaskId": "125xxxxxx07-pull-893dc41e"}),
        &["TaskId"],
        |r: &voddesk::tencent::models::PullUploadResponse| {
            assert!(r.task_id.ends_with("893dc41e"));
        },
        |r| r,
    )
    .await;
    // A finished review: with everything else null or gone it still reads as passed.
    vod_action(
        DescribeTaskDetailRequest::default(),
        json!({"TaskType": "WechatMiniProgramPublish", "Status": "FINISH",
            "CreateTime": "2019-06-23T13:04:42Z", "BeginProcessTime": "2019-06-23T13:04:42Z",
            "FinishTime": "2019-06-23T13:04:53Z", "ProcedureTask": null,
            "WechatMiniProgramPublishTask": {"TaskId": "1253339xxx-wechat-mini-program-publish-e576t0",
                "Status": "FINISH", "ErrCode": 0, "Message": "", "FileId": "5285890789444337543",
                "SourceDefinition": 0, "PublishResult": "Pass"},
            "PullUploadTask": null}),
        &["Status", "WechatMiniProgramPublishTask/PublishResult"],
        |outcome: &ReviewOutcome| assert_eq!(*outcome, ReviewOutcome::Passed),
        |r| review_outcome(&r),
    )
    .await;
    // A review still running: no result yet, which is not an error.
    vod_action(
        DescribeTaskDetailRequest::default(),
        json!({"TaskType": "WechatMiniProgramPublish", "Status": "PROCESSING",
            "CreateTime": "2019-06-23T13:04:42Z", "BeginProcessTime": "2019-06-23T13:04:42Z",
            "FinishTime": null,
            "WechatMiniProgramPublishTask": {"TaskId": "t", "Status": "PROCESSING", "ErrCode": 0,
                "Message": null, "FileId": "5285890789444337543", "SourceDefinition": 0,
                "PublishResult": null}}),
        &["Status"],
        |outcome: &ReviewOutcome| assert_eq!(*outcome, ReviewOutcome::Pending),
        |r| review_outcome(&r),
    )
    .await;
    vod_action(
        DescribeMediaInfosRequest::default(),
        json!({"NotExistFileIdSet": ["5285485487985271488"], "MediaInfoSet": [media_info()]}),
        &["MediaInfoSet/0/FileId"],
        |r: &voddesk::tencent::models::DescribeMediaInfosResponse| {
            assert_eq!(r.media_info_set[0].file_id, "5285485487985271487");
        },
        |r| r,
    )
    .await;
    vod_action(
        SearchMediaRequest::default(),
        json!({"TotalCount": 1, "MediaInfoSet": [media_info()]}),
        &["MediaInfoSet/0/FileId"],
        |r: &voddesk::tencent::models::SearchMediaResponse| {
            assert_eq!(r.media_info_set.len(), 1);
        },
        |r| r,
    )
    .await;
    vod_action(
        ForbidMediaDistributionRequest::default(),
        json!({"NotExistFileIdSet": ["1"]}),
        &[],
        |_: &voddesk::tencent::models::ForbidMediaDistributionResponse| {},
        |r| r,
    )
    .await;
    vod_action(
        DeleteMediaRequest::default(),
        json!({"DeprecatedWarning": null}),
        &[],
        |_: &voddesk::tencent::models::DeleteMediaResponse| {},
        |r| r,
    )
    .await;
    vod_action(
        ModifyMediaInfoRequest::default(),
        json!({"CoverUrl": "http://example.com/c.jpg", "AddedSubtitleSet": null}),
        &[],
        |_: &voddesk::tencent::models::ModifyMediaInfoResponse| {},
        |r| r,
    )
    .await;
}

/// A certificate with no upload behind it is not a result: `TempCertificate: null` means "sign
/// with your own key" (vod-python-sdk), and reads as no certificate.
#[tokio::test]
async fn apply_upload_without_certificate_uses_own_key() {
    let fake = serve(
        json!({"Response": {"StorageBucket": "b-1", "StorageRegion": "ap-guangzhou",
        "VodSessionKey": "k", "MediaStoragePath": "/m.mp4", "CoverStoragePath": null,
        "TempCertificate": null, "RequestId": REQUEST_ID}}),
    )
    .await;
    let answer = vod(&fake.base)
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap();
    assert!(answer.temp_certificate.is_none());
    assert!(answer.cover_storage_path.is_empty());
}

#[tokio::test]
async fn client_upload_answers_with_null_absent_and_unknown_fields() {
    let apply = json!({"code": 0, "message": "成功", "data": {
        "video": {"storageSignature": "bWcRMH", "storagePath": "/faeed456vodcq1400170034/7f51/x2eW.mp4"},
        "cover": {"storageSignature": "VgnnV+", "storagePath": "/faeed456vodcq1400170034/7f51/5285.png"},
        "storageAppId": 10_022_853, "storageBucket": "faeed456vodcq1400170034", "storageRegion": "cq",
        "storageRegionV5": "ap-chongqing", "domain": "vod2.qcloud.com", "vodSessionKey": "3FEmq9DW",
        "tempCertificate": {"secretId": "a", "secretKey": "b", "token": "c", "expiredTime": 1_547_719_375},
        "appId": 1_400_170_034, "timestamp": 1_547_719_375, "StorageRegionV5": "ap-chongqing",
        "cosAcc": {"isOpen": false, "domain": ""}}});
    let request = ApplyRequest {
        signature: "s".into(),
        video_name: Some("x".into()),
        video_type: Some("mp4".into()),
        video_size: Some(10),
        cover_name: Some("c".into()),
        cover_type: Some("png".into()),
        cover_size: Some(5),
        ..ApplyRequest::default()
    };
    let request = &request;
    exercise(
        "ApplyUploadUGC",
        apply,
        (
            &[
                "/code",
                "/data/video/storagePath",
                "/data/cover/storagePath",
                "/data/storageAppId",
                "/data/storageBucket",
                "/data/storageRegionV5",
                "/data/vodSessionKey",
                "/data/tempCertificate/secretId",
                "/data/tempCertificate/secretKey",
                "/data/tempCertificate/token",
                "/data/tempCertificate/expiredTime",
            ],
            &[],
        ),
        move |base: String| async move {
            let client =
                UgcClient::new(voddesk::tencent::vod::http_client().unwrap(), &base).unwrap();
            client.apply(request).await.map_err(|err| {
                let text = err.to_string();
                assert!(text.contains("ApplyUploadUGC"), "{text}");
                text
            })
        },
        |data| {
            assert_eq!(data.bucket(), "faeed456vodcq1400170034-10022853");
            assert_eq!(data.storage_region_v5, "ap-chongqing");
        },
    )
    .await;
    exercise(
        "CommitUploadUGC",
        json!({"code": 0, "message": "", "data": {"fileId": "5285890784418605125",
            "video": {"url": "http://x/f0.mp4", "verify_content": "v"}, "cover": {"url": "http://x/c.png"}}}),
        (&["/code", "/data/fileId"], &[]),
        move |base: String| async move {
            let client = UgcClient::new(voddesk::tencent::vod::http_client().unwrap(), &base)
                .unwrap();
            client.commit("s", "k").await.map_err(|err| {
                let text = err.to_string();
                assert!(text.contains("CommitUploadUGC"), "{text}");
                text
            })
        },
        |data| assert_eq!(data.file_id, "5285890784418605125"),
    )
    .await;
}

#[tokio::test]
async fn wecom_answers_with_null_absent_and_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, b"some text for WeCom").unwrap();
    let file = &file;
    exercise(
        "media/upload",
        json!({"errcode": 0, "errmsg": "", "type": "file",
            "media_id": "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0", "created_at": "1380000000"}),
        (&["/media_id"], &[]),
        move |base: String| async move {
            let client = voddesk::wecom::WeComClient::new(
                voddesk::tencent::vod::http_client().unwrap(),
                &base,
                "corp",
                "secret",
            );
            client
                .upload(file, voddesk::engine::api::WeComMediaType::File)
                .await
                .map(|mut uploaded| {
                    // Without created_at it is "now", which two runs cannot share.
                    if (uploaded.created_at - chrono::Utc::now().timestamp()).abs() < 60 {
                        uploaded.created_at = 0;
                        uploaded.expires_at = 0;
                    }
                    uploaded
                })
                .map_err(|err| {
                    let text = err.to_string();
                    assert!(text.contains("media/upload"), "{text}");
                    text
                })
        },
        |uploaded| {
            assert_eq!(uploaded.media_id, "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0");
            assert_eq!(uploaded.kind, "file");
        },
    )
    .await;
    // Without created_at the media is taken as made when the answer came, not in 1970.
    let fake = serve(json!({"errcode": null, "media_id": "m", "created_at": null})).await;
    let client = voddesk::wecom::WeComClient::new(
        voddesk::tencent::vod::http_client().unwrap(),
        &fake.base,
        "corp",
        "secret",
    );
    let before = chrono::Utc::now().timestamp();
    let uploaded = client
        .upload(file, voddesk::engine::api::WeComMediaType::File)
        .await
        .unwrap();
    assert!(uploaded.created_at >= before, "{uploaded:?}");
    // gettoken without a token is an error that says so.
    let fake = wecom_fake::start(|_| {
        Reply::json(&json!({"errcode": 0, "errmsg": "ok", "access_token": null}))
    })
    .await;
    let client = voddesk::wecom::WeComClient::new(
        voddesk::tencent::vod::http_client().unwrap(),
        &fake.base,
        "corp",
        "secret",
    );
    let err = client
        .upload(file, voddesk::engine::api::WeComMediaType::File)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gettoken") && err.contains("access_token"),
        "{err}"
    );
}

/// XML has no `null`: its equivalents are an empty element and an absent one. Lines starting
/// with `?` hold an optional element.
fn xml_variants(template: &str) -> [String; 4] {
    let lines: Vec<&str> = template.lines().map(str::trim).collect();
    let build = |f: &dyn Fn(&str) -> Option<String>| -> String {
        lines
            .iter()
            .filter_map(|line| match line.strip_prefix('?') {
                Some(optional) => f(optional),
                None => Some((*line).to_owned()),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let full = build(&|line| Some(line.to_owned()));
    let empty = build(&|line| {
        let name = line
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap_or_default();
        Some(format!("<{name}/>"))
    });
    let absent = build(&|_| None);
    // An unknown element after every line but the root's closing one.
    let count = full.lines().count();
    let unknown = full
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i + 1 < count {
                format!("{line}<VodDeskUnknown><Inner>1</Inner></VodDeskUnknown>")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    [full, empty, absent, unknown]
}

#[test]
fn cos_xml_with_empty_absent_and_unknown_elements() {
    let list_parts = r#"<ListPartsResult xmlns="http://www.qcloud.com/document/product/436/7751">
        ?<Bucket>test-1253846586</Bucket>
        ?<Encoding-type>url</Encoding-type>
        ?<Key>test/hello.txt</Key>
        ?<UploadId>1497951948935</UploadId>
        <Owner>
        ?<ID>1253846586</ID>
        </Owner>
        ?<PartNumberMarker>0</PartNumberMarker>
        <Part>
        <PartNumber>1</PartNumber>
        ?<LastModified>2017-06-20T09:45:49.000Z</LastModified>
        <ETag>&quot;fae3dba15f4d9b2d76cbaed5de3a08e3&quot;</ETag>
        <Size>6291456</Size>
        </Part>
        ?<StorageClass>Standard</StorageClass>
        ?<MaxParts>1000</MaxParts>
        ?<IsTruncated>false</IsTruncated>
        </ListPartsResult>"#;
    let [full, empty, absent, unknown] = xml_variants(list_parts);
    let read = |text: &str| {
        let page: xml::ListPartsResult =
            xml::parse(text).unwrap_or_else(|err| panic!("{err}: {text}"));
        assert_eq!(page.missing_field(), None, "{text}");
        page
    };
    let documented = read(&full);
    assert_eq!(documented.parts[0].size, 6_291_456);
    assert_eq!(documented.max_parts, 1000);
    assert_eq!(read(&unknown), documented);
    let bare = read(&absent);
    assert_eq!(read(&empty), bare);
    let checked = |page: &xml::ListPartsResult| {
        page.parts
            .iter()
            .map(|p| (p.part_number, p.etag.clone(), p.size))
            .collect::<Vec<_>>()
    };
    assert_eq!(checked(&bare), checked(&documented));
    assert!(!bare.is_truncated);
    // A part without what a resume checks it by is named, not trusted.
    for (element, field) in [
        (
            "<ETag>&quot;fae3dba15f4d9b2d76cbaed5de3a08e3&quot;</ETag>",
            "Part.ETag",
        ),
        ("<Size>6291456</Size>", "Part.Size"),
        ("<PartNumber>1</PartNumber>", "Part.PartNumber"),
    ] {
        let name = element.trim_start_matches('<').split('>').next().unwrap();
        for replacement in [String::new(), format!("<{name}/>")] {
            let page: xml::ListPartsResult =
                xml::parse(&full.replace(element, &replacement)).unwrap();
            assert_eq!(page.missing_field(), Some(field));
        }
    }

    let initiate = r"<InitiateMultipartUploadResult>
        ?<Bucket>test-1253846586</Bucket>
        ?<Key>test/hello.txt</Key>
        <UploadId>149795166761115ef06e</UploadId>
        </InitiateMultipartUploadResult>";
    let [full, empty, absent, unknown] = xml_variants(initiate);
    for text in [&full, &empty, &absent, &unknown] {
        let result: xml::InitiateResult = xml::parse(text).unwrap();
        assert_eq!(result.upload_id, "149795166761115ef06e", "{text}");
        assert_eq!(result.missing_field(), None);
    }
    let result: xml::InitiateResult =
        xml::parse(&full.replace("<UploadId>149795166761115ef06e</UploadId>", "<UploadId/>"))
            .unwrap();
    assert_eq!(result.missing_field(), Some("UploadId"));

    let complete = r"<CompleteMultipartUploadResult>
        ?<Location>test-1253846586.cos.ap-guangzhou.myqcloud.com/test/hello.txt</Location>
        ?<Bucket>test-1253846586</Bucket>
        ?<Key>test/hello.txt</Key>
        <ETag>&quot;594f98b11c6901c0f0683de1085a6d0e-4&quot;</ETag>
        </CompleteMultipartUploadResult>";
    let [full, empty, absent, unknown] = xml_variants(complete);
    for text in [&full, &empty, &absent, &unknown] {
        let result = xml::parse_complete(text).unwrap();
        assert_eq!(
            result.etag, "\"594f98b11c6901c0f0683de1085a6d0e-4\"",
            "{text}"
        );
    }
    let err = xml::parse_complete(&full.replace(
        "<ETag>&quot;594f98b11c6901c0f0683de1085a6d0e-4&quot;</ETag>",
        "<ETag/>",
    ))
    .unwrap_err();
    assert!(err.to_string().contains("ETag"), "{err}");

    let uploads = r"<ListMultipartUploadsResult>
        ?<Bucket>b-1</Bucket>
        ?<Encoding-Type>url</Encoding-Type>
        ?<KeyMarker>k</KeyMarker>
        ?<NextKeyMarker>k</NextKeyMarker>
        ?<MaxUploads>1000</MaxUploads>
        ?<IsTruncated>false</IsTruncated>
        ?<Prefix>a%20b</Prefix>
        <Upload>
        <Key>a%20b</Key>
        <UploadId>x</UploadId>
        ?<StorageClass>STANDARD</StorageClass>
        ?<Initiated>2020-01-01T00:00:00.000Z</Initiated>
        </Upload>
        </ListMultipartUploadsResult>";
    let [full, empty, absent, unknown] = xml_variants(uploads);
    let documented: xml::ListUploadsResult = xml::parse(&full).unwrap();
    let again: xml::ListUploadsResult = xml::parse(&unknown).unwrap();
    assert_eq!(again, documented);
    for text in [&empty, &absent] {
        let result: xml::ListUploadsResult = xml::parse(text).unwrap();
        assert_eq!(result.uploads[0].upload_id, "x", "{text}");
        assert_eq!(result.missing_field(), None);
    }
    let result: xml::ListUploadsResult =
        xml::parse(&full.replace("<UploadId>x</UploadId>", "<UploadId/>")).unwrap();
    assert_eq!(result.missing_field(), Some("Upload.UploadId"));

    let error = r"<Error>
        <Code>NoSuchUpload</Code>
        ?<Message>The specified upload does not exist.</Message>
        ?<Resource>r</Resource>
        ?<RequestId>NjA=</RequestId>
        ?<TraceId>t</TraceId>
        </Error>";
    for text in xml_variants(error) {
        match xml::parse::<xml::InitiateResult>(&text) {
            Err(xml::XmlError::Service(err)) => assert_eq!(err.code, "NoSuchUpload"),
            other => panic!("{other:?}: {text}"),
        }
    }
}
