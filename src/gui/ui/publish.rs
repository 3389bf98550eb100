//! The WeChat publishing section of the details panel: publish, the review with its elapsed
//! time, the URL with a QR code big enough to scan from the monitor (copy, save as PNG, open),
//! suspend/restore as one toggle, and delete behind a confirmation.

use std::time::Duration;

use egui::{Color32, RichText};

use crate::engine::api::{Command, Destination, ItemState, PublishState};
use crate::engine::publish::format_elapsed;
use crate::gui::app::VodDeskApp;
use crate::gui::i18n::publish_words;
use crate::gui::view_model::Row;
use crate::qr::QrMatrix;

/// Largest side of the on-screen QR code in points: comfortably scannable from a monitor.
const QR_SIDE: f32 = 200.0;
/// Smallest: still scannable, and what leaves room for the buttons beside it on a small screen.
const QR_MIN_SIDE: f32 = 140.0;
/// Width of the column of buttons beside the QR code.
const QR_BUTTONS_WIDTH: f32 = 110.0;

/// The QR texture for `url`, drawn once and kept in egui's memory.
pub(crate) fn qr_texture(ctx: &egui::Context, url: &str) -> Option<egui::TextureHandle> {
    let id = egui::Id::unique(("voddesk-qr", url));
    if let Some(texture) = ctx.data(|d| d.get_temp::<egui::TextureHandle>(id)) {
        return Some(texture);
    }
    let matrix = QrMatrix::encode(url).ok()?;
    let image = matrix.to_image(4);
    let size = [image.width() as usize, image.height() as usize];
    let color = egui::ColorImage::from_gray(size, image.as_raw());
    // Nearest filtering keeps module edges sharp at any zoom.
    let texture = ctx.load_texture(format!("qr {url}"), color, egui::TextureOptions::NEAREST);
    ctx.data_mut(|d| d.insert_temp(id, texture.clone()));
    Some(texture)
}

fn confirm_id() -> egui::Id {
    egui::Id::unique("voddesk-confirm-delete")
}

impl VodDeskApp {
    /// The publishing section for the selected item.
    pub(crate) fn publish_section(&mut self, ui: &mut egui::Ui, row: &Row) {
        let w = publish_words(self.lang);
        let id = row.snap.id;
        let file_id = match (&row.snap.state, row.snap.destination) {
            (_, Destination::WeCom(_)) => {
                ui.label(RichText::new(w.wecom_no_publish).weak());
                return;
            }
            (ItemState::Done { file_id, .. }, Destination::Vod) => file_id.clone(),
            _ => {
                ui.label(RichText::new(w.publish_after_upload).weak());
                return;
            }
        };
        match &row.snap.publish {
            PublishState::NotPublished => self.publish_controls(ui, id, w.publish),
            PublishState::Rejected(err) => {
                ui.colored_label(ui.visuals().error_fg_color, w.rejected);
                ui.add(egui::Label::new(crate::gui::i18n::error_text(err, self.lang)).wrap());
                self.publish_controls(ui, id, w.publish_again);
            }
            PublishState::UnderReview { since, .. } => {
                let elapsed = chrono::Utc::now().timestamp() - since;
                // No spinner: a review can last hours, and a spinner repaints every frame.
                ui.label(RichText::new(w.under_review).strong());
                ui.label(format!("{} {}", w.elapsed, format_elapsed(elapsed)));
                // The clock on screen ticks once a second; nothing else repaints.
                ui.ctx().request_repaint_after(Duration::from_secs(1));
                if ui.button(w.refresh).clicked() {
                    self.send(Command::Refresh(id));
                }
            }
            PublishState::Published { url, definition } => {
                ui.label(
                    RichText::new(format!("{} · {} {definition}", w.published, w.definition))
                        .color(Color32::from_rgb(0x2e, 0xa0, 0x43))
                        .strong(),
                );
                self.url_block(ui, id, url, &file_id, false);
            }
            PublishState::Suspended { url } => {
                ui.label(RichText::new(w.suspended).color(super::WARN).strong());
                ui.add(egui::Label::new(RichText::new(w.suspended_hint).small()).wrap());
                self.url_block(ui, id, url, &file_id, true);
            }
            PublishState::Deleted => {
                ui.colored_label(ui.visuals().error_fg_color, w.deleted);
            }
        }
        self.confirm_delete(ui.ctx());
    }

