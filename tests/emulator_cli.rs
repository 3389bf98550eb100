//! `voddesk emulator` as a process: the first stdout line, the credentials, loopback only.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::emulator_support::{RawCall, error_code};

fn command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_voddesk"));
    // Keys in the developer's environment must not leak into what the emulator accepts.
    for name in [
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "WECOM_CORP_ID",
        "WECOM_CORP_SECRET",
    ] {
        command.env_remove(name);
    }
    command.kill_on_drop(true);
    command
}

#[tokio::test]
async fn prints_its_address_and_credentials_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command()
        .args(["emulator", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(["--secret-id", "AKIDcliTEST", "--secret-key", "cliSECRET"])
        .args(["--review-delay-ms", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line is {first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let mut rest = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(500), lines.next_line()).await
    {
        rest.push(line);
    }
    assert!(
        rest.iter().any(|l| l == "SecretId: AKIDcliTEST"),
        "{rest:?}"
    );
    assert!(rest.iter().any(|l| l == "SecretKey: cliSECRET"), "{rest:?}");
    let mut call = RawCall::new("DescribeMediaInfos", br#"{"FileIds":["1"]}"#);
    call.secret_id = "AKIDcliTEST";
    call.secret_key = "cliSECRET";
    let (status, _, answer) = call.send(&base).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&answer), None, "{answer}");
    child.kill().await.unwrap();

    // Secrets from the environment may be real ones: none of their characters are printed.
    let mut child = command()
        .args(["emulator", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("env"))
        .env("TENCENTCLOUD_SECRET_ID", "AKIDfromENVIRONMENT")
        .env(
            "TENCENTCLOUD_SECRET_KEY",
            "envKEYabcdefghij0123456789xyzXYZ",
        )
        .env("WECOM_CORP_SECRET", "envsecret")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        let done = line.starts_with("WeCom secret");
        printed.push(line);
        if done {
            break;
        }
    }
    let printed = printed.join("\n");
    assert!(
        printed.contains("SecretKey: ******** (from TENCENTCLOUD_SECRET_KEY; not shown)"),
        "{printed}"
    );
    assert!(
        printed.contains("WeCom secret: ******** (from WECOM_CORP_SECRET; not shown)"),
        "{printed}"
    );
    for part in ["envKEY", "xyzXYZ", "envsecret", "envs*"] {
        assert!(!printed.contains(part), "{part} in {printed}");
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn refuses_a_non_loopback_address_without_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let output = command()
        .args(["emulator", "--addr", "0.0.0.0:0", "--data"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

/// `--tls`: the same port answers https with a certificate made for localhost, 127.0.0.1 and
/// the `--tls-name`s, whose PEM path is printed beside the address; a client that trusts it
/// gets the same API (signed calls verify, media URLs say https), plain http goes on working,
/// and a client that does not trust it is refused.
#[tokio::test]
async fn tls_serves_the_same_routes_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command()
        .args(["emulator", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(["--tls", "--tls-name", "voddesk.test"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await
    {
        let done = line.starts_with("data:");
        printed.push(line);
        if done {
            break;
        }
    }
    let plain = printed[0].strip_prefix("listening on ").unwrap().to_owned();
    assert!(plain.starts_with("http://127.0.0.1:"), "{printed:?}");
    let https_line = printed
        .iter()
        .find(|l| l.starts_with("listening on https://"))
        .unwrap_or_else(|| panic!("no https line: {printed:?}"));
    let (address, cert) = https_line
        .strip_prefix("listening on ")
        .unwrap()
        .split_once(" (certificate: ")
        .unwrap();
    let cert = std::path::PathBuf::from(cert.trim_end_matches(')'));
    assert_eq!(address, plain.replacen("http://", "https://", 1));
    let pem = std::fs::read(&cert).unwrap();
    assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    let port = plain.rsplit(':').next().unwrap();

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let vod_at = |host: &str| {
        voddesk::tencent::vod::VodClient::new(
            trusting.clone(),
            &format!("https://{host}:{port}"),
            "ap-guangzhou",
            voddesk::tencent::Credentials::new(
                voddesk::emulator::DEMO_SECRET_ID,
                voddesk::emulator::DEMO_SECRET_KEY,
            ),
            std::sync::Arc::new(voddesk::tencent::clock::Clock::new()),
        )
        .unwrap()
    };
    for host in ["127.0.0.1", "localhost"] {
        let answer = vod_at(host)
            .call(&voddesk::tencent::models::SearchMediaRequest::default())
            .await
            .unwrap_or_else(|err| panic!("over https to {host}: {err}"));
        assert_eq!(answer.total_count, 0);
    }
    // A file uploaded over plain http, described over https: its URL says https, and serves
    // the file over it.
    let clip = dir.path().join("tls clip.mp4");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&clip, &bytes).unwrap();
    let upload = command()
        .args(["upload", "--json"])
        .arg(&clip)
        .env("TENCENTCLOUD_SECRET_ID", voddesk::emulator::DEMO_SECRET_ID)
        .env(
            "TENCENTCLOUD_SECRET_KEY",
            voddesk::emulator::DEMO_SECRET_KEY,
        )
        .env("VODDESK_VOD_ENDPOINT", &plain)
        .env("VODDESK_COS_ENDPOINT", &plain)
        .env("VODDESK_UGC_ENDPOINT", &plain)
        .env("VODDESK_DATA_DIR", dir.path().join("client"))
        .output()
        .await
        .unwrap();
    assert!(upload.status.success(), "{upload:?}");
    let result: serde_json::Value = String::from_utf8_lossy(&upload.stdout)
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap();
    let file_id = result["file_id"].as_str().unwrap().to_owned();
    let described = vod_at("127.0.0.1")
        .call(&voddesk::tencent::models::DescribeMediaInfosRequest {
            file_ids: vec![file_id.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    let media_url = described.media_info_set[0]
        .basic_info
        .as_ref()
        .unwrap()
        .media_url
        .clone();
    assert!(
        media_url.starts_with(&format!("https://127.0.0.1:{port}/")),
        "{media_url}"
    );
    let served = trusting.get(&media_url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.bytes().await.unwrap() == bytes, "{media_url}");
    // Routes other than the VOD API answer over https too (a page of no media: 404).
    let page = trusting
        .get(format!("https://127.0.0.1:{port}/wechat/123"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    // The certificate is valid for the name given with --tls-name too.
    let socket: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let by_name = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .resolve("voddesk.test", socket)
        .no_proxy()
        .build()
        .unwrap();
    let named = by_name
        .get(format!("https://voddesk.test:{port}/wechat/123"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("https by the --tls-name name: {err}"));
    assert_eq!(named.status(), 404);
    // Plain http still answers on the same port.
    let (status, _, answer) = RawCall::new("DescribeMediaInfos", br#"{"FileIds":["1"]}"#)
        .send(&plain)
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&answer), None, "{answer}");
    // Without the certificate, TLS is refused.
    let untrusting = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(
        untrusting
            .get(format!("https://127.0.0.1:{port}/wechat/123"))
            .send()
            .await
            .is_err()
    );
    child.kill().await.unwrap();
}
