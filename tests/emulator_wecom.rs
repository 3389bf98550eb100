//! The emulator's WeCom API: tokens, media limits and lifetimes.

use std::time::Duration;

use serde_json::Value;
use voddesk::emulator::{DEMO_WECOM_CORP_ID, DEMO_WECOM_SECRET};

use crate::emulator_support::{TestEmulator, bytes, http, start};

async fn get_json(url: &str) -> Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

async fn token(emu: &TestEmulator) -> String {
    let answer = get_json(&format!(
        "{}/cgi-bin/gettoken?corpid={DEMO_WECOM_CORP_ID}&corpsecret={DEMO_WECOM_SECRET}",
        emu.base
    ))
    .await;
    assert_eq!(answer["errcode"], 0, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn upload(emu: &TestEmulator, token: &str, kind: &str, name: &str, data: Vec<u8>) -> Value {
    let form = reqwest::multipart::Form::new().part(
        "media",
        reqwest::multipart::Part::bytes(data).file_name(name.to_owned()),
    );
    http()
        .post(format!(
            "{}/cgi-bin/media/upload?access_token={token}&type={kind}",
            emu.base
        ))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn gettoken_checks_corp_and_secret() {
    let emu = start().await;
    let base = &emu.base;
    let wrong_secret = get_json(&format!(
        "{base}/cgi-bin/gettoken?corpid={DEMO_WECOM_CORP_ID}&corpsecret=nope"
    ))
    .await;
    assert_eq!(wrong_secret["errcode"], 40001);
    let wrong_corp = get_json(&format!(
        "{base}/cgi-bin/gettoken?corpid=nope&corpsecret={DEMO_WECOM_SECRET}"
    ))
    .await;
    assert_eq!(wrong_corp["errcode"], 40013);
    let missing = get_json(&format!("{base}/cgi-bin/gettoken")).await;
    assert_eq!(missing["errcode"], 41002);
    let first = token(&emu).await;
    assert_eq!(token(&emu).await, first, "a live token is handed out again");
    let invalid = get_json(&format!(
        "{base}/cgi-bin/media/get?access_token=bogus&media_id=x"
    ))
    .await;
    assert_eq!(invalid["errcode"], 40014);
    let none = get_json(&format!("{base}/cgi-bin/media/get?media_id=x")).await;
    assert_eq!(none["errcode"], 41001);

    // Two hours and a bit later the token has run out; gettoken then hands out a new one.
    emu.handle.update_faults(|f| f.clock_offset_secs = 7201);
    let expired = upload(&emu, &first, "file", "a.txt", b"0123456789".to_vec()).await;
    assert_eq!(expired["errcode"], 42001, "{expired}");
    emu.handle
        .update_faults(|f| f.wecom_token_lifetime = Duration::from_secs(60));
    let fresh = token(&emu).await;
    assert_ne!(fresh, first);
    let answer = get_json(&format!(
        "{base}/cgi-bin/gettoken?corpid={DEMO_WECOM_CORP_ID}&corpsecret={DEMO_WECOM_SECRET}"
    ))
    .await;
    assert!(answer["expires_in"].as_i64().unwrap() <= 60, "{answer}");
}

#[tokio::test]
async fn media_upload_get_and_limits() {
    let emu = start().await;
    let token = token(&emu).await;
    let video = bytes(200_000, 5);
    let answer = upload(&emu, &token, "video", "clip.mp4", video.clone()).await;
    assert_eq!(answer["errcode"], 0, "{answer}");
    assert_eq!(answer["type"], "video");
    assert!(answer["created_at"].is_string());
    let media_id = answer["media_id"].as_str().unwrap().to_owned();
    let url = format!(
        "{}/cgi-bin/media/get?access_token={token}&media_id={media_id}",
        emu.base
    );
    let got = http().get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    let disposition = got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("clip.mp4"), "{disposition}");
    assert_eq!(got.bytes().await.unwrap().as_ref(), video.as_slice());
    let ranged = http()
        .get(&url)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &video[100..200]);

    let mb = 1024 * 1024;
    for (kind, name, data, code) in [
        ("video", "big.mp4", vec![0u8; 10 * mb + 1], 45001),
        ("video", "clip.avi", vec![0u8; 100], 40004),
        ("voice", "v.amr", vec![0u8; 2 * mb + 1], 45001),
        ("voice", "v.mp3", vec![0u8; 100], 40004),
        ("image", "p.png", vec![0u8; 2 * mb + 1], 40009),
        ("image", "p.gif", vec![0u8; 100], 40004),
        ("file", "f.bin", vec![0u8; 20 * mb + 1], 45001),
        ("file", "f.bin", vec![0u8; 5], 40006),
        ("file", "f.bin", Vec::new(), 44001),
        ("sticker", "f.bin", vec![0u8; 100], 40005),
    ] {
        let answer = upload(&emu, &token, kind, name, data).await;
        assert_eq!(answer["errcode"], code, "{kind} {name}: {answer}");
    }
    let unknown = get_json(&format!(
        "{}/cgi-bin/media/get?access_token={token}&media_id=nope",
        emu.base
    ))
    .await;
    assert_eq!(unknown["errcode"], 40007);

    emu.handle
        .update_faults(|f| f.wecom_media_lifetime = Duration::ZERO);
    let expired = get_json(&url).await;
    assert_eq!(expired["errcode"], 40007, "media past its lifetime is gone");
}
