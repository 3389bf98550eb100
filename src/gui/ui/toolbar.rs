//! The toolbar: add (to VOD or WeChat Work), start/pause all, filters live in the queue; settings and the log folder.

use crate::engine::api::Command;
use crate::gui::app::{VodDeskApp, WeComDestination};

impl VodDeskApp {
    pub(crate) fn toolbar(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let ctx = ui.ctx().clone();
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if ui.button(t.add_files).on_hover_text("Ctrl+O").clicked() {
                self.open_dialog(&ctx, false);
            }
            if ui.button(t.add_folder).clicked() {
                self.open_dialog(&ctx, true);
            }
            ui.label(t.upload_to);
            ui.selectable_value(&mut self.to_wecom, false, t.dest_vod);
            ui.selectable_value(&mut self.to_wecom, true, t.dest_wecom)
                .on_hover_text(t.dest_wecom_hint);
            ui.separator();
            if ui.button(t.start_all).clicked() {
                self.send(Command::ResumeAll);
            }
            if ui.button(t.pause_all).clicked() {
                self.send(Command::PauseAll);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button(super::publish::words(self.lang).library)
                    .clicked()
                {
                    self.open_library(ui.ctx());
                }
                if ui.button(t.settings).clicked() {
                    self.open_settings();
                }
                if ui.button(t.open_log_folder).clicked() {
                    let dir = crate::gui::log_dir(&self.data_dir);
                    // Off the UI thread: starting the desktop's opener is a process spawn.
                    self.handle.spawn_blocking(move || {
                        if let Err(err) =
                            std::fs::create_dir_all(&dir).and_then(|()| open::that_detached(&dir))
                        {
                            tracing::warn!("cannot open the log folder {}: {err}", dir.display());
                        }
                    });
                }
            });
        });
        if self.to_wecom {
            ui.label(egui::RichText::new(t.dest_wecom_hint).weak());
            // Where they go, so that demo mode and a set-up application are never confused.
            match self.wecom_destination() {
                WeComDestination::Application { corp_id, endpoint } => {
                    let text = if endpoint == crate::config::DEFAULT_WECOM_ENDPOINT {
                        format!("{} {corp_id}", t.wecom_goes_app)
                    } else {
                        format!("{} {corp_id} ({endpoint})", t.wecom_goes_app)
                    };
                    ui.label(text);
                }
                WeComDestination::Emulator => {
                    ui.colored_label(super::WARN, t.wecom_goes_emulator);
                }
                WeComDestination::NotSetUp => {
                    ui.colored_label(super::WARN, t.wecom_unavailable);
                }
                WeComDestination::Simulated => {
                    ui.colored_label(super::WARN, t.wecom_goes_simulated);
                }
            }
        }
        ui.add_space(2.0);
    }
}
