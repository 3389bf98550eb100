//! Where the API key, the WeChat Work application's secret and the signature service's token
//! are kept: the OS keyring when there is one, otherwise a file of each in the data directory
//! that only the user can read (0600).
//!
//! Every call may block (the keyring talks to a D-Bus service or the OS), so the app makes
//! them on a named thread of its own, never in the UI pass and never on a tokio worker (the
//! Secret Service backend runs its own `block_on`, which panics inside a runtime).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tencent::Credentials;

/// The keyring service name.
const KEYRING_SERVICE: &str = "voddesk";
/// The keyring entry's user.
const KEYRING_USER: &str = "tencentcloud-api-key";
/// The fallback file's name in the data directory.
pub const KEY_FILE: &str = "credentials.json";

/// Where a key was found or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLocation {
    /// The OS keyring.
    Keyring,
    /// The 0600 file.
    File,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    secret_id: String,
    secret_key: String,
}

/// The key store.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
    use_keyring: bool,
}

impl CredentialStore {
    /// The keyring, falling back to a file in `data_dir`.
    #[must_use]
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.to_path_buf(),
            use_keyring: true,
        }
    }

    /// The file in `data_dir` only (tests, and machines where the keyring misbehaves).
    #[must_use]
    pub fn file_only(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.to_path_buf(),
            use_keyring: false,
        }
    }

    /// The saved key and where it was, if any.
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed.
    pub fn load(&self) -> Result<Option<(Credentials, KeyLocation)>, String> {
        let key = |stored: StoredKey| Credentials::new(stored.secret_id, stored.secret_key);
        if let Some(text) = self.keyring_text(&API_KEY) {
            match serde_json::from_str::<StoredKey>(&text) {
                Ok(stored) => return Ok(Some((key(stored), KeyLocation::Keyring))),
                Err(_) => {
                    tracing::warn!(
                        "the keyring entry for the API key is not readable; ignoring it"
                    );
                }
            }
        }
        let path = self.dir.join(API_KEY.file);
        let Some(text) = self.file_text(&API_KEY)? else {
            return Ok(None);
        };
        let stored: StoredKey = serde_json::from_str(&text).map_err(|err| {
            // Where and what kind of fault, never serde's own words: they can quote a
            // value, and the value here may be a secret.
            format!(
                "the key file {} is damaged ({} at line {}, column {})",
                path.display(),
                match err.classify() {
                    serde_json::error::Category::Io => "unreadable",
                    serde_json::error::Category::Syntax => "not valid JSON",
                    serde_json::error::Category::Data => "a field of the wrong kind",
                    serde_json::error::Category::Eof => "cut short",
                },
                err.line(),
                err.column()
            )
        })?;
        Ok(Some((key(stored), KeyLocation::File)))
    }

    /// Saves a key: the keyring when it works, otherwise the 0600 file.
    ///
    /// # Errors
    /// When neither place can be written.
    pub fn save(&self, secret_id: &str, secret_key: &str) -> Result<KeyLocation, String> {
        let stored = StoredKey {
            secret_id: secret_id.trim().to_owned(),
            secret_key: secret_key.trim().to_owned(),
        };
        let text = serde_json::to_string(&stored).map_err(|err| err.to_string())?;
        self.save_text(&API_KEY, &text)
    }

    /// Forgets the saved key in both places.
    ///
    /// # Errors
    /// When the file exists and cannot be removed.
    pub fn clear(&self) -> Result<(), String> {
        self.clear_slot(&API_KEY)
    }

    /// The saved secret of the WeChat Work application and where it was, if any (its CorpID
    /// is in settings).
    ///
    /// # Errors
    /// When the file exists but cannot be read.
    pub fn load_wecom_secret(&self) -> Result<Option<(String, KeyLocation)>, String> {
        self.load_text(&WECOM_SECRET)
    }

    /// Saves the WeChat Work application's secret, like the API key.
    ///
    /// # Errors
    /// When neither place can be written.
    pub fn save_wecom_secret(&self, secret: &str) -> Result<KeyLocation, String> {
        self.save_text(&WECOM_SECRET, secret.trim())
    }

    /// Forgets the WeChat Work secret in both places.
    ///
    /// # Errors
    /// When the file exists and cannot be removed.
    pub fn clear_wecom_secret(&self) -> Result<(), String> {
        self.clear_slot(&WECOM_SECRET)
    }

    /// The saved token for the team's signature service and where it was, if any.
    ///
    /// # Errors
    /// When the file exists but cannot be read.
    pub fn load_signature_token(&self) -> Result<Option<(String, KeyLocation)>, String> {
        self.load_text(&SIGNATURE_TOKEN)
    }

    /// Saves the signature service's token, like the API key.
    ///
    /// # Errors
    /// When neither place can be written.
    pub fn save_signature_token(&self, token: &str) -> Result<KeyLocation, String> {
        self.save_text(&SIGNATURE_TOKEN, token.trim())
    }

    /// Forgets the signature service's token in both places.
    ///
    /// # Errors
    /// When the file exists and cannot be removed.
    pub fn clear_signature_token(&self) -> Result<(), String> {
        self.clear_slot(&SIGNATURE_TOKEN)
    }

    /// A one-line secret of `slot`: the keyring first, then the file.
    fn load_text(&self, slot: &Slot) -> Result<Option<(String, KeyLocation)>, String> {
        let found = |text: String| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        if let Some(secret) = self.keyring_text(slot).and_then(found) {
            return Ok(Some((secret, KeyLocation::Keyring)));
        }
        Ok(self
            .file_text(slot)?
            .and_then(found)
            .map(|secret| (secret, KeyLocation::File)))
    }

    fn entry(&self, slot: &Slot) -> Option<keyring::Entry> {
        if !self.use_keyring {
            return None;
        }
        keyring::Entry::new(KEYRING_SERVICE, slot.user).ok()
    }

    /// The slot's keyring entry, when there is a keyring and the entry.
    fn keyring_text(&self, slot: &Slot) -> Option<String> {
        match self.entry(slot)?.get_password() {
            Ok(text) => Some(text),
            Err(keyring::Error::NoEntry) => None,
            Err(err) => {
                tracing::info!(
                    "no usable keyring ({err}); using the file for the {}",
                    slot.what
                );
                None
            }
        }
    }

    /// The slot's fallback file, when it exists.
    fn file_text(&self, slot: &Slot) -> Result<Option<String>, String> {
        let path = self.dir.join(slot.file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(format!(
                "cannot read the {} file {}: {err}",
                slot.what,
                path.display()
            )),
        }
    }

    fn save_text(&self, slot: &Slot, text: &str) -> Result<KeyLocation, String> {
        if let Some(entry) = self.entry(slot) {
            match entry.set_password(text) {
                Ok(()) => {
                    // One place only, so a stale file cannot shadow a newer keyring entry.
                    let _ = std::fs::remove_file(self.dir.join(slot.file));
                    return Ok(KeyLocation::Keyring);
                }
                Err(err) => tracing::info!(
                    "cannot use the keyring ({err}); using the file for the {}",
                    slot.what
                ),
            }
        }
        write_private(&self.dir.join(slot.file), text)?;
        Ok(KeyLocation::File)
    }

    fn clear_slot(&self, slot: &Slot) -> Result<(), String> {
        if let Some(entry) = self.entry(slot) {
            let _ = entry.delete_credential();
        }
        match std::fs::remove_file(self.dir.join(slot.file)) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(format!("cannot remove the {} file: {err}", slot.what)),
        }
    }
}

