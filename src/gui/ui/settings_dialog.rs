//! The settings window: API key (masked), WeChat Work application (its secret never shown),
//! region and endpoints, defaults, transfer limits, language, "Test connection", validation
//! messages and Save.

use egui::RichText;

use crate::engine::api::UploadFlow;
use crate::gui::app::{KeyStatus, Secret, SecretStatus, VodDeskApp};
use crate::gui::i18n::Lang;
use crate::gui::settings_form::Field;
use crate::settings::credentials::KeyLocation;

impl VodDeskApp {
    pub(crate) fn settings_window(&mut self, ctx: &egui::Context) {
        if !self.dialog.open {
            return;
        }
        let t = self.t();
        let mut open = true;
        let mut save = false;
        let mut clicked = Clicked::default();
        let mut close = false;
        egui::Window::new(t.settings_title)
            .id(egui::Id::unique("settings-window"))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(520.0)
            .default_height(640.0)
            .show(ctx, |ui| {
                // The actions and their outcome come first: below a long scrolled form they
                // could end up outside a small window.
                ui.horizontal(|ui| {
                    save = ui
                        .add_enabled(!self.dialog.saving, egui::Button::new(t.save))
                        .clicked();
                    close = ui.button(t.close).clicked();
                });
                if let Some(status) = &self.dialog.status {
                    match status {
                        Ok(text) => ui.label(text.as_str()),
                        Err(text) => ui.colored_label(ui.visuals().error_fg_color, text.as_str()),
                    };
                }
                ui.separator();
                egui::ScrollArea::vertical()
                    .id_salt("settings-scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        clicked = self.settings_fields(ui);
                    });
            });
        if save {
            self.save_settings(ctx);
        }
        if clicked.test {
            self.test_connection(ctx);
        }
        if clicked.forget_key {
            self.forget(ctx, Secret::ApiKey);
        }
        if clicked.forget_wecom_secret {
            self.forget(ctx, Secret::WeComSecret);
        }
        if !open || close {
            self.dialog.open = false;
        }
    }

    /// The form, one section after the other; returns which of its buttons were clicked.
    fn settings_fields(&mut self, ui: &mut egui::Ui) -> Clicked {
        let mut clicked = Clicked::default();
        (clicked.forget_key, clicked.test) = self.api_key_section(ui);
        ui.add_space(8.0);
        clicked.forget_wecom_secret = self.wecom_section(ui);
        ui.add_space(8.0);
        self.endpoints_section(ui);
        ui.add_space(8.0);
        self.defaults_section(ui);
        ui.add_space(8.0);
        self.transfer_section(ui);
        ui.add_space(8.0);
        self.language_section(ui);
        clicked
    }

    /// The API key: whether one is saved and where (masked), its fields and "Test
    /// connection" with the answer; returns whether Forget and Test were clicked.
    fn api_key_section(&mut self, ui: &mut egui::Ui) -> (bool, bool) {
        let t = self.t();
        // A save or a forget is running: no second change to the store until it reports.
        let busy = self.dialog.saving;
        let mut forget = false;
        ui.label(RichText::new(t.api_key).strong());
        match &self.key_status {
            KeyStatus::None => {
                ui.label(t.key_none);
            }
            KeyStatus::Saved {
                masked_id,
                location,
            } => {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{}: {masked_id} · SecretKey ******** · {}",
                        t.key_saved_as,
                        place(*location, t)
                    ));
                    forget = forget_button(ui, t.forget_key, busy);
                });
            }
            KeyStatus::Env { masked_id } => {
                ui.label(format!("{masked_id} · {}", t.key_from_env));
            }
            KeyStatus::Unreadable { reason } => {
                forget = unreadable_row(ui, t.key_unreadable, reason, t.forget_key, busy);
            }
        }
        let form = &mut self.dialog.form;
        egui::Grid::new("key-grid").num_columns(2).show(ui, |ui| {
            let label = ui.label(t.secret_id);
            ui.add(
                egui::TextEdit::singleline(&mut form.secret_id)
                    .hint_text(t.key_keep_hint)
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label(t.secret_key);
            // Typed characters are never shown: a password field.
            ui.add(
                egui::TextEdit::singleline(&mut form.secret_key)
                    .password(true)
                    .hint_text(t.key_keep_hint)
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        field_error(ui, error_of(&self.dialog.errors, Field::ApiKey));
        let test = self.test_row(ui);
        (forget, test)
    }

    /// "Test connection" and its answer; returns whether it was clicked.
    fn test_row(&self, ui: &mut egui::Ui) -> bool {
        let t = self.t();
        let mut test = false;
        ui.horizontal(|ui| {
            let label = if self.dialog.testing {
                t.testing
            } else {
                t.test_connection
            };
            test = ui
                .add_enabled(!self.dialog.testing, egui::Button::new(label))
                .clicked();
        });
        match &self.dialog.test_result {
            Some(Ok(text)) => {
                ui.colored_label(egui::Color32::from_rgb(0x2e, 0x9e, 0x4f), text.as_str());
            }
            Some(Err(text)) => {
                ui.colored_label(ui.visuals().error_fg_color, text.as_str());
            }
            None => {}
        }
        test
    }

    /// The WeChat Work application: whether its secret is saved and where (never the
    /// secret), the CorpID and a new secret; returns whether Forget was clicked.
    fn wecom_section(&mut self, ui: &mut egui::Ui) -> bool {
        let t = self.t();
        let busy = self.dialog.saving;
        let mut forget = false;
        ui.label(RichText::new(t.wecom_app).strong());
        // Like the API key: whether a secret is saved and where, never the secret itself.
        match &self.wecom_status {
            SecretStatus::None => {
                ui.label(t.wecom_secret_none);
            }
            SecretStatus::Saved(location) => {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{}: ******** · {}",
                        t.wecom_secret_saved_as,
                        place(*location, t)
                    ));
                    forget = forget_button(ui, t.forget_wecom_secret, busy);
                });
            }
            SecretStatus::Env => {
                ui.label(t.wecom_secret_from_env);
            }
            SecretStatus::Unreadable { reason } => {
                forget = unreadable_row(
                    ui,
                    t.wecom_secret_unreadable,
                    reason,
                    t.forget_wecom_secret,
                    busy,
                );
            }
        }
        let form = &mut self.dialog.form;
        egui::Grid::new("wecom-grid").num_columns(2).show(ui, |ui| {
            text_row(ui, t.wecom_corp_id, &mut form.wecom_corp_id, "ww…", None);
            let label = ui.label(t.wecom_secret);
            ui.add(
                egui::TextEdit::singleline(&mut form.wecom_secret)
                    .password(true)
                    .hint_text(t.wecom_secret_hint)
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        field_error(ui, error_of(&self.dialog.errors, Field::WeCom));
        forget
    }

    /// Region, SubAppId, the service endpoints and the signature service, and which of them
    /// the environment overrides.
    fn endpoints_section(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let errors = &self.dialog.errors;
        let form = &mut self.dialog.form;
        ui.label(RichText::new(t.endpoints).strong());
        egui::Grid::new("endpoint-grid")
            .num_columns(2)
            .show(ui, |ui| {
                let rows: [(&str, &mut String, &str, Field); 7] = [
                    (t.region, &mut form.region, "ap-guangzhou", Field::Region),
                    (t.sub_app_id, &mut form.sub_app_id, "", Field::SubAppId),
                    (
                        t.vod_endpoint,
                        &mut form.vod_endpoint,
                        crate::tencent::vod::DEFAULT_ENDPOINT,
                        Field::VodEndpoint,
                    ),
                    (
                        t.cos_endpoint,
                        &mut form.cos_endpoint,
                        "https://{bucket}.cos.{region}.myqcloud.com",
                        Field::CosEndpoint,
                    ),
                    (
                        t.ugc_endpoint,
                        &mut form.ugc_endpoint,
                        crate::tencent::ugc::DEFAULT_ENDPOINT,
                        Field::UgcEndpoint,
                    ),
                    (
                        t.wecom_endpoint,
                        &mut form.wecom_endpoint,
                        crate::config::DEFAULT_WECOM_ENDPOINT,
                        Field::WecomEndpoint,
                    ),
                    (
                        t.signature_url,
                        &mut form.signature_url,
                        "",
                        Field::SignatureUrl,
                    ),
                ];
                for (label, value, hint, field) in rows {
                    text_row(ui, label, value, hint, error_of(errors, field));
                }
                let label = ui.label(t.signature_token);
                ui.add(
                    egui::TextEdit::singleline(&mut form.signature_token)
                        .password(true)
                        .hint_text(t.signature_token_hint)
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        if !self.env_overrides.is_empty() {
            ui.label(
                RichText::new(format!(
                    "{}: {}",
                    t.env_overrides,
                    self.env_overrides.join(", ")
                ))
                .small()
                .color(super::WARN),
            );
        }
    }

    /// The defaults new items get: upload flow, procedure, class and expiry.
    fn defaults_section(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let errors = &self.dialog.errors;
        let form = &mut self.dialog.form;
        ui.label(RichText::new(t.defaults).strong());
        egui::Grid::new("defaults-grid")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label(t.default_flow);
                ui.label_inputs_by(label.id, |ui| {
                    egui::ComboBox::from_id_salt("flow")
                        .selected_text(match form.flow {
                            UploadFlow::ClientUpload => t.flow_client,
                            UploadFlow::ServerApi => t.flow_server,
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(
                                &mut form.flow,
                                UploadFlow::ClientUpload,
                                t.flow_client,
                            );
                            ui.selectable_value(
                                &mut form.flow,
                                UploadFlow::ServerApi,
                                t.flow_server,
                            );
                        });
                });
                ui.end_row();
                text_row(ui, t.procedure, &mut form.procedure, "", None);
                text_row(
                    ui,
                    t.class_id,
                    &mut form.class_id,
                    "",
                    error_of(errors, Field::ClassId),
                );
                text_row(
                    ui,
                    t.default_expire,
                    &mut form.expire_time,
                    "2030-01-01T00:00:00+08:00",
                    error_of(errors, Field::ExpireTime),
                );
            });
    }

    /// Transfer limits: files and parts at once, part size, bandwidth.
    fn transfer_section(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let errors = &self.dialog.errors;
        let form = &mut self.dialog.form;
        ui.label(RichText::new(t.transfer).strong());
        // The hints are the real defaults, which an empty field gives.
        let defaults = crate::engine::api::EngineTuning::default();
        let files_hint = match defaults.parallel_files {
            0 => t.automatic_hint.to_owned(),
            n => n.to_string(),
        };
        // What is in flight follows the link; the field is its cap.
        let parts_hint = format!("{} {}", t.automatic_up_to, defaults.parallel_parts);
        egui::Grid::new("transfer-grid")
            .num_columns(2)
            .show(ui, |ui| {
                text_row(
                    ui,
                    t.parallel_files,
                    &mut form.parallel_files,
                    &files_hint,
                    error_of(errors, Field::ParallelFiles),
                );
                text_row(
                    ui,
                    t.parallel_parts,
                    &mut form.parallel_parts,
                    &parts_hint,
                    error_of(errors, Field::ParallelParts),
                );
                text_row(
                    ui,
                    t.part_size,
                    &mut form.part_size_mib,
                    t.automatic_hint,
                    error_of(errors, Field::PartSize),
                );
                text_row(
                    ui,
                    t.bandwidth_limit,
                    &mut form.bandwidth_kib,
                    t.unlimited_hint,
                    error_of(errors, Field::Bandwidth),
                );
            });
    }

    /// The UI language.
    fn language_section(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let form = &mut self.dialog.form;
        ui.horizontal(|ui| {
            let label = ui.label(RichText::new(t.language).strong());
            ui.label_inputs_by(label.id, |ui| {
                egui::ComboBox::from_id_salt("language")
                    .selected_text(form.language.native_name())
                    .show_ui(ui, |ui| {
                        for lang in [Lang::En, Lang::Zh] {
                            ui.selectable_value(&mut form.language, lang, lang.native_name());
                        }
                    });
            });
        });
    }
}

/// The validation message of `field`, if the last Save found one.
fn error_of(errors: &[(Field, String)], field: Field) -> Option<String> {
    errors
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, message)| message.clone())
}

