//! The toolbar: add (to VOD or WeChat Work), start/pause all, filters live in the queue; settings and the log folder.

use crate::engine::api::Command;
use crate::gui::app::VodDeskApp;
use crate::gui::backend::WeComRoute;

impl VodDeskApp {
    pub(crate) fn toolbar(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            self.add_buttons(ui);
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
                self.window_buttons(ui);
            });
        });
        if self.to_wecom {
            ui.label(egui::RichText::new(t.dest_wecom_hint).weak());
            self.wecom_route_line(ui);
        }
        ui.add_space(2.0);
    }

    /// Add files, Add folder and Paste paths: only while the queue is open.
    fn add_buttons(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let ctx = ui.ctx().clone();
        let open = self.connected().is_some();
        ui.add_enabled_ui(open, |ui| {
            if ui
                .button(t.add_files)
                .on_hover_text("Ctrl+O")
                .on_disabled_hover_text(t.queue_not_open)
                .clicked()
            {
                self.open_dialog(&ctx, false);
            }
            if ui
                .button(t.add_folder)
                .on_disabled_hover_text(t.queue_not_open)
                .clicked()
            {
                self.open_dialog(&ctx, true);
            }
            if ui
                .button(t.paste_paths)
                .on_disabled_hover_text(t.queue_not_open)
                .clicked()
            {
                self.paste = Some(String::new());
            }
        });
    }

    /// On the right, from the edge: Library, Settings and the log folder.
    fn window_buttons(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        if ui
            .button(crate::gui::i18n::publish_words(self.lang).library)
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
    }

    /// Where WeChat Work files go, so that demo mode and a set-up application are never
    /// confused.
    fn wecom_route_line(&self, ui: &mut egui::Ui) {
        let t = self.t();
        match self.wecom_route() {
            Some(WeComRoute::Application { corp_id, endpoint }) => {
                let text = if endpoint == crate::config::DEFAULT_WECOM_ENDPOINT {
                    format!("{} {corp_id}", t.wecom_goes_app)
                } else {
                    format!("{} {corp_id} ({endpoint})", t.wecom_goes_app)
                };
                ui.label(text);
            }
            Some(WeComRoute::Emulator) => {
                ui.colored_label(super::WARN, t.wecom_goes_emulator);
            }
            Some(WeComRoute::NotSetUp) => {
                ui.colored_label(super::WARN, t.wecom_unavailable);
            }
            None => {}
        }
    }
}
