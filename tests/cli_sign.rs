//! `voddesk sign` run as a user runs it: the real binary, credentials from the environment.

use std::process::{Command, Output};

use voddesk::tencent::ugc_sign;

const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

fn sign(args: &[&str], with_key: bool) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_voddesk"));
    command
        .arg("sign")
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("VODDESK_DATA_DIR", dir.path());
    if with_key {
        command
            .env("TENCENTCLOUD_SECRET_ID", ID)
            .env("TENCENTCLOUD_SECRET_KEY", KEY);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn reproduces_the_first_vector() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/signatures.json")).unwrap();
    let expected = vectors["vod_client_upload_signature"][0]["signature"]
        .as_str()
        .unwrap();
    let output = sign(
        &[
            "--now",
            "1763683200",
            "--random",
            "220625",
            "--valid",
            "86400",
        ],
        true,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), expected);
}

#[test]
fn optional_fields_decode_to_exactly_what_was_given() {
    let context = "编辑=张三 & id=7 +~/";
    let output = sign(
        &[
            "--now",
            "1763683200",
            "--random",
            "4294967295",
            "--valid",
            "7776000",
            "--procedure",
            "QCVB_SimpleProcessFile({10,20},150,10,10)",
            "--source-context",
            context,
            "--one-time",
            "--class-id",
            "12",
            "--sub-app-id",
            "1500000001",
        ],
        true,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let decoded = ugc_sign::decode(stdout(&output).trim()).unwrap();
    assert!(decoded.verify(KEY));
    let params = &decoded.params;
    assert_eq!(params.secret_id, ID);
    assert_eq!(params.current_time, 1_763_683_200);
    assert_eq!(params.expire_time, 1_763_683_200 + 7_776_000);
    assert_eq!(params.random, u32::MAX);
    assert_eq!(
        params.procedure.as_deref(),
        Some("QCVB_SimpleProcessFile({10,20},150,10,10)")
    );
    assert_eq!(params.source_context.as_deref(), Some(context));
    assert!(params.one_time_valid);
    assert_eq!(params.class_id, Some(12));
    assert_eq!(params.vod_sub_app_id, Some(1_500_000_001));
    // The four required parameters come first, in the documented order.
    assert!(decoded.original.starts_with(&format!(
        "secretId={ID}&currentTimeStamp=1763683200&expireTime=1771459200&random=4294967295&"
    )));
    assert!(decoded.extra.is_empty());
}

#[test]
fn random_signatures_differ_and_verify() {
    let a = stdout(&sign(&[], true));
    let b = stdout(&sign(&[], true));
    assert_ne!(a, b);
    assert!(ugc_sign::decode(a.trim()).unwrap().verify(KEY));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: &[(&[&str], bool, &str)] = &[
        (&[], false, "no API key"),
        (&["--valid", "7776001"], true, "90 days"),
        (&["--valid", "0"], true, "--valid"),
        (&["--valid", "-5"], true, "--valid"),
        (&["--now", "-1"], true, "--now"),
        (&["--random", "-1"], true, "--random"),
        (&["--random", "4294967296"], true, "--random"),
        (&["--class-id", "-3"], true, "--class-id"),
        (&["--valid", "abc"], true, "invalid value"),
        (&["--nonsense"], true, "unexpected argument"),
    ];
    for (args, with_key, needle) in cases {
        let output = sign(args, *with_key);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains(KEY), "{args:?}: the secret leaked: {err}");
        assert!(stdout(&output).is_empty());
    }
    let long = "字".repeat(251);
    let output = sign(&["--source-context", &long], true);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("250"));
}

fn voddesk(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voddesk"))
        .args(args)
        .env_clear()
        .env("VODDESK_DATA_DIR", data_dir)
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .output()
        .unwrap()
}

