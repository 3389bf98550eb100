//! The window's panels. Each file adds the methods that draw one part of [`VodDeskApp`].

mod details;
mod library;
pub(crate) mod publish;
mod queue;
mod settings_dialog;
mod toolbar;

use std::time::Duration;

use egui::{Color32, RichText};

use crate::engine::api::Command;
use crate::gui::app::{BackendMode, VodDeskApp, WeComDestination};
use crate::gui::view_model::{format_bytes, format_eta, format_speed};

/// How long a short message stays above the status bar.
const MESSAGE_TTL: Duration = Duration::from_secs(8);

/// Amber for banners that need attention but are not errors.
pub(crate) const WARN: Color32 = Color32::from_rgb(0xd0, 0x8a, 0x00);

impl VodDeskApp {
    /// Draws the whole window.
    pub(crate) fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.handle_input(&ctx);

        egui::Panel::top("toolbar").show(ui, |ui| {
            self.toolbar(ui);
            self.banners(ui);
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::right("details")
            .default_size(300.0)
            .min_size(260.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("details-scroll")
                    .show(ui, |ui| self.details(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| self.queue(ui));

        self.settings_window(&ctx);
        self.library_window(&ctx);
        self.drop_overlay(&ctx);
    }

    /// Drag-and-drop, and the keyboard shortcuts (not while typing in a text field).
    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input_mut(|i| std::mem::take(&mut i.raw.dropped_files));
        if !dropped.is_empty() {
            let paths = dropped.iter().map(|f| f.path().to_path_buf()).collect();
            self.add_paths(ctx, paths);
        }
        if ctx.egui_wants_keyboard_input() || self.dialog.open {
            return;
        }
        let (open, space, delete) = ctx.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::O),
                i.consume_key(egui::Modifiers::NONE, egui::Key::Space),
                i.consume_key(egui::Modifiers::NONE, egui::Key::Delete),
            )
        });
        if open {
            self.open_dialog(ctx, false);
        }
        let Some(id) = self.selected else {
            return;
        };
        let Some(row) = self.model.row(id) else {
            return;
        };
        let actions = crate::gui::view_model::actions_for(&row.snap.state);
        if space {
            if actions.pause {
                self.send(Command::Pause(id));
            } else if actions.resume {
                self.send(Command::Resume(id));
            }
        }
        if delete && actions.remove {
            self.send(Command::Remove(id));
        }
    }

    fn banners(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        match &self.mode {
            BackendMode::Cloud => {}
            BackendMode::Demo { .. } => {
                let mut open = false;
                // "Uploads go to the emulator" would be wrong for WeChat Work files when the
                // user's own application is set up.
                let banner = match self.wecom_destination() {
                    WeComDestination::Application { .. } => t.demo_banner_wecom_app,
                    _ => t.demo_banner,
                };
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(banner).color(WARN));
                    open = ui.button(t.demo_add_credentials).clicked();
                });
                if open {
                    self.open_settings();
                }
            }
            BackendMode::Simulated => {
                let mut open = false;
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(t.sim_banner).color(WARN));
                    open = ui.button(t.demo_add_credentials).clicked();
                });
                if open {
                    self.open_settings();
                }
            }
        }
        if !self.cjk_font {
            ui.label(RichText::new(t.no_cjk_font).color(WARN));
        }
        if !self.engine_alive {
            ui.colored_label(ui.visuals().error_fg_color, t.engine_gone);
        }
        self.scan_report(ui);
    }

    fn scan_report(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        if self.scans_running > 0 {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t.scanning);
            });
        }
        let Some(report) = &mut self.report else {
            return;
        };
        let mut dismiss = false;
        ui.group(|ui| {
            ui.horizontal_wrapped(|ui| {
                let count = report.skipped.len() + report.rejected.len();
                ui.label(RichText::new(format!("{} ({count})", t.skipped_title)).strong());
                if report.added > 0 {
                    ui.label(format!("· {} {}", t.added_summary, report.added));
                }
                // Counts per reason, so a drop of a whole drive reads as one line.
                let mut counts: Vec<(String, usize)> = Vec::new();
                for skipped in &report.skipped {
                    let reason = skip_reason_text(&skipped.reason, t);
                    match counts.iter_mut().find(|(r, _)| *r == reason) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((reason, 1)),
                    }
                }
                if !report.rejected.is_empty() {
                    counts.push((t.rejected_by_engine.to_owned(), report.rejected.len()));
                }
                for (reason, n) in counts {
                    ui.label(format!("· {n} {reason}"));
                }
                let label = t.show_list;
                ui.toggle_value(&mut report.expanded, label);
                dismiss = ui.button(t.dismiss).clicked();
            });
            if report.expanded {
                egui::ScrollArea::vertical()
                    .id_salt("skipped-list")
                    .max_height(120.0)
                    .show(ui, |ui| {
                        for skipped in &report.skipped {
                            ui.label(format!(
                                "{} — {}",
                                skipped.path.display(),
                                skip_reason_text(&skipped.reason, t)
                            ));
                        }
                        for (path, reason) in &report.rejected {
                            ui.label(format!("{} — {reason}", path.display()));
                        }
                    });
            }
        });
        if dismiss {
            self.report = None;
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        if let Some((text, at)) = &self.message {
            if at.elapsed() < MESSAGE_TTL {
                ui.colored_label(ui.visuals().warn_fg_color, text.as_str());
                // Wake once more to take the message down; no loop while it shows.
                ui.ctx().request_repaint_after(MESSAGE_TTL - at.elapsed());
            } else {
                self.message = None;
            }
        }
        let totals = self.model.totals();
        ui.horizontal(|ui| {
            ui.label(format!("{} {}", totals.count, t.items));
            ui.separator();
            ui.label(format!("{} {}", totals.active, t.active));
            ui.label(format!("{} {}", totals.done, t.done));
            ui.label(format!("{} {}", totals.failed, t.failed));
            if totals.bytes_total > 0 {
                ui.separator();
                ui.label(format!(
                    "{} / {}",
                    format_bytes(totals.bytes_done),
                    format_bytes(totals.bytes_total)
                ));
            }
            let speed = format_speed(totals.speed);
            if !speed.is_empty() {
                ui.separator();
                ui.label(format!("{} {speed}", t.overall_speed));
                let eta = format_eta(totals.eta());
                if !eta.is_empty() {
                    ui.label(format!("· {eta} {}", t.remaining));
                }
            }
        });
    }

    fn drop_overlay(&self, ctx: &egui::Context) {
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if !hovering {
            return;
        }
        let rect = ctx.content_rect();
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop-overlay"),
        ));
        painter.rect_filled(rect, 0.0, Color32::from_black_alpha(170));
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            self.t().drop_here,
            egui::FontId::proportional(28.0),
            Color32::WHITE,
        );
    }
}

fn skip_reason_text(reason: &crate::gui::files::SkipReason, t: &crate::gui::i18n::Texts) -> String {
    use crate::gui::files::SkipReason;
    match reason {
        SkipReason::Unsupported(ext) if ext.is_empty() => t.skip_unsupported.to_owned(),
        SkipReason::Unsupported(ext) => format!("{} (.{ext})", t.skip_unsupported),
        SkipReason::Unreadable(_) => t.skip_unreadable.to_owned(),
        SkipReason::LonelyCover => t.skip_lonely_cover.to_owned(),
        SkipReason::Empty => t.skip_empty.to_owned(),
    }
}
