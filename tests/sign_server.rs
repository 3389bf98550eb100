//! `voddesk sign-server` as a team runs it: a real server on 127.0.0.1:0, editors' tokens,
//! revocation without a restart, the per-token rate, the audit log, TLS, and the app's engine
//! uploading through it.

use std::path::Path;
use std::time::Duration;

use voddesk::emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Faults};
use voddesk::engine::api::{
    Command, Destination, Event, ItemOptions, ItemState, NewItem, UploadFlow,
};
use voddesk::sign_server::audit::AUDIT_FILE;
use voddesk::sign_server::tokens::{Constraints, TokenStore};
use voddesk::sign_server::{self, Defaults, ServerConfig, ServerError, ServerHandle, TlsFiles};
use voddesk::tencent::Credentials;
use voddesk::tencent::sign_service::SignatureToken;
use voddesk::tencent::ugc_sign;

use crate::support::*;

const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

fn config(data_dir: &Path, rate: u32) -> ServerConfig {
    ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        credentials: Credentials::new(ID, KEY),
        defaults: Defaults {
            procedure: Some("P1".into()),
            class_id: None,
            source_context: None,
            valid: 3600,
            one_time: true,
            sub_app_id: None,
        },
        rate_per_minute: rate,
        tls: None,
        behind_proxy: false,
    }
}

fn tokens(data_dir: &Path) -> TokenStore {
    TokenStore::open(&sign_server::dir(data_dir)).unwrap()
}

fn add(data_dir: &Path, name: &str, constraints: &Constraints) -> String {
    tokens(data_dir)
        .add(name, constraints, chrono::Utc::now().timestamp())
        .unwrap()
}

