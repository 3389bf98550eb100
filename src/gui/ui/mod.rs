//! The window's panels. Each file adds the methods that draw one part of [`VodDeskApp`].

mod browser;
mod details;
mod library;
pub(crate) mod publish;
mod queue;
mod settings_dialog;
mod toolbar;

use std::time::Duration;

use egui::{Color32, RichText};

use crate::engine::api::Command;
use crate::gui::app::{NoteAction, VodDeskApp};
use crate::gui::backend::{BackendMode, BackendStatus, StartProblem, WeComRoute};
use crate::gui::view_model::{format_bytes, format_eta, format_speed};

/// How long a note takes to fade out at the end of its time.
const FADE: Duration = Duration::from_millis(800);

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
        if matches!(self.status, BackendStatus::Running(_)) {
            egui::Panel::right("details")
                .default_size(300.0)
                .min_size(260.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("details-scroll")
                        .show(ui, |ui| self.details(ui));
                });
            egui::CentralPanel::default().show(ui, |ui| self.queue(ui));
        } else {
            egui::CentralPanel::default().show(ui, |ui| self.not_open(ui));
        }

        self.settings_window(&ctx);
        self.library_window(&ctx);
        self.browser_window(&ctx);
        self.paste_window(&ctx);
        self.drop_overlay(&ctx);
    }

    /// What the window shows while the queue is not open: why, what to do, and that it tries
    /// again by itself.
    fn not_open(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        ui.add_space(24.0);
        let (problem, attempts) = match &self.status {
            BackendStatus::Unavailable { problem, attempts } => (problem.clone(), *attempts),
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t.starting);
                });
                return;
            }
        };
        let (what, todo, place) = problem_words(&problem, t);
        let mut retry = false;
        let mut open_dir = None;
        ui.group(|ui| {
            ui.set_max_width(680.0);
            ui.heading(RichText::new(t.problem_title).color(WARN));
            ui.add_space(6.0);
            ui.add(egui::Label::new(RichText::new(what).strong()).wrap());
            ui.add_space(4.0);
            ui.add(egui::Label::new(todo).wrap());
            if let Some(place) = &place {
                ui.label(RichText::new(place.display().to_string()).monospace());
            }
            ui.add_space(8.0);
            ui.label(RichText::new(format!("{} {attempts}", t.retrying)).weak());
            ui.horizontal(|ui| {
                retry = ui.button(t.try_now).clicked();
                if let Some(place) = &place
                    && ui.button(t.open_data_folder).clicked()
                {
                    let dir = if place.is_dir() {
                        place.clone()
                    } else {
                        place
                            .parent()
                            .map_or_else(|| place.clone(), std::path::Path::to_path_buf)
                    };
                    open_dir = Some(dir);
                }
                if ui.button(t.open_log_folder).clicked() {
                    open_dir = Some(crate::gui::log_dir(&self.data_dir));
                }
            });
        });
        if retry {
            self.retry_now();
        }
        if let Some(dir) = open_dir {
            // Off the UI thread: starting the desktop's opener is a process spawn.
            self.handle.spawn_blocking(move || {
                if let Err(err) = open::that_detached(&dir) {
                    tracing::warn!("cannot open {}: {err}", dir.display());
                }
            });
        }
    }

    /// Drag-and-drop, and the keyboard shortcuts (not while typing in a text field).
    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input_mut(|i| std::mem::take(&mut i.raw.dropped_files));
        if !dropped.is_empty() {
            let paths = dropped.iter().map(|f| f.path().to_path_buf()).collect();
            self.add_paths(ctx, paths);
        }
        if ctx.egui_wants_keyboard_input()
            || self.dialog.open
            || self.browser.is_some()
            || self.paste.is_some()
        {
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
        let actions = crate::gui::view_model::row_actions(row);
        let refused = row.is_refused();
        if space {
            if actions.pause {
                self.send(Command::Pause(id));
            } else if actions.resume {
                self.send(Command::Resume(id));
            }
        }
        if delete && actions.remove {
            if refused {
                self.model.remove_row(id);
                self.select(None);
            } else {
                self.remove_or_cancel_later(id, Command::Remove(id));
            }
        }
    }

    fn banners(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        if let Some(BackendMode::Demo { .. }) = self.mode() {
            let mut open = false;
            // "Uploads go to the emulator" would be wrong for WeChat Work files when the
            // user's own application is set up.
            let banner = match self.wecom_route() {
                Some(WeComRoute::Application { .. }) => t.demo_banner_wecom_app,
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
                let count = report.skipped.len();
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
                    });
            }
        });
        if dismiss {
            self.report = None;
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        self.note_line(ui);
        let totals = self.model.totals();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{} {}", totals.count, t.items));
            ui.separator();
            ui.label(format!("{} {}", totals.active, t.active));
            ui.label(format!("{} {}", totals.queued, t.queued));
            ui.label(format!("{} {}", totals.paused, t.paused));
            ui.label(format!("{} {}", totals.done, t.done));
            ui.label(format!("{} {}", totals.failed, t.failed));
            ui.label(format!("{} {}", totals.cancelled, t.cancelled));
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

    /// The note above the status bar, with its button; it fades out at the end of its time
    /// and then goes, with no repaint loop while it simply shows.
    fn note_line(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let Some(note) = &self.note else {
            return;
        };
        let elapsed = note.at.elapsed();
        if elapsed >= note.ttl {
            self.note = None;
            return;
        }
        let left = note.ttl - elapsed;
        let alpha = if left < FADE {
            // Fading: a few frames a second until it is gone.
            ui.ctx().request_repaint_after(Duration::from_millis(50));
            left.as_secs_f32() / FADE.as_secs_f32()
        } else {
            ui.ctx().request_repaint_after(left - FADE);
            1.0
        };
        let color = if note.error {
            ui.visuals().error_fg_color
        } else {
            ui.visuals().strong_text_color()
        }
        .gamma_multiply(alpha);
        let text = note.text.clone();
        let action = note.action.clone();
        let mut clicked = None;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(text).color(color));
            match &action {
                Some(NoteAction::Undo(id)) if ui.button(t.undo).clicked() => {
                    clicked = Some(NoteAction::Undo(*id));
                }
                Some(NoteAction::Copy(url)) if ui.button(t.copy_url).clicked() => {
                    clicked = Some(NoteAction::Copy(url.clone()));
                }
                _ => {}
            }
        });
        match clicked {
            Some(NoteAction::Undo(id)) => self.undo(id),
            Some(NoteAction::Copy(url)) => {
                ui.ctx().copy_text(url);
                self.say(t.copied.to_owned());
            }
            None => {}
        }
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

