//! The Library window: the account's media, newest first and paged (`SearchMedia`), with the
//! publishing actions on files uploaded by anyone.

use egui::RichText;

use crate::engine::api::{
    Command, Event, LibraryAction, LibraryEntry, LibraryPage, PublishState, UserError,
};
use crate::gui::app::VodDeskApp;
use crate::gui::i18n::{Lang, PublishWords, error_text, publish_words};
use crate::gui::view_model::publish_text;

/// Files per page.
const PAGE: u64 = 20;

/// What the window shows; kept in egui's memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct LibraryView {
    pub open: bool,
    pub name: String,
    pub page: Option<LibraryPage>,
    pub loading: bool,
    pub error: Option<UserError>,
    pub offset: u64,
    pub confirm_delete: Option<String>,
}

fn view_id() -> egui::Id {
    egui::Id::unique("voddesk-library")
}

/// The library's state.
pub(crate) fn view(ctx: &egui::Context) -> LibraryView {
    ctx.data(|d| d.get_temp::<LibraryView>(view_id()))
        .unwrap_or_default()
}

fn store(ctx: &egui::Context, view: LibraryView) {
    ctx.data_mut(|d| d.insert_temp(view_id(), view));
}

impl VodDeskApp {
    /// Takes the library's events; returns the others.
    pub(crate) fn library_event(&mut self, ctx: &egui::Context, event: Event) -> Option<Event> {
        let mut view = view(ctx);
        match event {
            Event::Library(page) => {
                view.loading = false;
                view.error = None;
                view.offset = page.offset;
                view.page = Some(page);
            }
            Event::LibraryUpdated(entry) => {
                if let Some(page) = view.page.as_mut() {
                    match page.entries.iter_mut().find(|e| e.file_id == entry.file_id) {
                        Some(slot) => *slot = *entry,
                        None => page.entries.insert(0, *entry),
                    }
                }
            }
            Event::LibraryError(err) => {
                view.loading = false;
                view.error = Some(err);
            }
            other => return Some(other),
        }
        store(ctx, view);
        None
    }

    /// Opens the window and loads the first page.
    pub(crate) fn open_library(&mut self, ctx: &egui::Context) {
        let mut view = view(ctx);
        view.open = true;
        store(ctx, view);
        self.search_library(ctx, 0);
    }

    fn search_library(&mut self, ctx: &egui::Context, offset: u64) {
        let mut view = view(ctx);
        view.loading = true;
        let name = Some(view.name.trim().to_owned()).filter(|n| !n.is_empty());
        store(ctx, view);
        self.send(Command::SearchLibrary {
            name,
            offset,
            limit: PAGE,
        });
    }

    /// Draws the window when open.
    pub(crate) fn library_window(&mut self, ctx: &egui::Context) {
        let mut view = view(ctx);
        if !view.open {
            return;
        }
        let w = publish_words(self.lang);
        let lang = self.lang;
        let mut open = true;
        let mut search = None;
        let mut actions: Vec<(String, LibraryAction)> = Vec::new();
        egui::Window::new(w.library)
            .open(&mut open)
            .default_size([760.0, 460.0])
            .show(ctx, |ui| {
                search = search_bar(ui, w, &mut view);
                if let Some(err) = &view.error {
                    ui.colored_label(ui.visuals().error_fg_color, error_text(err, lang));
                }
                let Some(page) = &view.page else {
                    ui.label(w.library_loading);
                    return;
                };
                ui.label(format!("{} {}", page.total, w.library_total));
                if page.entries.is_empty() {
                    ui.label(RichText::new(w.library_empty).weak());
                }
                let mut rows = Rows {
                    w,
                    lang,
                    actions: &mut actions,
                    confirm_delete: &mut view.confirm_delete,
                };
                egui::ScrollArea::vertical()
                    .id_salt("library-rows")
                    .max_height(340.0)
                    .show(ui, |ui| entries_grid(ui, page, &mut rows));
                search = pager(ui, w, page).or(search);
            });
        if let Some(file_id) = view.confirm_delete.clone()
            && let Some(confirmed) = confirm_delete(ctx, w, &file_id)
        {
            view.confirm_delete = None;
            if confirmed {
                actions.push((file_id, LibraryAction::Delete));
            }
        }
        view.open = open;
        store(ctx, view);
        for (file_id, action) in actions {
            self.send(Command::Library { file_id, action });
        }
        if let Some(offset) = search {
            self.search_library(ctx, offset);
        }
    }
}

