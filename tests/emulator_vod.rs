//! The emulator's VOD API 3.0: signature checks, actions and their refusals.

use std::time::Duration;

use serde_json::json;
use voddesk::tencent::models::{
    ApplyUploadRequest, CommitUploadRequest, DeleteMediaRequest, DescribeMediaInfosRequest,
    DescribeTaskDetailRequest, ForbidMediaDistributionRequest, SearchMediaRequest, SortBy,
    WeChatMiniProgramPublishRequest,
};

use crate::emulator_support::{
    RawCall, bytes, cos, error_code, http, make_media, make_media_at, slice_of, start, start_with,
    vod, wait_for,
};

fn api_code(err: &voddesk::tencent::error::TencentError) -> String {
    err.code().unwrap_or_else(|| format!("{err}"))
}

#[tokio::test]
async fn tc3_refusals_use_the_service_codes() {
    let emu = start().await;
    let body = br#"{"FileIds":["1"]}"#;
    let ok = RawCall::new("DescribeMediaInfos", body)
        .send(&emu.base)
        .await;
    assert_eq!(ok.0, 200);
    assert!(ok.1.contains_key("date"), "every answer carries Date");
    assert_eq!(error_code(&ok.2), None, "{}", ok.2);

    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.action = None;
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("MissingParameter")
    );

    let call = RawCall::new("NoSuchThing", body);
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("InvalidAction")
    );

    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.version = "2024-07-18";
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("NoSuchVersion")
    );

    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.timestamp -= 301;
    let (status, _, answer) = call.send(&emu.base).await;
    assert_eq!(status, 200);
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("AuthFailure.SignatureExpire")
    );

    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.secret_id = "AKIDunknown000000000000000000000000";
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.SecretIdNotFound")
    );

    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.secret_key = "not-the-key";
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.SignatureFailure")
    );

    let mut call = RawCall::new("DescribeMediaInfos", br#"{"FileIds":["2"]}"#);
    call.signed_body = Some(body);
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.SignatureFailure"),
        "the payload hash covers the exact body"
    );

    let call = RawCall::new("DescribeMediaInfos", b"{not json");
    let answer = call.send(&emu.base).await.2;
    assert_eq!(error_code(&answer).as_deref(), Some("InvalidParameter"));
    assert!(answer["Response"]["RequestId"].is_string());

    let big = vec![b' '; 2 * 1024 * 1024];
    let call = RawCall::new("DescribeMediaInfos", &big);
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("InvalidParameter")
    );

    let response = http()
        .post(format!("{}/", emu.base))
        .header("X-TC-Action", "DescribeMediaInfos")
        .header("X-TC-Version", "2018-07-17")
        .header("X-TC-Timestamp", chrono::Utc::now().timestamp().to_string())
        .body("{}")
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("AuthFailure.SignatureFailure")
    );
}

#[tokio::test]
async fn temporary_certificates_need_their_token() {
    let emu = start().await;
    let applied = vod(&emu)
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap();
    let cert = applied.temp_certificate.unwrap();
    let body = br#"{"FileIds":["1"]}"#;
    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.secret_id = &cert.secret_id;
    call.secret_key = &cert.secret_key;
    call.token = Some(&cert.token);
    assert_eq!(error_code(&call.send(&emu.base).await.2), None);
    call.token = Some("wrong");
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.TokenFailure")
    );
    call.token = None;
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.TokenFailure")
    );

    emu.handle
        .update_faults(|f| f.cert_lifetime = Duration::ZERO);
    let expired = vod(&emu)
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap()
        .temp_certificate
        .unwrap();
    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.secret_id = &expired.secret_id;
    call.secret_key = &expired.secret_key;
    call.token = Some(&expired.token);
    assert_eq!(
        error_code(&call.send(&emu.base).await.2).as_deref(),
        Some("AuthFailure.TokenFailure")
    );
}

