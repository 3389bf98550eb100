//! The settings dialog's actions: Save (settings and new secrets on a thread of their own),
//! Forget, and Test connection through the engine. Only one change to the secret store runs at
//! a time; its report comes back as a [`Job`].

use super::{CredentialStore, Job, Secret, Settings, SettingsDialog, SettingsForm, VodDeskApp};
use crate::engine::api::{Command, ConnectionProbe, ConnectionReport, UserError};
use crate::gui::Resolved;
use crate::gui::backend::BackendMode;
use crate::gui::i18n::Texts;
use crate::tencent::Credentials;

impl VodDeskApp {
    /// Opens the settings dialog with the saved values.
    pub(crate) fn open_settings(&mut self) {
        self.dialog = SettingsDialog {
            open: true,
            form: SettingsForm::from_settings(&self.settings, self.lang),
            // A save or forget still running reports into the dialog; reopening it must not
            // let a second change start meanwhile.
            saving: self.dialog.saving,
            ..SettingsDialog::default()
        };
    }

    /// Validates the form and saves on a background thread.
    pub(crate) fn save_settings(&mut self, ctx: &egui::Context) {
        if self.dialog.saving {
            return;
        }
        let settings = match self.dialog.form.validate() {
            Ok(settings) => settings,
            Err(errors) => {
                self.dialog.errors = errors;
                self.dialog.status = Some(Err(self.t().fix_errors.to_owned()));
                return;
            }
        };
        self.dialog.errors.clear();
        self.dialog.saving = true;
        let key = self.dialog.form.new_key();
        let wecom_secret = self.dialog.form.new_wecom_secret();
        let signature_token = self.dialog.form.new_signature_token();
        let new_secret = key.is_some() || wecom_secret.is_some() || signature_token.is_some();
        let dir = self.data_dir.clone();
        let saved = settings.clone();
        let spawned = self.with_store(
            ctx,
            "voddesk-settings",
            move |store| {
                settings
                    .save(&dir)
                    .map_err(|err| format!("{err:#}"))
                    .and_then(|()| match wecom_secret {
                        Some(secret) => store.save_wecom_secret(&secret).map(|_| ()),
                        None => Ok(()),
                    })
                    .and_then(|()| match key {
                        Some((id, secret)) => store.save(&id, &secret).map(|_| ()),
                        None => Ok(()),
                    })
                    .and_then(|()| match signature_token {
                        Some(token) => store.save_signature_token(&token).map(|_| ()),
                        None => Ok(()),
                    })?;
                Ok(settings)
            },
            move |result| Job::SettingsSaved {
                settings: Box::new(saved),
                new_secret,
                result,
            },
        );
        if let Err(err) = spawned {
            self.dialog.saving = false;
            self.dialog.status = Some(Err(format!("cannot start saving: {err}")));
        }
    }

    /// Forgets a saved secret on a background thread.
    pub(crate) fn forget(&mut self, ctx: &egui::Context, what: Secret) {
        // One change to the store at a time: a save or forget still running would otherwise
        // finish in either order, and the later report would describe an older store. Save
        // and both Forget buttons stay disabled until this one reports.
        if self.dialog.saving {
            return;
        }
        let settings = self.settings.clone();
        let spawned = self.with_store(
            ctx,
            "voddesk-keyring",
            move |store| {
                match what {
                    Secret::ApiKey => store.clear(),
                    Secret::WeComSecret => store.clear_wecom_secret(),
                }?;
                Ok(settings)
            },
            move |result| Job::Forgotten { what, result },
        );
        match spawned {
            Ok(()) => self.dialog.saving = true,
            Err(err) => self.dialog.status = Some(Err(format!("cannot start: {err}"))),
        }
    }

    /// Runs `change` on the secret store on a named thread of its own, then resolves what a
    /// backend would start from with the settings it returns and reports that through `job`.
    ///
    /// A plain thread, not `spawn_blocking`: the keyring's Secret Service backend runs its own
    /// `block_on`, which panics inside a tokio runtime.
    fn with_store(
        &self,
        ctx: &egui::Context,
        name: &str,
        change: impl FnOnce(&CredentialStore) -> Result<Settings, String> + Send + 'static,
        job: impl FnOnce(Result<Box<Resolved>, String>) -> Job + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.credential_store.clone();
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let env = self.env;
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Always a report, even if the store or the keyring panics: the dialog waits
                // for it before it allows another change.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    change(&store)
                        .map(|settings| Box::new(crate::gui::resolve(&settings, &store, &env)))
                }))
                .unwrap_or_else(|_| Err("the secret store failed unexpectedly".to_owned()));
                let _ = tx.send(job(result));
                ctx.request_repaint();
            })
            .map(|_| ())
    }

    /// Takes the secrets' statuses from `resolved`; returns whether the running backend was
    /// started from something else, so that a restart is needed.
    pub(super) fn take_resolved(&mut self, resolved: Resolved, secret_written: bool) -> bool {
        let restart = resolved.needs_restart_from(&self.launch, secret_written);
        self.key_status = resolved.key_status;
        self.wecom_status = resolved.wecom_status;
        restart
    }

    /// Tests the typed (or saved) key with one harmless signed call through the engine; in
    /// demo mode without a typed key, says that the built-in emulator is what answers.
    pub(crate) fn test_connection(&mut self, _ctx: &egui::Context) {
        let settings = match self.dialog.form.validate() {
            Ok(settings) => settings,
            Err(errors) => {
                self.dialog.errors = errors;
                return;
            }
        };
        let t = self.t();
        let typed_key = self.dialog.form.new_key();
        if let (Some(BackendMode::Demo { url }), None) = (self.mode(), &typed_key) {
            self.dialog.test_result = Some(Ok(format!("{} {url}", t.test_demo)));
            return;
        }
        if self.connected().is_none() {
            self.dialog.test_result = Some(Err(t.test_queue_not_open.to_owned()));
            return;
        }
        let (effective, _) = settings.with_env(self.env);
        let probe = ConnectionProbe {
            credentials: typed_key.map(|(id, key)| Credentials::new(id, key)),
            endpoint: Some(effective.endpoints().vod),
            region: effective.region.clone(),
            sub_app_id: effective.sub_app_id,
        };
        if self.send(Command::TestConnection(probe)) {
            self.dialog.testing = true;
            self.dialog.test_result = None;
        }
    }

    /// A connection test's answer in words.
    pub(super) fn tested(
        &self,
        result: Result<ConnectionReport, UserError>,
    ) -> Result<String, String> {
        let t = self.t();
        match result {
            Ok(report) => Ok(format!(
                "{} {} ({} {})",
                t.test_ok, report.total, t.request_id, report.request_id
            )),
            Err(err) => Err(crate::gui::i18n::error_text(&err, self.lang)),
        }
    }
}

/// `done`, followed by the restart notice when `restart`.
pub(super) fn with_restart(done: &str, restart: bool, t: &Texts) -> String {
    if restart {
        format!("{done} {}", t.restart_needed)
    } else {
        done.to_owned()
    }
}
