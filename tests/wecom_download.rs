//! Fetching WeChat Work media back (`media/get`: the app's "Save a copy…", `voddesk wecom get`)
//! from a scripted server whose answer breaks off after the first range: nothing partial is
//! left behind, no file is replaced by a failed download, and a complete one is put in place
//! whole.

use std::collections::BTreeMap;
use std::path::Path;

use voddesk::wecom::WeComClient;

use crate::wecom_fake::{self, FakeWeCom, Reply, Request};

const NAME: &str = "clip.mp4";
const TOTAL: usize = 30_000;
const FIRST: usize = 10_000;

fn media() -> Vec<u8> {
    (0..TOTAL).map(|i| (i % 251) as u8).collect()
}

/// How the second range is answered.
#[derive(Debug, Clone, Copy)]
enum Rest {
    /// Whole.
    Served,
    /// Headers, then half the bytes, then the connection closes.
    Cut,
    /// WeCom's "system busy" errcode instead of media.
    Busy,
}

/// A fake WeCom serving [`media`] in two ranges: the first whole, the rest as `rest` says.
async fn server(rest: Rest) -> FakeWeCom {
    wecom_fake::start(move |request: &Request| {
        let bytes = media();
        match request.path.as_str() {
            "/cgi-bin/gettoken" => Reply::token(),
            "/cgi-bin/media/get" if request.range_start() == 0 => {
                Reply::media_range(NAME, 0, &bytes[..FIRST], TOTAL as u64)
            }
            "/cgi-bin/media/get" => match rest {
                Rest::Served => {
                    Reply::media_range(NAME, FIRST as u64, &bytes[FIRST..], TOTAL as u64)
                }
                Rest::Cut => {
                    let Reply::Full {
                        status,
                        headers,
                        body,
                    } = Reply::media_range(NAME, FIRST as u64, &bytes[FIRST..], TOTAL as u64)
                    else {
                        unreachable!()
                    };
                    Reply::Cut {
                        status,
                        headers,
                        declared: body.len(),
                        body: body[..body.len() / 2].to_vec(),
                    }
                }
                Rest::Busy => Reply::json(&serde_json::json!({
                    "errcode": -1, "errmsg": "system busy"
                })),
            },
            other => panic!("unexpected request {other}"),
        }
    })
    .await
}

fn client(fake: &FakeWeCom) -> WeComClient {
    WeComClient::new(reqwest::Client::new(), &fake.base, "wwfake", "fake-secret")
}

/// Every entry of `dir` (hidden ones too) with what it holds: short text as itself, anything
/// longer by its length and hash, a symbolic link as `-> target`.
fn listing(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let path = entry.path();
            let content = if entry.file_type().unwrap().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else {
                describe(&std::fs::read(&path).unwrap())
            };
            (entry.file_name().to_string_lossy().into_owned(), content)
        })
        .collect()
}

fn describe(bytes: &[u8]) -> String {
    use std::hash::{Hash as _, Hasher as _};
    if bytes.len() <= 16 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("{} bytes #{:016x}", bytes.len(), hasher.finish())
}

fn files(entries: &[(&str, &[u8])]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(name, content)| ((*name).to_owned(), describe(content)))
        .collect()
}

#[tokio::test]
async fn a_download_that_breaks_off_leaves_nothing_behind_and_replaces_nothing() {
    for rest in [Rest::Cut, Rest::Busy] {
        let fake = server(rest).await;
        let client = client(&fake);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(NAME), b"mine").unwrap();
        std::fs::write(dir.path().join("keep.bin"), b"precious").unwrap();
        let before = listing(dir.path());
        let mut after = Vec::new();
        // Into a folder (the app without a file dialog; `--output DIR`); onto a file the user
        // chose, which stays as it was; to a new file, which does not appear.
        for (case, output) in [
            ("into the folder", dir.path().to_path_buf()),
            ("onto a file", dir.path().join("keep.bin")),
            ("to a new file", dir.path().join("new.bin")),
        ] {
            let err = client.download("MEDIA", &output).await.unwrap_err();
            after.push((case, err.to_string(), listing(dir.path())));
        }
        for (case, err, listing) in &after {
            assert_eq!(listing, &before, "{rest:?} {case}: {err}\n{after:#?}");
        }
    }
}

#[tokio::test]
async fn a_complete_download_is_put_in_place_whole() {
    let fake = server(Rest::Served).await;
    let client = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let bytes = media();
    std::fs::write(dir.path().join(NAME), b"mine").unwrap();

    // Into a folder: beside the file of that name, never over it.
    let saved = client.download("MEDIA", dir.path()).await.unwrap();
    assert_eq!(saved, dir.path().join("clip (2).mp4"));
    assert_eq!(
        listing(dir.path()),
        files(&[(NAME, b"mine"), ("clip (2).mp4", &bytes)])
    );

    // Onto a file the user chose: replaced, once complete.
    let chosen = dir.path().join(NAME);
    assert_eq!(client.download("MEDIA", &chosen).await.unwrap(), chosen);
    assert_eq!(
        listing(dir.path()),
        files(&[(NAME, &bytes), ("clip (2).mp4", &bytes)])
    );

    // Through a symbolic link: the file it points at gets the media, the link stays.
    #[cfg(unix)]
    {
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(inner.join("target.bin"), b"old").unwrap();
        std::os::unix::fs::symlink(inner.join("target.bin"), dir.path().join("link.bin")).unwrap();
        let link = dir.path().join("link.bin");
        assert_eq!(client.download("MEDIA", &link).await.unwrap(), link);
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(listing(&inner), files(&[("target.bin", &bytes)]));
    }
}

#[tokio::test]
async fn a_download_clears_what_a_killed_one_left_and_nothing_else() {
    let fake = server(Rest::Served).await;
    let client = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    // A `kill -9` skips the clean-up: its temporary file stays, untouched from then on. A
    // running download's (another process's) is fresh; a file of the user's only looks alike.
    let stale = dir.path().join(".voddesk-0123456789abcdef.part");
    std::fs::write(&stale, b"killed").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    std::fs::write(
        dir.path().join(".voddesk-fedcba9876543210.part"),
        b"running",
    )
    .unwrap();
    let users = dir.path().join("voddesk-notes.part");
    std::fs::write(&users, b"mine").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&users)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    client.download("MEDIA", dir.path()).await.unwrap();
    assert_eq!(
        listing(dir.path()),
        files(&[
            (NAME, &media()),
            (".voddesk-fedcba9876543210.part", b"running"),
            ("voddesk-notes.part", b"mine"),
        ])
    );
}