#[tokio::test]
async fn clock_offset_moves_the_signature_window_and_date() {
    let emu = start_with(|c| c.faults.clock_offset_secs = 3600).await;
    let body = br#"{"FileIds":["1"]}"#;
    let (_, headers, answer) = RawCall::new("DescribeMediaInfos", body)
        .send(&emu.base)
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("AuthFailure.SignatureExpire")
    );
    let date = headers["date"].to_str().unwrap();
    let served = chrono::DateTime::parse_from_rfc2822(date)
        .unwrap()
        .timestamp();
    assert!(
        (served - chrono::Utc::now().timestamp() - 3600).abs() < 5,
        "{date}"
    );
    let mut call = RawCall::new("DescribeMediaInfos", body);
    call.timestamp += 3600;
    assert_eq!(error_code(&call.send(&emu.base).await.2), None);
    // The crate's client corrects its clock from the Date header and succeeds.
    let client = voddesk::tencent::vod::VodClient::new(
        http(),
        &emu.base,
        "ap-guangzhou",
        crate::emulator_support::demo_credentials(),
        std::sync::Arc::new(voddesk::tencent::clock::Clock::new()),
    )
    .unwrap();
    client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec!["1".into()],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn upload_commit_and_refusals() {
    let emu = start().await;
    let client = vod(&emu);
    let applied = client
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            cover_type: Some("jpg".into()),
            media_name: Some("会议 clip".into()),
            class_id: Some(7),
            source_context: Some("ctx".into()),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap();
    assert!(applied.media_storage_path.starts_with('/'));
    assert!(applied.cover_storage_path.starts_with('/'));
    assert!(applied.storage_bucket.ends_with("-1250000000"));
    let early = client
        .call(&CommitUploadRequest {
            vod_session_key: applied.vod_session_key.clone(),
            sub_app_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&early), "ResourceNotFound");
    let cos = cos(&emu, &applied);
    let media = bytes(300_000, 1);
    let cover = bytes(2000, 2);
    cos.put_object(
        &applied.media_storage_path,
        &slice_of(&emu, "m", &media),
        "video/mp4",
    )
    .await
    .unwrap();
    cos.put_object(
        &applied.cover_storage_path,
        &slice_of(&emu, "c", &cover),
        "image/jpeg",
    )
    .await
    .unwrap();
    let committed = client
        .call(&CommitUploadRequest {
            vod_session_key: applied.vod_session_key.clone(),
            sub_app_id: None,
        })
        .await
        .unwrap();
    assert!(committed.file_id.chars().all(|c| c.is_ascii_digit()));
    let got = http().get(&committed.media_url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), media.as_slice());
    let got = http().get(&committed.cover_url).send().await.unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), cover.as_slice());

    let info = client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![committed.file_id.clone(), "404".into()],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(info.not_exist_file_id_set, vec!["404".to_owned()]);
    let basic = info.media_info_set[0].basic_info.clone().unwrap();
    assert_eq!(basic.name, "会议 clip");
    assert_eq!(basic.class_id, 7);
    assert_eq!(basic.status, "Normal");
    assert_eq!(basic.category, "Video");
    assert_eq!(
        info.media_info_set[0].meta_data.clone().unwrap().size,
        300_000
    );
    let set = info.media_info_set[0]
        .transcode_info
        .clone()
        .unwrap()
        .transcode_set;
    let best_mp4 = set
        .iter()
        .filter(|t| t.container == "mp4" && t.definition != 0)
        .map(|t| t.bitrate)
        .max()
        .unwrap();
    assert!(
        set.iter()
            .any(|t| t.container == "hls" && t.bitrate > best_mp4)
    );
    let ranged = http()
        .get(&set.iter().find(|t| t.definition != 0).unwrap().url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &media[10..20]);

    let unknown = client
        .call(&CommitUploadRequest {
            vod_session_key: "nope".into(),
            sub_app_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&unknown), "InvalidParameterValue.VodSessionKey");
    let bad_type = client
        .call(&ApplyUploadRequest {
            media_type: "exe".into(),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&bad_type), "InvalidParameterValue.MediaType");
    let nowhere = client
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            storage_region: Some("ap-nowhere".into()),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&nowhere), "InvalidParameterValue.StorageRegion");
    let elsewhere = client
        .call(&ApplyUploadRequest {
            media_type: "mp4".into(),
            storage_region: Some("eu-frankfurt".into()),
            ..ApplyUploadRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(elsewhere.storage_region, "eu-frankfurt");
    let too_many = client
        .call(&DescribeMediaInfosRequest {
            file_ids: (0..21).map(|i| i.to_string()).collect(),
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        api_code(&too_many),
        "InvalidParameterValue.FileIdsOverLimit"
    );
}

async fn task_state(client: &voddesk::tencent::vod::VodClient, task_id: &str) -> (String, String) {
    let detail = client
        .call(&DescribeTaskDetailRequest {
            task_id: task_id.to_owned(),
            sub_app_id: None,
        })
        .await
        .unwrap();
    let result = detail
        .wechat_mini_program_publish_task
        .map(|t| t.publish_result)
        .unwrap_or_default();
    (detail.status, result)
}

#[tokio::test]
async fn publish_review_page_forbid_and_delete() {
    let emu = start().await;
    let client = vod(&emu);
    let content = bytes(50_000, 3);
    let (file_id, media_url, stored_at) = make_media_at(&emu, "mp4", &content).await;
    assert!(emu.handle.object_bytes(&stored_at).unwrap().is_some());
    let task = client
        .call(&WeChatMiniProgramPublishRequest {
            file_id: file_id.clone(),
            source_definition: Some(0),
            ..WeChatMiniProgramPublishRequest::default()
        })
        .await
        .unwrap()
        .task_id;
    assert_eq!(task_state(&client, &task).await.0, "WAITING");
    let page = format!("{}/wechat/{file_id}", emu.base);
    assert_eq!(
        http().get(&page).send().await.unwrap().status(),
        404,
        "not published yet"
    );
    assert!(
        wait_for(
            || async { task_state(&client, &task).await == ("FINISH".into(), "Pass".into()) },
            Duration::from_secs(10)
        )
        .await
    );
    let info = client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![file_id.clone()],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
    let review = info.media_info_set[0]
        .mini_program_review_info
        .clone()
        .unwrap()
        .mini_program_review_list;
    assert_eq!(review[0].url, page);
    let html = http().get(&page).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let text = html.text().await.unwrap();
    assert!(text.contains("<video"), "{text}");
    let zh = http()
        .get(&page)
        .header("Accept-Language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("微信"), "{zh}");

    for (operation, page_status, status) in
        [("forbid", 403, "Forbidden"), ("recover", 200, "Normal")]
    {
        client
            .call(&ForbidMediaDistributionRequest {
                file_ids: vec![file_id.clone()],
                operation: operation.into(),
                ..ForbidMediaDistributionRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(
            http().get(&page).send().await.unwrap().status(),
            page_status
        );
        let info = client
            .call(&DescribeMediaInfosRequest {
                file_ids: vec![file_id.clone()],
                ..DescribeMediaInfosRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(
            info.media_info_set[0].basic_info.clone().unwrap().status,
            status
        );
    }
    let bad_op = client
        .call(&ForbidMediaDistributionRequest {
            file_ids: vec![file_id.clone()],
            operation: "hide".into(),
            ..ForbidMediaDistributionRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&bad_op), "InvalidParameterValue.Operation");

    client
        .call(&DeleteMediaRequest {
            file_id: file_id.clone(),
            ..DeleteMediaRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(http().get(&page).send().await.unwrap().status(), 410);
    let gone = client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![file_id.clone()],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
    assert!(gone.media_info_set.is_empty());
    assert_eq!(gone.not_exist_file_id_set, vec![file_id.clone()]);
    let again = client
        .call(&WeChatMiniProgramPublishRequest {
            file_id: file_id.clone(),
            ..WeChatMiniProgramPublishRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&again), "ResourceNotFound.FileNotExist");
    // The stored bytes went with it, and the media URL no longer plays.
    assert!(emu.handle.object_bytes(&stored_at).unwrap().is_none());
    assert_ne!(http().get(&media_url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn publish_refusals_and_switches() {
    let emu = start().await;
    let client = vod(&emu);
    let (mp4, _) = make_media(&emu, "mp4", &bytes(1000, 4)).await;
    let (mov, _) = make_media(&emu, "mov", &bytes(1000, 5)).await;
    let (mp3, _) = make_media(&emu, "mp3", &bytes(1000, 6)).await;
    let publish = |file_id: &str, definition: i64| WeChatMiniProgramPublishRequest {
        file_id: file_id.to_owned(),
        source_definition: Some(definition),
        ..WeChatMiniProgramPublishRequest::default()
    };
    for (request, code) in [
        (publish(&mp3, 0), "InvalidParameterValue.FileType"),
        (publish(&mov, 0), "InvalidParameterValue.FileType"),
        (
            publish(&mp4, 424_242),
            "InvalidParameterValue.SourceDefinition",
        ),
        (publish("123", 0), "InvalidParameterValue.FileId"),
    ] {
        let err = client.call(&request).await.unwrap_err();
        assert_eq!(api_code(&err), code);
    }
    // A transcode of a non-MP4 original can be published.
    client.call(&publish(&mov, 100_030)).await.unwrap();
    let unknown_task = client
        .call(&DescribeTaskDetailRequest {
            task_id: "nope".into(),
            sub_app_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&unknown_task), "InvalidParameterValue.TaskId");

    emu.handle.update_faults(|f| f.unverified_account = true);
    let err = client.call(&publish(&mp4, 0)).await.unwrap_err();
    assert_eq!(api_code(&err), "FailedOperation.NoPrivileges");

    emu.handle.update_faults(|f| {
        f.unverified_account = false;
        f.reject_publish = true;
        f.review_delay = Duration::from_millis(100);
    });
    let task = client.call(&publish(&mp4, 0)).await.unwrap().task_id;
    assert!(
        wait_for(
            || async { task_state(&client, &task).await == ("FINISH".into(), "Rejected".into()) },
            Duration::from_secs(10)
        )
        .await
    );
    assert_eq!(
        http()
            .get(format!("{}/wechat/{mp4}", emu.base))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "a rejected review publishes nothing"
    );

    emu.handle.update_faults(|f| f.publish_rate_limit = 3);
    let mut limited = false;
    for _ in 0..5 {
        if let Err(err) = client.call(&publish(&mp4, 0)).await {
            assert_eq!(api_code(&err), "RequestLimitExceeded");
            limited = true;
        }
    }
    assert!(limited, "more than the limit per second must be refused");
}

#[tokio::test]
async fn search_media_filters_sorts_and_pages() {
    let emu = start().await;
    let client = vod(&emu);
    let mut ids = Vec::new();
    for i in 0..3u8 {
        ids.push(make_media(&emu, "mp4", &bytes(100, i)).await.0);
    }
    let (audio, _) = make_media(&emu, "mp3", &bytes(100, 9)).await;
    let all = client
        .call(&SearchMediaRequest {
            names: Some(vec!["TEST MP4".into()]),
            sort: Some(SortBy {
                field: "CreateTime".into(),
                order: "Asc".into(),
            }),
            limit: Some(2),
            offset: Some(1),
            ..SearchMediaRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total_count, 3);
    let got: Vec<String> = all
        .media_info_set
        .iter()
        .map(|m| m.file_id.clone())
        .collect();
    assert_eq!(got, ids[1..].to_vec());
    client
        .call(&ForbidMediaDistributionRequest {
            file_ids: vec![audio.clone(), "missing".into()],
            operation: "forbid".into(),
            ..ForbidMediaDistributionRequest::default()
        })
        .await
        .map(|r| assert_eq!(r.not_exist_file_id_set, vec!["missing".to_owned()]))
        .unwrap();
    let forbidden = client
        .call(&SearchMediaRequest {
            status: Some(vec!["Forbidden".into()]),
            ..SearchMediaRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(forbidden.total_count, 1);
    assert_eq!(forbidden.media_info_set[0].file_id, audio);
    let bad_sort = client
        .call(&SearchMediaRequest {
            sort: Some(SortBy {
                field: "Size".into(),
                order: "Asc".into(),
            }),
            ..SearchMediaRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&bad_sort), "InvalidParameterValue.Sort");
}

#[tokio::test]
async fn pull_upload_fetches_loopback_only() {
    let emu = start().await;
    let content = bytes(70_000, 7);
    let (_, url) = make_media(&emu, "mp4", &content).await;
    let body = json!({ "MediaUrl": url, "MediaType": "mp4" }).to_string();
    let answer = RawCall::new("PullUpload", body.as_bytes())
        .send(&emu.base)
        .await
        .2;
    let task = answer["Response"]["TaskId"].as_str().unwrap().to_owned();
    let client = vod(&emu);
    let detail = || async {
        client
            .call(&DescribeTaskDetailRequest {
                task_id: task.clone(),
                sub_app_id: None,
            })
            .await
            .unwrap()
    };
    assert!(
        wait_for(
            || async {
                let d = detail().await;
                d.status == "FINISH" && d.pull_upload_task.unwrap().err_code == 0
            },
            Duration::from_secs(10)
        )
        .await
    );
    let file_id = detail().await.pull_upload_task.unwrap().file_id;
    let info = client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![file_id],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
    let media_url = info.media_info_set[0].basic_info.clone().unwrap().media_url;
    let got = http()
        .get(&media_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), content.as_slice());
    // The media URL serves ranges, as a player asks for them.
    let ranged = http()
        .get(&media_url)
        .header("Range", "bytes=1-3")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 1-3/{}", content.len()).as_str()
    );
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &content[1..=3]);
    let past = http()
        .get(&media_url)
        .header("Range", format!("bytes={}-", content.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(
        past.headers()["content-range"],
        format!("bytes */{}", content.len()).as_str()
    );
    let remote = json!({ "MediaUrl": "http://example.com/a.mp4" }).to_string();
    let answer = RawCall::new("PullUpload", remote.as_bytes())
        .send(&emu.base)
        .await
        .2;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("InvalidParameterValue.MediaUrl")
    );
}

#[tokio::test]
async fn injected_api_errors_are_internal_error() {
    let emu = start_with(|c| c.faults.api_error_rate = 1.0).await;
    let (status, _, answer) = RawCall::new("DescribeMediaInfos", br#"{"FileIds":["1"]}"#)
        .send(&emu.base)
        .await;
    assert_eq!(status, 500);
    assert_eq!(error_code(&answer).as_deref(), Some("InternalError"));
    emu.handle.update_faults(|f| f.api_error_rate = 0.0);
    let (status, _, _) = RawCall::new("DescribeMediaInfos", br#"{"FileIds":["1"]}"#)
        .send(&emu.base)
        .await;
    assert_eq!(status, 200);
    assert_eq!(emu.handle.counters().action("DescribeMediaInfos"), 2);
}