/// One secret's places: its keyring entry and its fallback file.
struct Slot {
    user: &'static str,
    file: &'static str,
    what: &'static str,
}

const API_KEY: Slot = Slot {
    user: KEYRING_USER,
    file: KEY_FILE,
    what: "API key",
};

const WECOM_SECRET: Slot = Slot {
    user: "wecom-app-secret",
    file: "wecom-secret",
    what: "WeChat Work secret",
};

const SIGNATURE_TOKEN: Slot = Slot {
    user: "signature-service-token",
    file: "signature-token",
    what: "signature service token",
};

/// Writes `text` to `path` readable by the user alone.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|err| format!("cannot write the key file {}: {err}", path.display()))?;
    #[cfg(unix)]
    {
        // The mode above applies only to a new file; an old one may have been wider.
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|err| format!("cannot write the key file {}: {err}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_key_file_is_said_without_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::file_only(dir.path());
        // A file holding the bare secret: serde's own message would quote it.
        std::fs::write(dir.path().join(KEY_FILE), "\"TopSecretKeyValue12345\"").unwrap();
        let err = store.load().unwrap_err();
        assert!(
            err.contains("is damaged (a field of the wrong kind"),
            "{err}"
        );
        assert!(!err.contains("TopSecret"), "{err}");
        std::fs::write(dir.path().join(KEY_FILE), "{\"secret_id\": \"AKID").unwrap();
        let err = store.load().unwrap_err();
        assert!(err.contains("cut short at line 1"), "{err}");
    }

    #[test]
    fn file_store_round_trip_is_private() {
        let dir = std::env::temp_dir().join(format!("voddesk-cred-{}", std::process::id()));
        let store = CredentialStore::file_only(&dir);
        assert!(store.load().unwrap().is_none());
        assert_eq!(
            store.save("AKIDtest12345678", "secretsecret").unwrap(),
            KeyLocation::File
        );
        let (creds, at) = store.load().unwrap().unwrap();
        assert_eq!(
            (creds.secret_id.as_str(), creds.secret_key(), at),
            ("AKIDtest12345678", "secretsecret", KeyLocation::File)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.clear().unwrap();
        assert!(store.load().unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_wecom_secret_has_a_private_place_of_its_own() {
        let dir = std::env::temp_dir().join(format!("voddesk-wecom-{}", std::process::id()));
        let store = CredentialStore::file_only(&dir);
        assert!(store.load_wecom_secret().unwrap().is_none());
        store.save("AKIDtest12345678", "secretsecret").unwrap();
        assert_eq!(
            store.save_wecom_secret(" app-secret ").unwrap(),
            KeyLocation::File
        );
        assert_eq!(
            store.load_wecom_secret().unwrap(),
            Some(("app-secret".to_owned(), KeyLocation::File))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(WECOM_SECRET.file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            store.save_signature_token("vds_token\n").unwrap(),
            KeyLocation::File
        );
        assert_eq!(
            store.load_signature_token().unwrap(),
            Some(("vds_token".to_owned(), KeyLocation::File))
        );
        // Each is forgotten on its own.
        store.clear_wecom_secret().unwrap();
        assert!(store.load_wecom_secret().unwrap().is_none());
        assert!(store.load().unwrap().is_some());
        assert!(store.load_signature_token().unwrap().is_some());
        store.clear_signature_token().unwrap();
        assert!(store.load_signature_token().unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