/// A start problem in words: what happened, what to do, and the file or folder concerned.
fn problem_words(
    problem: &StartProblem,
    t: &crate::gui::i18n::Texts,
) -> (String, String, Option<std::path::PathBuf>) {
    match problem {
        StartProblem::Busy { dir, holder } => {
            let who = match holder {
                Some(holder) => {
                    let role = match holder.role.as_deref() {
                        Some("app") => t.holder_app,
                        Some("upload") => t.holder_upload,
                        Some(_) => t.holder_cli,
                        None => t.holder_unknown,
                    };
                    format!("{role} ({} {})", t.process, holder.pid)
                }
                None => t.holder_unknown.to_owned(),
            };
            (
                format!("{who} {} {}", t.busy_what, dir.display()),
                t.busy_todo.to_owned(),
                None,
            )
        }
        StartProblem::Database { path, detail } => (
            format!("{} {detail}", t.db_what),
            t.db_todo.to_owned(),
            Some(path.clone()),
        ),
        StartProblem::DataDir { path, detail } => (
            format!("{} {detail}", t.datadir_what),
            t.datadir_todo.to_owned(),
            Some(path.clone()),
        ),
        StartProblem::Emulator { detail } => (
            format!("{} {detail}", t.emulator_what),
            t.emulator_todo.to_owned(),
            None,
        ),
        StartProblem::Other { detail } => (
            format!("{} {detail}", t.other_what),
            t.other_todo.to_owned(),
            None,
        ),
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