async fn get(
    client: &reqwest::Client,
    server: &ServerHandle,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = client.get(server.url());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn audit_lines(data_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(sign_server::dir(data_dir).join(AUDIT_FILE))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn only_live_tokens_get_signatures_carrying_their_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let alice = add(
        data,
        "alice",
        &Constraints {
            procedure: Some("AliceFlow".into()),
            class_id: Some(7),
            source_context: Some("team=news".into()),
            valid: Some(600),
        },
    );
    let bob = add(data, "bob", &Constraints::default());
    let server = sign_server::spawn(config(data, 60)).await.unwrap();
    let client = reqwest::Client::new();

    let (status, headers, body) = get(&client, &server, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized");
    assert!(headers.contains_key("www-authenticate"));
    assert!(body["message"].as_str().unwrap().contains("Bearer"));
    let (status, _, body) = get(&client, &server, Some("vds_not-a-token")).await;
    assert_eq!(status, 401, "{body}");

    let (status, _, body) = get(&client, &server, Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    let signature = body["signature"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["signature"], body["signature"]);
    let decoded = ugc_sign::decode(&signature).unwrap();
    assert!(decoded.verify(KEY));
    assert!(!decoded.verify("another key"));
    let params = &decoded.params;
    assert_eq!(params.secret_id, ID);
    assert_eq!(params.procedure.as_deref(), Some("AliceFlow"));
    assert_eq!(params.class_id, Some(7));
    assert_eq!(params.source_context.as_deref(), Some("team=news"));
    assert_eq!(params.expire_time - params.current_time, 600);
    assert!(params.one_time_valid);
    assert_eq!(body["expires_at"].as_i64(), Some(params.expire_time));

    // Bob's token has no constraints of its own: the server's defaults apply.
    let (status, _, body) = get(&client, &server, Some(&bob)).await;
    assert_eq!(status, 200, "{body}");
    let bobs = ugc_sign::decode(body["signature"].as_str().unwrap()).unwrap();
    assert_eq!(bobs.params.procedure.as_deref(), Some("P1"));
    assert_eq!(bobs.params.class_id, None);
    assert_eq!(bobs.params.expire_time - bobs.params.current_time, 3600);

    // Revoked from another handle on the table (as `token revoke` does from another
    // process): refused at the next request, no restart.
    assert!(
        tokens(data)
            .revoke("alice", chrono::Utc::now().timestamp())
            .unwrap()
    );
    let (status, _, body) = get(&client, &server, Some(&alice)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("revoked"));
    let (status, _, _) = get(&client, &server, Some(&bob)).await;
    assert_eq!(status, 200);
    server.shutdown().await;

    let lines = audit_lines(data);
    let outcomes: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["outcome"].as_str().unwrap(),
                l["token"].as_str(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("missing_token", None, 401),
            ("unknown_token", None, 401),
            ("signed", Some("alice"), 200),
            ("signed", Some("bob"), 200),
            ("revoked_token", Some("alice"), 401),
            ("signed", Some("bob"), 200),
        ]
    );
    assert_eq!(lines[2]["procedure"], "AliceFlow");
    assert_eq!(lines[2]["class_id"], 7);
    assert_eq!(lines[2]["expires_at"].as_i64(), Some(params.expire_time));
    assert!(
        lines[2]["remote"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(lines[2]["time"].as_str().unwrap().ends_with('Z'));
    let text = std::fs::read_to_string(sign_server::dir(data).join(AUDIT_FILE)).unwrap();
    for secret in [alice.as_str(), bob.as_str(), signature.as_str(), KEY] {
        assert!(!text.contains(secret), "the audit log holds a secret");
    }
    let listed = tokens(data).list().unwrap();
    assert_eq!(listed.iter().find(|t| t.name == "bob").unwrap().uses, 2);
}

#[tokio::test]
async fn past_the_rate_is_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let carol = add(dir.path(), "carol", &Constraints::default());
    let dave = add(dir.path(), "dave", &Constraints::default());
    let server = sign_server::spawn(config(dir.path(), 3)).await.unwrap();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(get(&client, &server, Some(&carol)).await.0, 200);
    }
    let (status, headers, body) = get(&client, &server, Some(&carol)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "20");
    assert_eq!(body["error"], "rate_limited");
    // Each token has its own rate.
    assert_eq!(get(&client, &server, Some(&dave)).await.0, 200);
    server.shutdown().await;
    let limited = audit_lines(dir.path())
        .iter()
        .filter(|l| l["outcome"] == "rate_limited" && l["token"] == "carol")
        .count();
    assert_eq!(limited, 1);
}

#[tokio::test]
async fn refuses_to_run_open_or_with_nobody_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let err = sign_server::spawn(config(dir.path(), 60))
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::NoTokens), "{err}");
    assert!(err.to_string().contains("token add"), "{err}");
    add(dir.path(), "erin", &Constraints::default());
    // Checked before anything binds: this test never listens beyond loopback.
    let mut open = config(dir.path(), 60);
    open.addr = "0.0.0.0:0".parse().unwrap();
    let err = sign_server::spawn(open).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ServerError::Exposed { .. }), "{text}");
    assert!(
        text.contains("--tls-cert") && text.contains("--behind-proxy"),
        "{text}"
    );
}

#[tokio::test]
async fn headers_and_bodies_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let frank = add(dir.path(), "frank", &Constraints::default());
    let server = sign_server::spawn(config(dir.path(), 60)).await.unwrap();
    let client = reqwest::Client::new();
    let mut request = client.get(server.url()).bearer_auth(&frank);
    for i in 0..80 {
        request = request.header(format!("x-filler-{i}"), "x");
    }
    // Too many headers: hyper answers 431 or closes the connection.
    match request.send().await {
        Ok(response) => assert_eq!(response.status().as_u16(), 431),
        Err(err) => assert!(err.is_request() || err.is_connect(), "{err}"),
    }
    let response = client
        .get(server.url())
        .bearer_auth(&frank)
        .body("x".repeat(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let response = client
        .post(server.url())
        .bearer_auth(&frank)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let url = server.url().replace("/signature", "/other");
    assert_eq!(client.get(url).send().await.unwrap().status().as_u16(), 404);
    server.shutdown().await;
}

#[tokio::test]
async fn tls_with_a_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let grace = add(dir.path(), "grace", &Constraints::default());
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut tls = config(dir.path(), 60);
    tls.tls = Some(TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
    });
    let server = sign_server::spawn(tls).await.unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let (status, _, body) = get(&client, &server, Some(&grace)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        ugc_sign::decode(body["signature"].as_str().unwrap())
            .unwrap()
            .verify(KEY)
    );
    assert_eq!(get(&client, &server, None).await.0, 401);
    // A client that does not trust the certificate gets no answer at all.
    assert!(reqwest::get(server.url()).await.is_err());
    // Nor does plain HTTP on the TLS port.
    let plain = server.url().replace("https://", "http://");
    assert!(client.get(plain).bearer_auth(&grace).send().await.is_err());
    server.shutdown().await;

    // A key that is not a key is refused by name, before anything listens.
    std::fs::write(&key, "not a key").unwrap();
    let mut broken = config(dir.path(), 60);
    broken.tls = Some(TlsFiles { cert, key });
    let err = sign_server::spawn(broken).await.unwrap_err();
    assert!(err.to_string().contains("TLS key"), "{err}");
}

