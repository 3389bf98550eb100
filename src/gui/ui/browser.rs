//! The built-in file browser (where the system has no file dialog) and the "Paste paths"
//! window. Both only draw what is in memory: the folder listing arrives from the blocking
//! pool (`App::list_dir`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use egui::RichText;

use crate::gui::app::VodDeskApp;
use crate::gui::browser::{Browser, Entry, Listing, Purpose};
use crate::gui::i18n::Texts;
use crate::gui::view_model::format_bytes;

const ROW_HEIGHT: f32 = 22.0;

/// What the browser window asked for in this frame.
enum Step {
    Open(PathBuf),
    Done(Vec<PathBuf>),
    Close,
}

impl VodDeskApp {
    /// The built-in file browser, while it is open.
    pub(crate) fn browser_window(&mut self, ctx: &egui::Context) {
        let t = self.t();
        let Some(browser) = &mut self.browser else {
            return;
        };
        let title = match browser.purpose {
            Purpose::AddFiles => t.add_files,
            Purpose::AddFolder => t.add_folder,
            Purpose::SaveQr { .. } => t.save_qr_title,
            Purpose::SaveCopy { .. } => t.save_copy,
        };
        let screen = ctx.content_rect();
        let size = egui::vec2(
            (screen.width() - 40.0).clamp(320.0, 720.0),
            (screen.height() - 80.0).clamp(240.0, 520.0),
        );
        let mut step = None;
        let mut open = true;
        egui::Window::new(title)
            .id(egui::Id::unique("voddesk-file-browser"))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .fixed_size(size)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                step = location_bar(ui, t, browser);
                let hint = match browser.purpose {
                    Purpose::AddFolder => t.browser_hint_folders,
                    _ => t.browser_hint_files,
                };
                ui.horizontal(|ui| {
                    ui.label(RichText::new(hint).small().weak());
                    ui.checkbox(&mut browser.show_hidden, t.browser_hidden);
                });
                ui.separator();
                let saves = browser.saves();
                let list_height = ui.available_height() - if saves { 70.0 } else { 40.0 };
                step = listing(ui, t, browser, list_height).or(step.take());
                ui.separator();
                if saves {
                    file_name_row(ui, t, browser);
                }
                step = buttons(ui, t, browser).or(step.take());
            });
        if !open {
            step = Some(Step::Close);
        }
        match step {
            Some(Step::Open(dir)) => self.list_dir(ctx, dir),
            Some(Step::Done(paths)) => {
                if let Some(browser) = self.browser.take() {
                    self.last_browsed = Some(browser.dir.clone());
                    self.chosen(ctx, browser.purpose, paths);
                }
            }
            Some(Step::Close) => {
                if let Some(browser) = self.browser.take() {
                    self.last_browsed = Some(browser.dir);
                }
            }
            None => {}
        }
    }

    /// The "Paste paths" window, while it is open.
    pub(crate) fn paste_window(&mut self, ctx: &egui::Context) {
        let t = self.t();
        let Some(text) = &mut self.paste else {
            return;
        };
        let mut add = false;
        let mut close = false;
        let mut open = true;
        egui::Window::new(t.paste_title)
            .id(egui::Id::unique("voddesk-paste-paths"))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(520.0)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                let label = ui.label(t.paste_hint);
                ui.add(
                    egui::TextEdit::multiline(text)
                        .desired_rows(8)
                        .desired_width(500.0)
                        .font(egui::TextStyle::Monospace),
                )
                .labelled_by(label.id);
                ui.horizontal(|ui| {
                    add = ui.button(t.paste_add).clicked();
                    close = ui.button(t.cancel).clicked();
                });
            });
        if add {
            let text = self.paste.take().unwrap_or_default();
            self.add_pasted(ctx, &text);
        } else if close || !open {
            self.paste = None;
        }
    }
}

/// Up, Home, and the location field with Go (or Enter); where to go, if asked.
fn location_bar(ui: &mut egui::Ui, t: &Texts, browser: &mut Browser) -> Option<Step> {
    let mut step = None;
    ui.horizontal(|ui| {
        if ui.button(t.browser_up).clicked()
            && let Some(parent) = browser.dir.parent()
        {
            step = Some(Step::Open(parent.to_path_buf()));
        }
        if ui.button(t.browser_home).clicked() {
            step = Some(Step::Open(crate::gui::browser::start_dir()));
        }
        let label = ui.label(t.browser_location);
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut browser.location)
                    .desired_width(ui.available_width() - 60.0),
            )
            .labelled_by(label.id);
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button(t.browser_go).clicked() || enter {
            step = Some(Step::Open(PathBuf::from(browser.location.trim())));
        }
    });
    step
}