#[test]
fn tokens_are_printed_once_listed_without_them_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let added = voddesk(
        dir.path(),
        &[
            "sign-server",
            "token",
            "add",
            "alice",
            "--procedure",
            "P2",
            "--valid",
            "600",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let token = stdout(&added);
    assert_eq!(token.lines().count(), 1);
    let token = token.trim();
    assert!(token.len() >= 26, "at least 128 bits: {token}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let again = voddesk(dir.path(), &["sign-server", "token", "add", "alice"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("revoke it first"));

    let list = voddesk(dir.path(), &["sign-server", "token", "list", "--json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    assert!(!text.contains(token));
    let row: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(row["name"], "alice");
    assert_eq!(row["uses"], 0);
    assert_eq!(row["last_used"], serde_json::Value::Null);
    assert_eq!(row["procedure"], "P2");
    assert_eq!(row["valid"], 600);
    assert!(row["created"].as_str().unwrap().ends_with('Z'));
    let table = voddesk(dir.path(), &["sign-server", "token", "list"]);
    assert!(stdout(&table).contains("alice"));
    assert!(!stdout(&table).contains(token));

    let revoked = voddesk(dir.path(), &["sign-server", "token", "revoke", "alice"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let twice = voddesk(dir.path(), &["sign-server", "token", "revoke", "alice"]);
    assert_eq!(twice.status.code(), Some(1));
    // Nothing live: the server does not start, and says how to add a token.
    let server = voddesk(dir.path(), &["sign-server", "--addr", "127.0.0.1:0"]);
    assert_eq!(server.status.code(), Some(2));
    assert!(stderr(&server).contains("token add"), "{}", stderr(&server));
    let help = voddesk(dir.path(), &["sign-server", "--help"]);
    let help = stdout(&help);
    assert!(
        help.contains("Who can get what") && help.contains("--behind-proxy"),
        "{help}"
    );
}

#[test]
fn beyond_loopback_without_tls_is_refused_naming_both_ways_out() {
    let dir = tempfile::tempdir().unwrap();
    voddesk(dir.path(), &["sign-server", "token", "add", "bob"]);
    // Refused before it binds: nothing listens beyond loopback in the tests.
    let output = voddesk(dir.path(), &["sign-server", "--addr", "0.0.0.0:0"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--tls-cert") && err.contains("--behind-proxy"),
        "{err}"
    );
    let output = voddesk(dir.path(), &["sign-server", "--rate", "0"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("--rate"), "{err}");
}

#[test]
fn sign_server_hands_out_fresh_one_time_signatures() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let added = voddesk(dir.path(), &["sign-server", "token", "add", "editor"]);
    let token = stdout(&added).trim().to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voddesk"))
        .args([
            "sign-server",
            "--addr",
            "127.0.0.1:0",
            "--procedure",
            "P1",
            "--rate",
            "100/min",
        ])
        .env_clear()
        .env("VODDESK_DATA_DIR", dir.path())
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let fetch = |token: Option<&str>| -> (u16, serde_json::Value) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut request = reqwest::Client::new().get(&url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json().await.unwrap())
        })
    };
    let (a, b) = (fetch(Some(&token)), fetch(Some(&token)));
    let refused = fetch(None);
    // Revoked from another process while the server runs.
    voddesk(dir.path(), &["sign-server", "token", "revoke", "editor"]);
    let revoked = fetch(Some(&token));
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!((a.0, b.0, refused.0, revoked.0), (200, 200, 401, 401));
    let (a, b) = (a.1, b.1);
    let sig_a = a["signature"].as_str().unwrap();
    assert_eq!(a["data"]["signature"], a["signature"]);
    assert_ne!(sig_a, b["signature"].as_str().unwrap());
    let decoded = ugc_sign::decode(sig_a).unwrap();
    assert!(decoded.verify(KEY));
    assert!(decoded.params.one_time_valid);
    assert_eq!(decoded.params.procedure.as_deref(), Some("P1"));
    assert_eq!(
        a["expires_at"].as_i64().unwrap(),
        decoded.params.expire_time
    );
    let audit = std::fs::read_to_string(dir.path().join("sign-server/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 4);
    assert!(!audit.contains(&token) && !audit.contains(sig_a));
}