fn new_item(path: &Path) -> NewItem {
    NewItem {
        path: path.to_path_buf(),
        destination: Destination::Vod,
        options: ItemOptions::default(),
    }
}

async fn upload_one(
    emu: &Emu,
    data_dir: &Path,
    server: &ServerHandle,
    token: &str,
    file: &Path,
) -> ItemState {
    let mut config = engine_config(&emu.base, data_dir, UploadFlow::ClientUpload);
    config.service.credentials = None;
    config.service.signature_url = Some(server.url());
    config.service.signature_token = SignatureToken::new(token);
    let mut engine = start(config);
    match engine.recv().await {
        Some(Event::Loaded(_)) => {}
        other => panic!("expected Loaded, got {other:?}"),
    }
    engine
        .send(Command::Add(vec![new_item(file)]))
        .await
        .unwrap();
    let mut id = None;
    events_until(&mut engine, Duration::from_secs(30), |event| {
        if let Event::Added(snapshot) = event {
            id = Some(snapshot.id);
        }
        id.is_some()
    })
    .await;
    let id = id.unwrap();
    let state = finish(&mut engine, &[id], Duration::from_secs(60)).await[&id].clone();
    engine.shutdown().await;
    state
}

/// The editor's app (its engine, in signature mode with no API key) uploads through the
/// service with its token; once the token is revoked its next upload fails at once with a
/// message that says what to do, after one request, not a storm of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_engine_uploads_with_a_token_until_it_is_revoked() {
    let emu = emulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let server_data = dir.path().join("server");
    let token = add(&server_data, "heidi", &Constraints::default());
    let mut server_config = config(&server_data, 60);
    server_config.credentials = Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY);
    server_config.defaults.procedure = None;
    let server = sign_server::spawn(server_config).await.unwrap();

    let file = tmp_file(dir.path(), "signed.mp4", 300 * 1024, 91);
    let state = upload_one(&emu, &dir.path().join("app"), &server, &token, &file).await;
    let (_, url, _) = done_urls(&state);
    assert_same(&url, &file).await;
    let signed = audit_lines(&server_data)
        .iter()
        .filter(|l| l["outcome"] == "signed" && l["token"] == "heidi")
        .count();
    assert!(
        signed >= 2,
        "apply and commit each take a signature: {signed}"
    );

    tokens(&server_data)
        .revoke("heidi", chrono::Utc::now().timestamp())
        .unwrap();
    let again = tmp_file(dir.path(), "after revoke.mp4", 100 * 1024, 92);
    let state = upload_one(&emu, &dir.path().join("app2"), &server, &token, &again).await;
    let ItemState::Failed(err) = state else {
        panic!("a revoked token uploaded: {state:?}");
    };
    assert!(
        err.message.contains("refused this computer's token")
            && err.message.contains("ask your admin for a new one"),
        "{}",
        err.message
    );
    assert!(!err.retryable);
    assert!(!err.message.contains(&token));
    let refused = audit_lines(&server_data)
        .iter()
        .filter(|l| l["outcome"] == "revoked_token")
        .count();
    assert_eq!(refused, 1, "a refused token is not asked again");
    server.shutdown().await;
}
