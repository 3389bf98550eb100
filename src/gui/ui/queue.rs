//! The queue table: filter tabs, sortable header, and the rows, virtualised with
//! `ScrollArea::show_rows` so only the visible rows cost anything.

use egui::{Align, Layout, RichText, Sense, Vec2};

use crate::engine::api::{Command, ItemId, ItemState};
use crate::gui::app::VodDeskApp;
use crate::gui::i18n::{Lang, Texts};
use crate::gui::view_model::{
    Filter, Row, SortKey, format_bytes, format_eta, format_speed, kind_text, row_actions,
    state_text,
};

/// Column widths after the name column, in points: size, type, state, progress, speed, ETA,
/// actions. The name takes what is left.
const WIDTHS: [f32; 7] = [76.0, 86.0, 104.0, 120.0, 80.0, 56.0, 190.0];
/// The columns given up first when the window is narrow (indices into [`WIDTHS`]): type,
/// ETA, speed, size. Name, state, progress and the actions always stay, so that every
/// action of an item is on screen without scrolling sideways.
const OPTIONAL: [usize; 4] = [1, 5, 4, 0];
const ROW_HEIGHT: f32 = 24.0;
const MIN_NAME_WIDTH: f32 = 140.0;

/// Which columns fit in `width`, and the name column's width.
fn layout(width: f32, spacing: f32) -> ([bool; 7], f32) {
    let mut shown = [true; 7];
    let needed = |shown: &[bool; 7]| {
        let n = shown.iter().filter(|s| **s).count();
        WIDTHS
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| *w)
            .sum::<f32>()
            + spacing * (n + 2) as f32
            + MIN_NAME_WIDTH
    };
    for column in OPTIONAL {
        if needed(&shown) <= width {
            break;
        }
        shown[column] = false;
    }
    let used = needed(&shown) - MIN_NAME_WIDTH;
    (shown, (width - used).max(MIN_NAME_WIDTH))
}

impl VodDeskApp {
    pub(crate) fn queue(&mut self, ui: &mut egui::Ui) {
        let t = self.t();
        let totals = self.model.totals();
        ui.horizontal_wrapped(|ui| {
            for (filter, label, count) in [
                (Filter::All, t.filter_all, totals.count),
                (Filter::Active, t.filter_active, totals.active),
                (Filter::Queued, t.filter_queued, totals.queued),
                (Filter::Paused, t.filter_paused, totals.paused),
                (Filter::Done, t.filter_done, totals.done),
                (Filter::Failed, t.filter_failed, totals.failed),
                (Filter::Cancelled, t.filter_cancelled, totals.cancelled),
            ] {
                let selected = self.model.filter() == filter;
                if ui
                    .selectable_label(selected, format!("{label} ({count})"))
                    .clicked()
                {
                    self.model.set_filter(filter);
                }
            }
        });
        ui.separator();

        let (shown, name_width) = layout(ui.available_width(), ui.spacing().item_spacing.x);
        self.header(ui, name_width, shown);
        ui.separator();
        self.rows(ui, name_width, shown);
    }

    fn header(&mut self, ui: &mut egui::Ui, name_width: f32, shown: [bool; 7]) {
        let t = self.t();
        let (key, descending) = self.model.sort();
        let arrow = if descending { " ▼" } else { " ▲" };
        let columns: [(&str, Option<SortKey>, f32); 8] = [
            (t.col_name, Some(SortKey::Name), name_width),
            (t.col_size, Some(SortKey::Size), WIDTHS[0]),
            (t.col_type, None, WIDTHS[1]),
            (t.col_state, Some(SortKey::State), WIDTHS[2]),
            (t.col_progress, Some(SortKey::Progress), WIDTHS[3]),
            (t.col_speed, None, WIDTHS[4]),
            (t.col_eta, None, WIDTHS[5]),
            (t.col_actions, None, WIDTHS[6]),
        ];
        ui.horizontal(|ui| {
            for (at, (label, sort, width)) in columns.into_iter().enumerate() {
                if at > 0 && !shown[at - 1] {
                    continue;
                }
                cell(ui, width, |ui| match sort {
                    Some(sort) => {
                        let text = if sort == key {
                            format!("{label}{arrow}")
                        } else {
                            label.to_owned()
                        };
                        let response = ui
                            .add(egui::Button::new(RichText::new(text).strong()).frame(false))
                            .accessible_name(format!("{} {label}", t.sort_by));
                        if response.clicked() {
                            self.model.sort_by(sort);
                        }
                    }
                    None => {
                        ui.label(RichText::new(label).strong());
                    }
                });
            }
        });
    }

