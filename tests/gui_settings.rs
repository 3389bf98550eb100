//! The settings window: validation messages, saving, the masked key.

use std::time::Duration;

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use voddesk::engine::api::{Command, EngineTuning};
use voddesk::gui::i18n::Lang;
use voddesk::settings::Settings;

use crate::gui_support::{app, wait_for};

/// The text field named `name` (its label is a separate node with the same name).
fn field<'h>(
    harness: &'h egui_kittest::Harness<'static, voddesk::gui::VodDeskApp>,
    name: &'h str,
) -> egui_kittest::Node<'h> {
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, name)
}

/// The first place `text` shows in the window, if any: a node's label, its value (what a text
/// field displays, masked for a password field) or its description.
fn shown(
    harness: &egui_kittest::Harness<'static, voddesk::gui::VodDeskApp>,
    text: &str,
) -> Option<String> {
    harness.root().children_recursive().find_map(|node| {
        let node = node.accesskit_node();
        [node.label(), node.value(), node.description()]
            .into_iter()
            .flatten()
            .find(|shown| shown.contains(text))
            .map(|shown| format!("{:?}: {shown:?}", node.role()))
    })
}

#[test]
fn settings_validate_then_save_with_the_key_masked() {
    let (mut harness, mut fake) = app(Lang::En);
    harness.get_by_label("Settings").click();
    harness.run();

    field(&harness, "Region").set_text_value_accesskit("Guangzhou!");
    field(&harness, "Files at once").set_text_value_accesskit("999");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label("Fix the fields marked in red, then save.");
    harness.get_by_label_contains("a region looks like ap-guangzhou");
    harness.get_by_label("enter a whole number from 0 to 64");
    assert!(!fake.dir.path().join("settings.json").exists());

    field(&harness, "Region").set_text_value_accesskit("ap-chongqing");
    field(&harness, "Files at once").set_text_value_accesskit("3");
    field(&harness, "Bandwidth limit (KiB/s)").set_text_value_accesskit("2048");
    field(&harness, "SecretId").set_text_value_accesskit("AKIDexample0000000001");
    harness
        .get_by_role_and_label(egui::accesskit::Role::PasswordInput, "SecretKey")
        .set_text_value_accesskit("TopSecretKeyValue12345");
    harness.run();
    // Typed, the SecretKey shows as dots.
    assert_eq!(shown(&harness, "TopSecretKeyValue12345"), None);
    harness.get_by_label("Save").click();
    let settings_file = fake.dir.path().join("settings.json");
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("Settings saved.").is_some()
    });
    let saved = Settings::load(fake.dir.path()).unwrap();
    assert_eq!(saved.region, "ap-chongqing");
    assert_eq!(saved.parallel_files, 3);
    assert_eq!(saved.bandwidth_kib, Some(2048));
    assert!(settings_file.exists());
    // The key went to the 0600 file, not into settings.json.
    let text = std::fs::read_to_string(&settings_file).unwrap();
    assert!(!text.contains("TopSecretKeyValue12345"));
    let key_file = fake
        .dir
        .path()
        .join(voddesk::settings::credentials::KEY_FILE);
    assert!(key_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Shown masked, never in full: in no label and no text field.
    harness.get_by_label_contains("AKID*************0001");
    assert_eq!(
        shown(&harness, "TopSecretKeyValue12345"),
        None,
        "the SecretKey must never be shown"
    );
    assert_eq!(
        shown(&harness, "AKIDexample0000000001"),
        None,
        "the SecretId is shown masked"
    );
    // The tuning change reached the engine, as saved: 3 files at once, 2048 KiB/s.
    let tunes: Vec<EngineTuning> = fake
        .take_commands()
        .into_iter()
        .filter_map(|command| match command {
            Command::Tune(tuning) => Some(tuning),
            _ => None,
        })
        .collect();
    let last = tunes
        .last()
        .expect("saving the settings sends Command::Tune");
    assert_eq!(last.parallel_files, 3, "{tunes:?}");
    assert_eq!(last.bandwidth_limit, Some(2048 * 1024), "{tunes:?}");
}