/// The settings form's buttons that act outside it.
#[derive(Default)]
struct Clicked {
    test: bool,
    forget_key: bool,
    forget_wecom_secret: bool,
}

/// A "Forget …" button, disabled while a change to the secret store runs; whether clicked.
fn forget_button(ui: &mut egui::Ui, label: &str, busy: bool) -> bool {
    ui.add_enabled(!busy, egui::Button::new(label)).clicked()
}

/// A saved secret that could not be read: what and why, in the warning colour, and its
/// Forget button; whether that was clicked.
fn unreadable_row(ui: &mut egui::Ui, text: &str, reason: &str, forget: &str, busy: bool) -> bool {
    ui.colored_label(ui.visuals().warn_fg_color, format!("{text} ({reason})"));
    forget_button(ui, forget, busy)
}

/// Where a secret is kept, in the words the dialog uses.
fn place(location: KeyLocation, t: &crate::gui::i18n::Texts) -> &'static str {
    match location {
        KeyLocation::Keyring => t.key_in_keyring,
        KeyLocation::File => t.key_in_file,
    }
}

/// A labelled text field in a two-column grid, with its validation message below it.
fn text_row(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str, error: Option<String>) {
    let label = ui.label(label);
    ui.vertical(|ui| {
        let mut edit = egui::TextEdit::singleline(value).desired_width(300.0);
        if !hint.is_empty() {
            edit = edit.hint_text(hint);
        }
        ui.add(edit).labelled_by(label.id);
        field_error(ui, error);
    });
    ui.end_row();
}

fn field_error(ui: &mut egui::Ui, error: Option<String>) {
    if let Some(error) = error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
}
