//! The emulator's client-upload API: signatures, one-time use, renewal and commit.

use std::sync::Arc;

use serde_json::{Value, json};
use voddesk::emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY};
use voddesk::tencent::Credentials;
use voddesk::tencent::clock::Clock;
use voddesk::tencent::cos::{CosClient, CosTarget};
use voddesk::tencent::models::DescribeMediaInfosRequest;
use voddesk::tencent::ugc::{ApplyRequest, UgcClient};
use voddesk::tencent::ugc_sign::SignatureParams;

use crate::emulator_support::{bytes, http, slice_of, start, vod};

fn signature(change: impl FnOnce(&mut SignatureParams)) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut params = SignatureParams {
        secret_id: DEMO_SECRET_ID.into(),
        current_time: now,
        expire_time: now + 3600,
        random: rand::random(),
        ..SignatureParams::default()
    };
    change(&mut params);
    params.sign_original_unchecked(DEMO_SECRET_KEY)
}

/// Signing without the client-side validation, so that invalid signatures can be sent.
trait SignUnchecked {
    fn sign_original_unchecked(&self, key: &str) -> String;
}

impl SignUnchecked for SignatureParams {
    fn sign_original_unchecked(&self, key: &str) -> String {
        voddesk::tencent::ugc_sign::sign_original(key, &self.original())
    }
}

async fn post(base: &str, action: &str, body: &Value) -> Value {
    http()
        .post(format!("{base}/v3/index.php?Action={action}"))
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn apply_body(signature: &str) -> Value {
    json!({ "signature": signature, "videoName": "x", "videoType": "mp4", "videoSize": 9 })
}

#[tokio::test]
async fn client_upload_flow_applies_the_signature_context() {
    let emu = start().await;
    let client = UgcClient::new(http(), &emu.base).unwrap();
    let sig = signature(|p| {
        p.procedure = Some("Flow".into());
        p.class_id = Some(12);
        p.source_context = Some("job=7&u=1".into());
    });
    let applied = client
        .apply(&ApplyRequest {
            signature: sig.clone(),
            video_name: Some("手机 clip".into()),
            video_type: Some("mp4".into()),
            video_size: Some(5000),
            cover_name: Some("c".into()),
            cover_type: Some("png".into()),
            cover_size: Some(10),
            ..ApplyRequest::default()
        })
        .await
        .unwrap();
    assert!(applied.video.storage_path.starts_with('/'));
    assert!(applied.timestamp > 0);
    let cert = applied.temp_certificate.clone();
    let cos = CosClient::new(
        http(),
        CosTarget {
            bucket: applied.bucket(),
            region: applied.storage_region_v5.clone(),
            endpoint: Some(emu.base.clone()),
        },
        Credentials::new(cert.secret_id, cert.secret_key).with_token(Some(cert.token)),
        Arc::new(Clock::new()),
    );
    let early = client
        .commit(&sig, &applied.vod_session_key)
        .await
        .unwrap_err();
    assert_eq!(early.code().as_deref(), Some("10014"));
    let media = bytes(5000, 1);
    cos.put_object(
        &applied.video.storage_path,
        &slice_of(&emu, "v", &media),
        "video/mp4",
    )
    .await
    .unwrap();
    cos.put_object(
        &applied.cover.clone().unwrap().storage_path,
        &slice_of(&emu, "c", &bytes(10, 2)),
        "image/png",
    )
    .await
    .unwrap();
    let committed = client.commit(&sig, &applied.vod_session_key).await.unwrap();
    assert!(committed.cover.is_some());
    let got = http()
        .get(&committed.video.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), media.as_slice());
    let info = vod(&emu)
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![committed.file_id.clone()],
            ..DescribeMediaInfosRequest::default()
        })
        .await
        .unwrap();
    let basic = info.media_info_set[0].basic_info.clone().unwrap();
    assert_eq!(basic.class_id, 12);
    assert_eq!(basic.name, "手机 clip");
    assert_eq!(basic.source_info.unwrap().source_context, "job=7&u=1");
}