#[test]
fn test_connection_reports_in_words() {
    use voddesk::engine::api::{ConnectionReport, Event, UserError};
    let (mut harness, mut fake) = app(Lang::En);
    harness.get_by_label("Settings").click();
    harness.run();
    // Demo mode and no key typed: there is nothing to test, and the window says who answers.
    harness.get_by_label("Test connection").click();
    harness.run();
    harness.get_by_label_contains("Demo mode: there is no API key to test.");
    harness.get_by_label_contains("http://127.0.0.1:9");
    assert!(
        !fake
            .take_commands()
            .iter()
            .any(|c| matches!(c, Command::TestConnection(_))),
        "nothing to test in demo mode"
    );

    // A typed key is tested by the engine (the window builds no HTTP client), and its answer
    // is said in words, failure and success alike.
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "SecretId")
        .set_text_value_accesskit("AKIDexample0000000001");
    harness
        .get_by_role_and_label(egui::accesskit::Role::PasswordInput, "SecretKey")
        .set_text_value_accesskit("TopSecretKeyValue12345");
    harness.run();
    harness.get_by_label("Test connection").click();
    harness.run();
    let probe = fake
        .take_commands()
        .into_iter()
        .find_map(|c| match c {
            Command::TestConnection(probe) => Some(probe),
            _ => None,
        })
        .expect("the typed key goes to the engine");
    assert_eq!(
        probe.credentials.as_ref().map(|c| c.secret_id.as_str()),
        Some("AKIDexample0000000001")
    );
    fake.send(Event::ConnectionTested(Err(UserError {
        message: "Could not reach VOD API at vod.tencentcloudapi.com".into(),
        code: None,
        request_id: None,
        retryable: true,
    })));
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("Could not reach VOD API")
            .is_some()
    });
    harness.get_by_label("Test connection").click();
    harness.run();
    fake.send(Event::ConnectionTested(Ok(ConnectionReport {
        endpoint: "https://vod.tencentcloudapi.com".into(),
        total: 7,
        request_id: "req-ok".into(),
    })));
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("req-ok").is_some()
    });
}

/// The WeChat Work application in settings: a secret without its CorpID is refused; saved, the
/// CorpID goes to settings.json and the secret to the private store (never settings.json, never
/// shown), and a restart is asked for.
#[test]
fn wechat_work_application_is_saved_with_its_secret_kept_apart() {
    let (mut harness, fake) = app(Lang::En);
    harness.get_by_label("Settings").click();
    harness.run();
    let secret = "wecomAppSecretValue-0123456789";
    harness
        .get_by_role_and_label(egui::accesskit::Role::PasswordInput, "Secret")
        .set_text_value_accesskit(secret);
    harness.run();
    assert_eq!(shown(&harness, secret), None, "typed, it shows as dots");
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label("enter the CorpID the secret belongs to");
    assert_eq!(shown(&harness, secret), None, "kept in the form, as dots");
    assert!(!fake.dir.path().join("settings.json").exists());

    field(&harness, "CorpID").set_text_value_accesskit("ww0123456789abcdef");
    harness.run();
    harness.get_by_label("Save").click();
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("Settings saved.").is_some()
    });
    harness.get_by_label_contains("Restart");
    let saved = Settings::load(fake.dir.path()).unwrap();
    assert_eq!(saved.wecom_corp_id, "ww0123456789abcdef");
    let text = std::fs::read_to_string(fake.dir.path().join("settings.json")).unwrap();
    assert!(!text.contains(secret));
    let store = voddesk::settings::credentials::CredentialStore::file_only(fake.dir.path());
    assert_eq!(
        store.load_wecom_secret().unwrap().map(|(secret, _)| secret),
        Some(secret.to_owned())
    );
    assert_eq!(
        shown(&harness, secret),
        None,
        "the secret must never be shown"
    );
}

/// "Restart needed" compares what is saved with what the running backend uses (here demo mode
/// in ap-guangzhou, no key, no WeChat Work application), not with what was saved before: it
/// stays while a saved change still waits for a restart, and goes once the saved settings are
/// back to what is running.
#[test]
fn restart_is_asked_for_while_what_is_saved_differs_from_what_runs() {
    let (mut harness, _fake) = app(Lang::En);
    harness.get_by_label("Settings").click();
    harness.run();
    let save = |harness: &mut egui_kittest::Harness<'static, voddesk::gui::VodDeskApp>| {
        harness.get_by_label("Save").click();
        wait_for(harness, Duration::from_secs(10), |h| {
            h.query_by_label_contains("Settings saved.").is_some()
        });
        let restart = harness.query_by_label_contains("Restart VodDesk").is_some();
        // The next save's outcome must not be mistaken for this one's.
        harness.get_by_label("Close").click();
        harness.run();
        harness.get_by_label("Settings").click();
        harness.run();
        restart
    };

    field(&harness, "Region").set_text_value_accesskit("ap-chongqing");
    harness.run();
    assert!(save(&mut harness), "a new region needs a restart");
    // A change that applies at once, saved after it: the region still waits for a restart.
    field(&harness, "Files at once").set_text_value_accesskit("3");
    harness.run();
    assert!(
        save(&mut harness),
        "the saved region is still not the running one"
    );
    // Back to the region the backend uses: nothing waits for a restart any more.
    field(&harness, "Region").set_text_value_accesskit("ap-guangzhou");
    harness.run();
    assert!(
        !save(&mut harness),
        "the saved region is the running one again"
    );

    // A key saved in demo mode needs a restart; forgotten again, it does not.
    field(&harness, "SecretId").set_text_value_accesskit("AKIDexample0000000001");
    harness
        .get_by_role_and_label(egui::accesskit::Role::PasswordInput, "SecretKey")
        .set_text_value_accesskit("TopSecretKeyValue12345");
    harness.run();
    assert!(save(&mut harness), "a key needs a restart in demo mode");
    harness.get_by_label("Forget saved key").click();
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("No key saved").is_some()
    });
    harness.run();
    assert!(
        harness.query_by_label_contains("Restart VodDesk").is_none(),
        "demo mode runs without a key, as now saved"
    );
}