    fn rows(&mut self, ui: &mut egui::Ui, name_width: f32, shown: [bool; 7]) {
        let t = self.t();
        let view: Vec<usize> = self.model.view().to_vec();
        if view.is_empty() {
            ui.add_space(24.0);
            let text = if self.model.rows().is_empty() && self.to_wecom {
                t.empty_queue_wecom
            } else if self.model.rows().is_empty() {
                t.empty_queue
            } else {
                t.empty_filter
            };
            ui.label(RichText::new(text).weak());
            return;
        }
        let mut clicks = Clicks::default();
        let columns = Columns {
            name_width,
            shown,
            t,
            lang: self.lang,
        };
        egui::ScrollArea::vertical()
            .id_salt("queue-v")
            .auto_shrink([false, false])
            .show_rows(ui, ROW_HEIGHT, view.len(), |ui, range| {
                for &at in &view[range] {
                    let row = &self.model.rows()[at];
                    let selected = self.selected == Some(row.snap.id);
                    ui.horizontal(|ui| {
                        ui.set_height(ROW_HEIGHT);
                        row_cells(ui, &columns, row, selected, &mut clicks);
                    });
                }
            });
        self.take_clicks(clicks);
    }

    /// Does what the rows' buttons asked for, once the table is drawn.
    fn take_clicks(&mut self, clicks: Clicks) {
        if let Some(id) = clicks.select {
            self.select(Some(id));
        }
        for command in clicks.commands {
            self.send(command);
        }
        for command in clicks.later {
            if let Command::Cancel(id) | Command::Remove(id) = command {
                self.remove_or_cancel_later(id, command);
            }
        }
        for id in clicks.dismiss {
            self.model.remove_row(id);
            if self.selected == Some(id) {
                self.select(None);
            }
        }
    }
}

/// What every row is drawn with.
struct Columns {
    name_width: f32,
    shown: [bool; 7],
    t: &'static Texts,
    lang: Lang,
}

/// What the rows' buttons asked for in this frame.
#[derive(Default)]
struct Clicks {
    /// Sent at once: pause, resume, retry.
    commands: Vec<Command>,
    /// Cancel and Remove, which wait out their undo time.
    later: Vec<Command>,
    /// Refused files taken off the list (they were never the engine's).
    dismiss: Vec<ItemId>,
    select: Option<ItemId>,
}

/// One row's cells, the optional ones where they fit.
fn row_cells(ui: &mut egui::Ui, columns: &Columns, row: &Row, selected: bool, clicks: &mut Clicks) {
    let t = columns.t;
    let shown = columns.shown;
    cell(ui, columns.name_width, |ui| {
        let response = ui
            .add(egui::Button::selectable(selected, row.name.as_str()).truncate())
            .on_hover_text(row.snap.path.display().to_string());
        if response.clicked() {
            clicks.select = Some(row.snap.id);
        }
    });
    if shown[0] {
        cell(ui, WIDTHS[0], |ui| {
            if !row.is_refused() {
                ui.label(format_bytes(row.snap.size));
            }
        });
    }
    if shown[1] {
        cell(ui, WIDTHS[1], |ui| {
            ui.label(kind_text(row, t));
        });
    }
    cell(ui, WIDTHS[2], |ui| state_cell(ui, row, t, columns.lang));
    cell(ui, WIDTHS[3], |ui| progress_cell(ui, row, t, columns.lang));
    if shown[4] {
        cell(ui, WIDTHS[4], |ui| {
            if row.is_running() {
                ui.label(format_speed(row.snap.progress.speed));
            }
        });
    }
    if shown[5] {
        cell(ui, WIDTHS[5], |ui| {
            if row.is_running() {
                ui.label(format_eta(row.snap.progress.eta));
            }
        });
    }
    cell(ui, WIDTHS[6], |ui| action_buttons(ui, row, t, clicks));
}