#[tokio::test]
async fn client_upload_refusals() {
    let emu = start().await;
    let wrong_key = {
        let now = chrono::Utc::now().timestamp();
        SignatureParams {
            secret_id: DEMO_SECRET_ID.into(),
            current_time: now,
            expire_time: now + 60,
            random: 1,
            ..SignatureParams::default()
        }
        .sign_original_unchecked("not-the-key")
    };
    let answer = post(&emu.base, "ApplyUploadUGC", &apply_body(&wrong_key)).await;
    assert_eq!(answer["code"], 10005, "{answer}");

    let expired = signature(|p| {
        p.current_time -= 100;
        p.expire_time = p.current_time + 10;
    });
    let answer = post(&emu.base, "ApplyUploadUGC", &apply_body(&expired)).await;
    assert_eq!(answer["code"], 10010, "{answer}");

    let too_long = signature(|p| p.expire_time = p.current_time + 91 * 86_400);
    let answer = post(&emu.base, "ApplyUploadUGC", &apply_body(&too_long)).await;
    assert_eq!(answer["code"], 10012, "{answer}");

    let once = signature(|p| p.one_time_valid = true);
    let first = post(&emu.base, "ApplyUploadUGC", &apply_body(&once)).await;
    assert_eq!(first["code"], 0, "{first}");
    let second = post(&emu.base, "ApplyUploadUGC", &apply_body(&once)).await;
    assert_eq!(second["code"], 10011, "{second}");

    let sig = signature(|_| {});
    let answer = post(
        &emu.base,
        "ApplyUploadUGC",
        &json!({ "signature": sig, "vodSessionKey": "nope" }),
    )
    .await;
    assert_eq!(answer["code"], 10009, "{answer}");
    let answer = post(&emu.base, "CommitUploadUGC", &json!({ "signature": sig })).await;
    assert_eq!(answer["code"], 10001, "{answer}");
    let answer = post(&emu.base, "Nope", &json!({ "signature": sig })).await;
    assert_ne!(answer["code"], 0, "{answer}");
    let raw = http()
        .post(format!("{}/v3/index.php?Action=ApplyUploadUGC", emu.base))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let answer: Value = raw.json().await.unwrap();
    assert_eq!(answer["code"], 10001, "{answer}");
    let bad_type = post(
        &emu.base,
        "ApplyUploadUGC",
        &json!({ "signature": sig, "videoType": "exe" }),
    )
    .await;
    assert_eq!(bad_type["code"], 10013, "{bad_type}");
    let nowhere = post(
        &emu.base,
        "ApplyUploadUGC",
        &json!({
            "signature": signature(|p| p.storage_region = Some("ap-nowhere".into())),
            "videoType": "mp4",
        }),
    )
    .await;
    assert_eq!(nowhere["code"], 10015, "{nowhere}");
    let frankfurt = post(
        &emu.base,
        "ApplyUploadUGC",
        &json!({
            "signature": signature(|p| p.storage_region = Some("eu-frankfurt".into())),
            "videoType": "mp4",
        }),
    )
    .await;
    assert_eq!(frankfurt["code"], 0, "{frankfurt}");
    assert_eq!(
        frankfurt["data"]["storageRegionV5"], "eu-frankfurt",
        "{frankfurt}"
    );
}

#[tokio::test]
async fn renewal_returns_the_same_paths_with_a_fresh_certificate() {
    let emu = start().await;
    let client = UgcClient::new(http(), &emu.base).unwrap();
    let sig = signature(|_| {});
    let first = client
        .apply(&ApplyRequest {
            signature: sig.clone(),
            video_name: Some("v".into()),
            video_type: Some("mp4".into()),
            video_size: Some(9),
            ..ApplyRequest::default()
        })
        .await
        .unwrap();
    let renewed = client
        .apply(&ApplyRequest {
            signature: signature(|_| {}),
            vod_session_key: Some(first.vod_session_key.clone()),
            ..ApplyRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(renewed.video.storage_path, first.video.storage_path);
    assert_eq!(renewed.vod_session_key, first.vod_session_key);
    assert_ne!(
        renewed.temp_certificate.secret_id,
        first.temp_certificate.secret_id
    );
}