/// The WeChat Work secret is shown as saved (never itself) and can be forgotten, like the API
/// key, in both languages; forgetting it leaves the API key alone.
#[test]
fn the_wechat_work_secret_can_be_forgotten_like_the_key() {
    for (lang, none, saved_as, forget, forgotten) in [
        (
            Lang::En,
            "No secret saved.",
            "Saved secret: ******** · a file only you can read (0600)",
            "Forget saved secret",
            "The saved secret was removed.",
        ),
        (
            Lang::Zh,
            "未保存 Secret。",
            "已保存的 Secret: ******** · 仅你可读的文件（0600）",
            "删除已保存的 Secret",
            "已删除保存的 Secret。",
        ),
    ] {
        let t = lang.texts();
        let (mut harness, fake) = app(lang);
        let store = voddesk::settings::credentials::CredentialStore::file_only(fake.dir.path());
        store
            .save("AKIDexample0000000001", "TopSecretKeyValue12345")
            .unwrap();
        harness.get_by_label(t.settings).click();
        harness.run();
        harness.get_by_label(none);
        assert!(harness.query_by_label(forget).is_none());

        let secret = "wecomAppSecretValue-0123456789";
        field(&harness, t.wecom_corp_id).set_text_value_accesskit("ww0123456789abcdef");
        harness
            .get_by_role_and_label(egui::accesskit::Role::PasswordInput, t.wecom_secret)
            .set_text_value_accesskit(secret);
        harness.run();
        harness.get_by_label(t.save).click();
        wait_for(&mut harness, Duration::from_secs(10), |h| {
            h.query_by_label(saved_as).is_some()
        });
        assert!(store.load_wecom_secret().unwrap().is_some());

        harness.get_by_label(forget).click();
        wait_for(&mut harness, Duration::from_secs(10), |h| {
            h.query_by_label(none).is_some()
        });
        harness.get_by_label_contains(forgotten);
        assert!(store.load_wecom_secret().unwrap().is_none());
        assert!(store.load().unwrap().is_some(), "the API key stays");
        assert!(harness.query_by_label(forget).is_none());
    }
}

/// A saved key that cannot be read (a damaged key file here; a keyring that refuses or does
/// not answer alike) is said as such, with why, never as "no key saved"; it can be forgotten.
#[test]
fn a_saved_key_that_cannot_be_read_is_said_and_can_be_forgotten() {
    use voddesk::gui::{KeyStatus, SecretStatus};
    use voddesk::settings::credentials::{CredentialStore, KEY_FILE};
    let (mut harness, fake) = app(Lang::En);
    let t = Lang::En.texts();
    let store = CredentialStore::file_only(fake.dir.path());
    store
        .save("AKIDexample0000000001", "TopSecretKeyValue12345")
        .unwrap();
    let key_file = fake.dir.path().join(KEY_FILE);
    std::fs::write(
        &key_file,
        b"{\"secret_id\": \"AKIDexample0000000001\", \"secr",
    )
    .unwrap();

    let resolved = voddesk::gui::resolve(&Settings::default(), &store, &|_| None);
    let KeyStatus::Unreadable { reason } = &resolved.key_status else {
        panic!("{:?}", resolved.key_status);
    };
    assert!(reason.contains("damaged"), "{reason}");
    assert!(!reason.contains("AKIDexample"), "{reason}");
    assert!(resolved.launch.credentials.is_none());
    assert_eq!(resolved.wecom_status, SecretStatus::None);

    // The dialog learns what the store holds when it is saved.
    harness.get_by_label(t.settings).click();
    harness.run();
    harness.get_by_label(t.save).click();
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains(t.key_unreadable).is_some()
    });
    assert!(harness.query_by_label(t.key_none).is_none());
    let said = shown(&harness, t.key_unreadable).unwrap_or_default();
    assert!(said.contains("damaged"), "{said}");
    harness.get_by_label(t.forget_key).click();
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label(t.key_none).is_some()
    });
    assert!(!key_file.exists());
}

/// `http://` to a host other than this computer would send signed requests and temporary
/// tokens in clear: the dialog refuses it with the reason, and saves nothing; to this computer
/// it is accepted.
#[test]
fn plain_http_is_refused_beyond_this_computer() {
    let (mut harness, fake) = app(Lang::En);
    harness.get_by_label("Settings").click();
    harness.run();
    field(&harness, "VOD API endpoint").set_text_value_accesskit("http://vod.example.com");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label("Fix the fields marked in red, then save.");
    harness.get_by_label_contains("uses http:// for a host other than this computer");
    assert!(!fake.dir.path().join("settings.json").exists());
    field(&harness, "VOD API endpoint").set_text_value_accesskit("http://127.0.0.1:40151");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    wait_for(&mut harness, Duration::from_secs(10), |h| {
        h.query_by_label_contains("Settings saved.").is_some()
    });
    let saved = Settings::load(fake.dir.path()).unwrap();
    assert_eq!(saved.endpoints().vod, "http://127.0.0.1:40151");
}