/// The name filter and Search (or Enter); the offset to search from, if asked.
fn search_bar(ui: &mut egui::Ui, w: &PublishWords, view: &mut LibraryView) -> Option<u64> {
    let mut search = None;
    ui.horizontal(|ui| {
        let label = ui.label(w.library_name);
        let edit = ui.add(egui::TextEdit::singleline(&mut view.name).desired_width(220.0));
        let edit = edit.labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button(w.library_search).clicked() || enter {
            search = Some(0);
        }
        if view.loading {
            ui.spinner();
        }
    });
    search
}

/// What the rows are drawn with, and where their buttons' clicks go.
struct Rows<'a> {
    w: &'static PublishWords,
    lang: Lang,
    actions: &'a mut Vec<(String, LibraryAction)>,
    confirm_delete: &'a mut Option<String>,
}

/// The page's files in a striped grid under a header row.
fn entries_grid(ui: &mut egui::Ui, page: &LibraryPage, rows: &mut Rows<'_>) {
    let w = rows.w;
    egui::Grid::new("library-grid")
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.label(RichText::new(w.library_file).strong());
            ui.label(RichText::new(w.library_created).strong());
            ui.label(RichText::new(w.library_status).strong());
            ui.label(RichText::new(w.library_publication).strong());
            ui.label(RichText::new(w.library_actions).strong());
            ui.end_row();
            for entry in &page.entries {
                entry_row(ui, entry, rows);
                ui.end_row();
            }
        });
}

/// One file: name and FileId, creation time, status, publication, and its actions.
fn entry_row(ui: &mut egui::Ui, entry: &LibraryEntry, rows: &mut Rows<'_>) {
    let (w, lang) = (rows.w, rows.lang);
    let t = lang.texts();
    ui.vertical(|ui| {
        ui.label(&entry.name);
        ui.label(RichText::new(&entry.file_id).small().weak());
    });
    ui.label(entry.create_time.replace('T', " ").replace('Z', ""));
    ui.label(&entry.status);
    ui.label(match &entry.publish {
        PublishState::Rejected(err) => format!(
            "{}: {}",
            publish_text(&entry.publish, t),
            error_text(err, lang)
        ),
        other => publish_text(other, t).to_owned(),
    });
    ui.horizontal(|ui| {
        let id = entry.file_id.clone();
        let mut act = |ui: &mut egui::Ui, label: &str, action| {
            if ui
                .small_button(label)
                .on_hover_text(&entry.file_id)
                .clicked()
            {
                rows.actions.push((id.clone(), action));
            }
        };
        match &entry.publish {
            PublishState::Deleted => {}
            PublishState::Published { .. } => {
                act(ui, w.suspend, LibraryAction::Suspend);
            }
            PublishState::Suspended { .. } => {
                act(ui, w.restore, LibraryAction::Restore);
            }
            PublishState::UnderReview { .. } => {}
            _ if entry.category.eq_ignore_ascii_case("video") => {
                act(ui, w.publish, LibraryAction::Publish(None));
            }
            _ => {}
        }
        if !matches!(entry.publish, PublishState::Deleted) {
            act(ui, w.refresh, LibraryAction::Refresh);
            if ui.small_button(w.delete).clicked() {
                *rows.confirm_delete = Some(entry.file_id.clone());
            }
        }
    });
}

/// Previous and Next; the offset to search from, if asked.
fn pager(ui: &mut egui::Ui, w: &PublishWords, page: &LibraryPage) -> Option<u64> {
    let mut search = None;
    ui.horizontal(|ui| {
        let total = page.total;
        let offset = page.offset;
        if ui
            .add_enabled(offset > 0, egui::Button::new(w.library_previous))
            .clicked()
        {
            search = Some(offset.saturating_sub(PAGE));
        }
        if ui
            .add_enabled(offset + PAGE < total, egui::Button::new(w.library_next))
            .clicked()
        {
            search = Some(offset + PAGE);
        }
    });
    search
}

/// Asks whether to delete `file_id` for good; the answer, once given.
fn confirm_delete(ctx: &egui::Context, w: &PublishWords, file_id: &str) -> Option<bool> {
    let mut decision = None;
    egui::Modal::new(egui::Id::unique("voddesk-library-delete")).show(ctx, |ui| {
        ui.set_max_width(380.0);
        ui.heading(w.confirm_title);
        ui.label(RichText::new(file_id).monospace());
        ui.add(egui::Label::new(w.confirm_body).wrap());
        ui.horizontal(|ui| {
            if ui.button(w.confirm_delete).clicked() {
                decision = Some(true);
            }
            if ui.button(w.cancel).clicked() {
                decision = Some(false);
            }
        });
    });
    decision
}
