//! The options editor of the selected item: its fields checked, then sent to the engine.

use super::VodDeskApp;
use crate::engine::api::{Command, ItemOptions};

impl VodDeskApp {
    /// Sends the options editor's values.
    pub(crate) fn apply_options(&mut self) {
        let t = self.lang.texts();
        let Some(editor) = &mut self.editor else {
            return;
        };
        let Some(row) = self.model.row(editor.id) else {
            return;
        };
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let class_id = match editor.class_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    editor.error = Some(format!("{}: {}", t.class_id, t.whole_number));
                    return;
                }
            },
        };
        let sub_app_id = match editor.sub_app_id.trim() {
            "" => None,
            s => match s.parse::<u64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    editor.error = Some(format!("{}: {}", t.sub_app_id, t.whole_number));
                    return;
                }
            },
        };
        let expire = editor.expire_time.trim();
        if !expire.is_empty() && chrono::DateTime::parse_from_rfc3339(expire).is_err() {
            editor.error = Some(format!("{}: {}", t.expire_time, t.example_expiry));
            return;
        }
        if editor.source_context.chars().count() > 250 {
            editor.error = Some(format!("{}: ≤ 250", self.lang.texts().source_context));
            return;
        }
        editor.error = None;
        let options = ItemOptions {
            media_name: text(&editor.media_name),
            procedure: text(&editor.procedure),
            class_id,
            expire_time: text(expire),
            source_context: text(&editor.source_context),
            storage_region: text(&editor.storage_region),
            sub_app_id,
            ..row.snap.options.clone()
        };
        let id = editor.id;
        self.send(Command::UpdateOptions(id, options));
    }
}
