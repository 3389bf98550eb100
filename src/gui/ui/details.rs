//! The details panel of the selected item: cover, options (editable before the upload
//! starts), results with copy buttons, the error with its RequestId, and the place where the
//! WeChat publishing section goes.

use std::time::{Duration, Instant};

use egui::{RichText, Vec2};

use crate::engine::api::{Command, Destination, ItemOptions, ItemState, NewItem};
use crate::gui::app::{OptionsEditor, Thumbnail, VodDeskApp};
use crate::gui::view_model::{Row, format_bytes, kind_text, state_text};

const COVER_SIZE: f32 = 160.0;
/// How long "Copied" replaces "Copy".
const COPIED_TTL: Duration = Duration::from_secs(2);

impl VodDeskApp {
    pub(crate) fn details(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        ui.heading(t.details);
        ui.separator();
        let Some(row) = self.selected.and_then(|id| self.model.row(id)).cloned() else {
            ui.label(RichText::new(t.no_selection).weak());
            return;
        };
        ui.add(egui::Label::new(RichText::new(&row.name).strong()).wrap());
        ui.label(
            RichText::new(row.snap.path.display().to_string())
                .small()
                .weak(),
        );
        ui.label(format!(
            "{} · {} · {}",
            kind_text(&row, t),
            format_bytes(row.snap.size),
            state_text(&row, t)
        ));
        if let Some(notice) = &row.notice {
            ui.label(format!("{}: {notice}", t.last_notice));
        }
        ui.add_space(6.0);
        if row.is_refused() {
            if let ItemState::Failed(err) = &row.snap.state {
                ui.label(RichText::new(t.refused_hint).strong());
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    crate::gui::i18n::error_text(err, self.lang),
                );
            }
            return;
        }
        let done_vod = row.snap.destination == Destination::Vod
            && matches!(row.snap.state, ItemState::Done { .. });
        // A finished video's publishing comes first, so that its controls, URL and QR code are
        // on screen without scrolling on a small screen.
        if done_vod {
            self.wechat_section(ui, &row);
            ui.add_space(6.0);
            ui.separator();
        }
        self.results(ui, &row);
        if row.snap.destination == Destination::Vod {
            ui.add_space(6.0);
            self.cover(ui, &row);
            ui.add_space(6.0);
            // Temporary media take no VOD options.
            self.options_editor(ui, &row);
        }
        if !done_vod {
            ui.add_space(6.0);
            ui.separator();
            self.wechat_section(ui, &row);
        }
    }

    fn cover(&mut self, ui: &mut egui::Ui, row: &Row) {
        let t = self.t();
        ui.label(RichText::new(t.cover).strong());
        let Some(path) = row.snap.options.cover.clone() else {
            generic_tile(ui, t.no_cover);
            return;
        };
        let ctx = ui.ctx().clone();
        self.request_thumbnail(&ctx, &path);
        match self.thumbnails.get(&path) {
            Some(Thumbnail::Ready(texture)) => {
                let size = texture.size_vec2();
                let scale = (COVER_SIZE / size.x.max(size.y)).min(1.0);
                ui.add(
                    egui::Image::from_texture((texture.id(), size * scale))
                        .alt_text(path.display().to_string()),
                );
            }
            Some(Thumbnail::Undecodable) => generic_tile(ui, t.cover_undecodable),
            Some(Thumbnail::Loading) | None => {
                ui.spinner();
            }
        }
        if let Some(name) = path.file_name() {
            ui.label(RichText::new(name.to_string_lossy()).small());
        }
    }

    fn results(&mut self, ui: &mut egui::Ui, row: &Row) {
        let t = self.t();
        match &row.snap.state {
            ItemState::Done {
                file_id,
                expires_at: Some(expires_at),
                ..
            } => {
                // WeChat Work temporary media: the media_id, and how long it lives.
                self.copy_row(ui, t.media_id, file_id);
                let now = chrono::Utc::now().timestamp();
                let expired = now >= *expires_at;
                if !expired {
                    // "Upload again" replaces "Save a copy" the moment it expires.
                    let left = u64::try_from(*expires_at - now).unwrap_or(0);
                    ui.ctx()
                        .request_repaint_after(std::time::Duration::from_secs(left.max(1)));
                }
                ui.label(RichText::new(t.expires).small());
                ui.horizontal(|ui| {
                    ui.label(local_time(*expires_at));
                    if expired {
                        ui.colored_label(ui.visuals().warn_fg_color, t.expired);
                    }
                });
                if !expired && ui.button(t.save_copy).clicked() {
                    let name = row.name.clone();
                    self.save_wecom_copy(ui.ctx(), file_id, &name);
                }
                if expired && ui.button(t.upload_again).clicked() {
                    self.send(Command::Add(vec![NewItem {
                        path: row.snap.path.clone(),
                        destination: row.snap.destination,
                        options: ItemOptions::default(),
                    }]));
                }
            }
            ItemState::Done {
                file_id,
                media_url,
                cover_url,
                expires_at: None,
            } => {
                self.copy_row(ui, t.file_id, file_id);
                if !media_url.is_empty() {
                    self.copy_row(ui, t.media_url, media_url);
                }
                if let Some(cover_url) = cover_url {
                    self.copy_row(ui, t.cover_url, cover_url);
                }
            }
            ItemState::Failed(err) => {
                ui.label(RichText::new(t.error).strong());
                ui.add(
                    egui::Label::new(
                        // The code and RequestId follow, each with its Copy button.
                        RichText::new(crate::gui::i18n::error_words(err, self.lang))
                            .color(ui.visuals().error_fg_color),
                    )
                    .wrap(),
                );
                if let Some(code) = &err.code {
                    self.copy_row(ui, t.error_code, code);
                }
                if let Some(request_id) = &err.request_id {
                    self.copy_row(ui, t.request_id, request_id);
                }
            }
            _ => {}
        }
    }

    fn copy_row(&mut self, ui: &mut egui::Ui, label: &str, value: &str) {
        let t = self.t();
        ui.label(RichText::new(label).small());
        ui.horizontal(|ui| {
            let just_copied = self
                .copied
                .as_ref()
                .is_some_and(|(v, at)| v == value && at.elapsed() < COPIED_TTL);
            let word = if just_copied { t.copied } else { t.copy };
            if ui
                .small_button(word)
                .accessible_name(format!("{} {label}", t.copy))
                .clicked()
            {
                ui.ctx().copy_text(value.to_owned());
                self.copied = Some((value.to_owned(), Instant::now()));
                ui.ctx().request_repaint_after(COPIED_TTL);
            }
            // Last in the row, so a long URL is cut at the panel's edge, not the button.
            ui.add(egui::Label::new(RichText::new(value).monospace()).truncate())
                .on_hover_text(value);
        });
    }

    fn options_editor(&mut self, ui: &mut egui::Ui, row: &Row) {
        let t = self.t();
        let editable =
            matches!(row.snap.state, ItemState::Queued | ItemState::Paused) && row.shown_done == 0;
        egui::CollapsingHeader::new(RichText::new(t.options).strong())
            .id_salt("options")
            .default_open(editable)
            .show(ui, |ui| {
                if self.editor.as_ref().is_none_or(|e| e.id != row.snap.id) {
                    self.editor = Some(editor_for(row));
                }
                let mut apply = false;
                if let Some(editor) = &mut self.editor {
                    ui.add_enabled_ui(editable, |ui| {
                        egui::Grid::new("options-grid")
                            .num_columns(2)
                            .show(ui, |ui| {
                                for (label, value) in [
                                    (t.media_name, &mut editor.media_name),
                                    (t.procedure, &mut editor.procedure),
                                    (t.class_id, &mut editor.class_id),
                                    (t.expire_time, &mut editor.expire_time),
                                    (t.source_context, &mut editor.source_context),
                                    (t.storage_region, &mut editor.storage_region),
                                    (t.sub_app_id, &mut editor.sub_app_id),
                                ] {
                                    let label = ui.label(label);
                                    ui.add(egui::TextEdit::singleline(value).desired_width(170.0))
                                        .labelled_by(label.id);
                                    ui.end_row();
                                }
                            });
                        if let Some(error) = &editor.error {
                            ui.colored_label(ui.visuals().error_fg_color, error);
                        }
                        apply = ui.button(t.apply_options).clicked();
                    });
                    if !editable {
                        ui.label(RichText::new(t.options_locked).small().weak());
                    }
                }
                if apply {
                    self.apply_options();
                }
            });
    }

    /// The WeChat publishing section (see `publish.rs`).
    fn wechat_section(&mut self, ui: &mut egui::Ui, row: &Row) {
        let t = self.t();
        ui.label(RichText::new(t.wechat_section).strong());
        self.publish_section(ui, row);
    }
}

fn editor_for(row: &Row) -> OptionsEditor {
    let o = &row.snap.options;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    OptionsEditor {
        id: row.snap.id,
        media_name: text(&o.media_name),
        procedure: text(&o.procedure),
        class_id: o.class_id.map(|v| v.to_string()).unwrap_or_default(),
        expire_time: text(&o.expire_time),
        source_context: text(&o.source_context),
        storage_region: text(&o.storage_region),
        sub_app_id: o.sub_app_id.map(|v| v.to_string()).unwrap_or_default(),
        error: None,
    }
}

/// A grey square with a word, for no cover or one `image` cannot decode.
fn generic_tile(ui: &mut egui::Ui, text: &str) {
    let (rect, _) = ui.allocate_exact_size(
        Vec2::new(COVER_SIZE, COVER_SIZE * 0.5625),
        egui::Sense::hover(),
    );
    ui.painter()
        .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(12.0),
        ui.visuals().weak_text_color(),
    );
}

/// Unix seconds as the local date and time, to the minute.
fn local_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |at| {
            at.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}