/// The state in words, red with the error on hover when it failed.
fn state_cell(ui: &mut egui::Ui, row: &Row, t: &Texts, lang: Lang) {
    let text = state_text(row, t);
    let rich = match &row.snap.state {
        ItemState::Failed(_) => RichText::new(text).color(ui.visuals().error_fg_color),
        _ => RichText::new(text),
    };
    let label = ui.add(egui::Label::new(rich).truncate());
    if let ItemState::Failed(err) = &row.snap.state {
        label.on_hover_text(crate::gui::i18n::error_text(err, lang));
    }
}

/// The progress bar with the bytes on the way, or a refused file's rule in its place.
fn progress_cell(ui: &mut egui::Ui, row: &Row, t: &Texts, lang: Lang) {
    if let (true, ItemState::Failed(err)) = (row.is_refused(), &row.snap.state) {
        // The rule, where the bar would be: a refused file never moved.
        let rule = crate::gui::i18n::error_text(err, lang);
        ui.add(
            egui::Label::new(
                RichText::new(&rule)
                    .small()
                    .color(ui.visuals().error_fg_color),
            )
            .truncate(),
        )
        .on_hover_text(rule);
        return;
    }
    let fraction = row.fraction();
    let bar = ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(WIDTHS[3] - 4.0)
            .desired_height(16.0)
            .text(format!("{:.0}%", f64::from(fraction) * 100.0)),
    );
    in_flight_segment(ui, &bar, fraction, row.wire_fraction());
    let on_the_way = row.snap.progress.in_flight;
    if on_the_way > 0 && row.is_running() {
        bar.on_hover_text(format!("{} {}", format_bytes(on_the_way), t.on_the_way));
    }
}

/// The buttons that make sense in the row's state, each named with the file for screen
/// readers and tests.
fn action_buttons(ui: &mut egui::Ui, row: &Row, t: &Texts, clicks: &mut Clicks) {
    let id = row.snap.id;
    let actions = row_actions(row);
    let button = |ui: &mut egui::Ui, show: bool, word: &str| {
        show && ui
            .small_button(word)
            .accessible_name(format!("{word} {}", row.name))
            .clicked()
    };
    if button(ui, actions.pause, t.pause) {
        clicks.commands.push(Command::Pause(id));
    }
    if button(ui, actions.resume, t.resume) {
        clicks.commands.push(Command::Resume(id));
    }
    if button(ui, actions.retry, t.retry) {
        clicks.commands.push(Command::Retry(id));
    }
    // Cancel and Remove can be undone for a few seconds.
    if button(ui, actions.cancel, t.cancel) {
        clicks.later.push(Command::Cancel(id));
    }
    if button(ui, actions.remove, t.remove) {
        if row.is_refused() {
            clicks.dismiss.push(id);
        } else {
            clicks.later.push(Command::Remove(id));
        }
    }
}

/// A fixed-width cell so columns line up without a grid (which would lay out every row).
fn cell(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui)) {
    let height = ROW_HEIGHT.min(ui.available_height().max(ROW_HEIGHT));
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layout(Layout::left_to_right(Align::Center)),
    );
    child.set_clip_rect(rect.intersect(ui.clip_rect()));
    add(&mut child);
}

/// Paints the bytes on the way (sent, not yet acknowledged) as a lighter segment after the
/// acknowledged part of `bar`: the bar itself only ever counts what the server has.
fn in_flight_segment(ui: &egui::Ui, bar: &egui::Response, done: f32, wire: f32) {
    if wire <= done {
        return;
    }
    let rect = bar.rect;
    let left = rect.left() + rect.width() * done;
    let right = rect.left() + rect.width() * wire;
    let segment = egui::Rect::from_x_y_ranges(left..=right, rect.y_range());
    let color = ui.visuals().selection.bg_fill.gamma_multiply(0.55);
    ui.painter().rect_filled(segment, 0.0, color);
}