/// The folder's entries in `list_height` (or why there are none); a folder to open, if one
/// was.
fn listing(ui: &mut egui::Ui, t: &Texts, browser: &mut Browser, list_height: f32) -> Option<Step> {
    match &browser.listing {
        Listing::Loading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t.browser_loading);
            });
            ui.add_space(list_height - ROW_HEIGHT);
            None
        }
        Listing::Failed(err) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("{} {err}", t.browser_failed),
            );
            ui.add_space(list_height - ROW_HEIGHT);
            None
        }
        Listing::Ready(entries) => {
            let visible: Vec<&Entry> = entries
                .iter()
                .filter(|e| browser.show_hidden || !e.name.starts_with('.'))
                .collect();
            if visible.is_empty() {
                ui.label(RichText::new(t.browser_empty).weak());
                ui.add_space(list_height - ROW_HEIGHT);
                return None;
            }
            let mut picks = Picks {
                folders: matches!(browser.purpose, Purpose::AddFolder),
                files: matches!(browser.purpose, Purpose::AddFiles),
                saves: browser.saves(),
                selected: &mut browser.selected,
                file_name: &mut browser.file_name,
            };
            let mut step = None;
            egui::ScrollArea::vertical()
                .id_salt("browser-list")
                .max_height(list_height)
                .auto_shrink([false, false])
                .show_rows(ui, ROW_HEIGHT, visible.len(), |ui, range| {
                    for entry in &visible[range] {
                        step = entry_row(ui, &mut picks, entry).or(step.take());
                    }
                });
            step
        }
    }
}

/// What a click on an entry does for the browser's purpose, and what it changes.
struct Picks<'a> {
    /// Folders are picked (else a click opens them).
    folders: bool,
    /// Files are picked.
    files: bool,
    /// A file name is asked: a click on a file takes its name.
    saves: bool,
    selected: &'a mut BTreeSet<PathBuf>,
    file_name: &'a mut String,
}

/// One entry: a click picks it (or opens a folder that cannot be picked, or takes a file's
/// name to save over), a double click opens a folder.
fn entry_row(ui: &mut egui::Ui, picks: &mut Picks<'_>, entry: &Entry) -> Option<Step> {
    let selected = picks.selected.contains(&entry.path);
    let text = if entry.is_dir {
        format!("{}/", entry.name)
    } else {
        format!("{}   {}", entry.name, format_bytes(entry.size))
    };
    let response = ui.add(
        egui::Button::selectable(selected, text)
            .truncate()
            .min_size(egui::vec2(ui.available_width(), 0.0)),
    );
    if entry.is_dir && response.double_clicked() {
        return Some(Step::Open(entry.path.clone()));
    }
    if response.clicked() {
        let pickable = (entry.is_dir && picks.folders) || (!entry.is_dir && picks.files);
        if pickable {
            if selected {
                picks.selected.remove(&entry.path);
            } else {
                picks.selected.insert(entry.path.clone());
            }
        } else if entry.is_dir {
            return Some(Step::Open(entry.path.clone()));
        } else if picks.saves {
            picks.file_name.clone_from(&entry.name);
        }
    }
    None
}

/// The name to save under, with a warning when it replaces a file.
fn file_name_row(ui: &mut egui::Ui, t: &Texts, browser: &mut Browser) {
    ui.horizontal(|ui| {
        let label = ui.label(t.browser_file_name);
        ui.add(
            egui::TextEdit::singleline(&mut browser.file_name).desired_width(ui.available_width()),
        )
        .labelled_by(label.id);
    });
    let exists = matches!(&browser.listing, Listing::Ready(entries)
        if entries.iter().any(|e| !e.is_dir && e.name == browser.file_name.trim()));
    if exists {
        ui.colored_label(super::WARN, t.browser_replaces);
    }
}

/// The purpose's OK button (counting what is picked) and Cancel.
fn buttons(ui: &mut egui::Ui, t: &Texts, browser: &Browser) -> Option<Step> {
    let mut step = None;
    ui.horizontal(|ui| {
        let picked = browser.result();
        let ok = match browser.purpose {
            Purpose::AddFiles => {
                format!("{} ({})", t.browser_add_selected, picked.len())
            }
            Purpose::AddFolder if browser.selected.is_empty() => t.browser_add_folder.to_owned(),
            Purpose::AddFolder => {
                format!("{} ({})", t.browser_add_folders, picked.len())
            }
            Purpose::SaveQr { .. } | Purpose::SaveCopy { .. } => t.browser_save.to_owned(),
        };
        if ui
            .add_enabled(!picked.is_empty(), egui::Button::new(ok))
            .clicked()
        {
            step = Some(Step::Done(picked));
        }
        if ui.button(t.cancel).clicked() {
            step = Some(Step::Close);
        }
    });
    step
}