    fn publish_controls(&mut self, ui: &mut egui::Ui, id: i64, label: &str) {
        let w = publish_words(self.lang);
        let choice_id = egui::Id::unique(("voddesk-definition", id));
        let mut original = ui
            .ctx()
            .data(|d| d.get_temp::<bool>(choice_id))
            .unwrap_or(false);
        ui.horizontal(|ui| {
            let label = ui.label(w.definition);
            ui.label_inputs_by(label.id, |ui| {
                egui::ComboBox::from_id_salt(choice_id)
                    .selected_text(if original {
                        w.original_definition
                    } else {
                        w.auto_definition
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut original, false, w.auto_definition);
                        ui.selectable_value(&mut original, true, w.original_definition);
                    });
            });
        });
        ui.ctx().data_mut(|d| d.insert_temp(choice_id, original));
        if ui.button(label).clicked() {
            self.send(Command::Publish {
                id,
                definition: original.then_some(0),
            });
        }
    }

    /// The URL, its QR code and, beside the code, every action on the publication: all of
    /// it fits the panel's height on a 600-pixel screen. A suspended publication shows its
    /// URL and code too, dimmed and marked.
    fn url_block(&mut self, ui: &mut egui::Ui, id: i64, url: &str, file_id: &str, suspended: bool) {
        let w = publish_words(self.lang);
        let t = self.t();
        ui.label(RichText::new(w.url).strong());
        let url_text = RichText::new(url).monospace().small();
        let url_text = if suspended { url_text.weak() } else { url_text };
        ui.add(egui::Label::new(url_text).wrap());
        let ctx = ui.ctx().clone();
        let side = (ui.available_width() - QR_BUTTONS_WIDTH - ui.spacing().item_spacing.x)
            .clamp(QR_MIN_SIDE, QR_SIDE);
        ui.horizontal_top(|ui| {
            if let Some(texture) = qr_texture(ui.ctx(), url) {
                let image = egui::Image::new(&texture)
                    .fit_to_exact_size(egui::vec2(side, side))
                    .alt_text(w.qr_alt);
                let image = if suspended {
                    image.tint(egui::Color32::from_white_alpha(90))
                } else {
                    image
                };
                ui.add(image);
            }
            ui.vertical(|ui| {
                ui.set_width(QR_BUTTONS_WIDTH);
                let button = |ui: &mut egui::Ui, word: &str| {
                    ui.add(egui::Button::new(word).min_size(egui::vec2(QR_BUTTONS_WIDTH, 0.0)))
                        .clicked()
                };
                if button(ui, w.copy_url) {
                    ctx.copy_text(url.to_owned());
                    self.say(t.copied.to_owned());
                }
                if button(ui, w.save_qr) {
                    self.save_qr(&ctx, url, file_id);
                }
                if button(ui, w.open_browser) {
                    self.open_url(&ctx, url);
                }
                ui.add_space(4.0);
                if suspended {
                    if button(ui, w.restore) {
                        self.send(Command::Suspend { id, suspend: false });
                    }
                } else if button(ui, w.suspend) {
                    self.send(Command::Suspend { id, suspend: true });
                }
                if button(ui, w.delete) {
                    ctx.data_mut(|d| d.insert_temp(confirm_id(), id));
                }
                if button(ui, w.refresh) {
                    self.send(Command::Refresh(id));
                }
            });
        });
    }

    fn confirm_delete(&mut self, ctx: &egui::Context) {
        let Some(id) = ctx.data(|d| d.get_temp::<i64>(confirm_id())) else {
            return;
        };
        let w = publish_words(self.lang);
        let name = self
            .model
            .row(id)
            .map_or_else(String::new, |row| match &row.snap.state {
                ItemState::Done { file_id, .. } => format!("“{}” (FileId {file_id})", row.name),
                _ => format!("“{}”", row.name),
            });
        let mut decision = None;
        egui::Modal::new(egui::Id::unique("voddesk-delete-modal")).show(ctx, |ui| {
            ui.set_max_width(380.0);
            ui.heading(w.confirm_title);
            ui.add(egui::Label::new(format!("{name} {}", w.confirm_body)).wrap());
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let danger = egui::Button::new(
                    RichText::new(w.confirm_delete).color(ui.visuals().error_fg_color),
                );
                if ui.add(danger).clicked() {
                    decision = Some(true);
                }
                if ui.button(w.cancel).clicked() {
                    decision = Some(false);
                }
            });
        });
        if let Some(confirmed) = decision {
            ctx.data_mut(|d| d.remove::<i64>(confirm_id()));
            if confirmed {
                self.send(Command::DeleteMedia(id));
            }
        }
    }
}
