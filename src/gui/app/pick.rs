//! Files in: the system's file dialog (off the UI thread) or the built-in browser where there
//! is none, pasted paths, and the folder walk on the blocking pool. Save dialogs ask here too,
//! then go on in [`VodDeskApp::chosen`].

use std::path::PathBuf;
use std::time::Instant;

use super::{DIALOG_FAILED_WITHIN, Job, VodDeskApp};
use crate::engine::api::Command;
use crate::gui::browser::{Browser, Purpose};

impl VodDeskApp {
    /// Hands `paths` to the folder walk on a blocking thread.
    pub(crate) fn add_paths(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        // Nothing is taken in that could not be queued: the user sees why and adds them
        // again once the queue is open.
        if self.connected().is_none() {
            self.say_error(format!("{} ({})", self.t().queue_not_open, paths.len()));
            return;
        }
        self.scans_running += 1;
        let defaults = self.settings.item_defaults();
        let to_wecom = self.to_wecom;
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let found = if to_wecom {
                crate::gui::files::collect_wecom(&paths)
            } else {
                crate::gui::files::collect(&paths, &defaults)
            };
            let _ = tx.send(Job::Scanned(found));
            ctx.request_repaint();
        });
    }

    /// Adds the paths of the "Paste paths" text, one a line (quotes and `file://` taken off).
    pub(crate) fn add_pasted(&mut self, ctx: &egui::Context, text: &str) {
        let paths = crate::gui::browser::parse_pasted(text);
        if paths.is_empty() {
            self.say_error(self.t().paste_nothing.to_owned());
            return;
        }
        self.add_paths(ctx, paths);
    }

    /// Opens the system's file (or folder) dialog off the UI thread, or the built-in browser
    /// where there is none.
    pub(crate) fn open_dialog(&mut self, ctx: &egui::Context, folder: bool) {
        let purpose = if folder {
            Purpose::AddFolder
        } else {
            Purpose::AddFiles
        };
        if self.connected().is_none() {
            self.say_error(self.t().queue_not_open.to_owned());
            return;
        }
        if !self.system_dialog() {
            self.browse(ctx, purpose);
            return;
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let t = self.t();
        let title = if folder { t.add_folder } else { t.add_files };
        let to_wecom = self.to_wecom;
        let filter_name = t.filter_media;
        self.handle.spawn(async move {
            let asked = Instant::now();
            let dialog = rfd::AsyncFileDialog::new().set_title(title);
            let paths: Vec<PathBuf> = if folder {
                dialog
                    .pick_folders()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| h.path().to_path_buf())
                    .collect()
            } else {
                let mut media: Vec<&str> = crate::gui::files::VIDEO_EXTENSIONS.to_vec();
                media.extend_from_slice(crate::gui::files::AUDIO_EXTENSIONS);
                // WeChat Work takes any file: no filter to clear first.
                let dialog = if to_wecom {
                    dialog
                } else {
                    dialog.add_filter(filter_name, &media)
                };
                dialog
                    .add_filter("*", &["*"])
                    .pick_files()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| h.path().to_path_buf())
                    .collect()
            };
            let quick = asked.elapsed() < DIALOG_FAILED_WITHIN;
            let _ = tx.send(Job::Picked {
                purpose,
                paths,
                quick,
            });
            ctx.request_repaint();
        });
    }

    /// Asks where to save `purpose`'s file (the system dialog, or the built-in browser),
    /// then goes on in [`Self::chosen`].
    pub(crate) fn ask_where_to_save(&mut self, ctx: &egui::Context, purpose: Purpose) {
        if !self.system_dialog() {
            self.browse(ctx, purpose);
            return;
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let title = match purpose {
            Purpose::SaveQr { .. } => self.t().save_qr_title,
            _ => self.t().save_copy,
        };
        self.handle.spawn(async move {
            let asked = Instant::now();
            let mut dialog = rfd::AsyncFileDialog::new()
                .set_title(title)
                .set_file_name(purpose.proposed_name().unwrap_or_default());
            if matches!(purpose, Purpose::SaveQr { .. }) {
                dialog = dialog.add_filter("PNG", &["png"]);
            }
            let paths: Vec<PathBuf> = dialog
                .save_file()
                .await
                .map(|file| file.path().to_path_buf())
                .into_iter()
                .collect();
            let quick = asked.elapsed() < DIALOG_FAILED_WITHIN;
            let _ = tx.send(Job::Picked {
                purpose,
                paths,
                quick,
            });
            ctx.request_repaint();
        });
    }

    /// Whether the system's file dialog is to be asked (else the built-in browser is used).
    fn system_dialog(&self) -> bool {
        !self.builtin_browser_only && dialog_available()
    }

    /// Uses only the built-in file browser from now on (tests; also after the system dialog
    /// failed to open).
    pub fn use_builtin_browser(&mut self) {
        self.builtin_browser_only = true;
    }

    /// Opens the built-in file browser for `purpose` in the folder it was last in (at first
    /// the home folder).
    pub(crate) fn browse(&mut self, ctx: &egui::Context, purpose: Purpose) {
        let dir = self
            .last_browsed
            .clone()
            .unwrap_or_else(crate::gui::browser::start_dir);
        self.browser = Some(Browser::new(purpose, dir.clone()));
        self.list_dir(ctx, dir);
    }

    /// Lists `dir` for the built-in browser on the blocking pool.
    pub(crate) fn list_dir(&mut self, ctx: &egui::Context, dir: PathBuf) {
        self.browse_generation += 1;
        let generation = self.browse_generation;
        if let Some(browser) = &mut self.browser {
            browser.show(dir.clone(), generation);
        }
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let result = crate::gui::browser::list_dir(&dir);
            let _ = tx.send(Job::Listed {
                generation,
                dir,
                result,
            });
            ctx.request_repaint();
        });
    }

    /// What the built-in browser (or the system dialog) chose for `purpose`.
    pub(crate) fn chosen(&mut self, ctx: &egui::Context, purpose: Purpose, paths: Vec<PathBuf>) {
        match purpose {
            Purpose::AddFiles | Purpose::AddFolder => self.add_paths(ctx, paths),
            Purpose::SaveQr { url, .. } => {
                if let Some(path) = paths.into_iter().next() {
                    self.write_qr(ctx, url, path);
                }
            }
            Purpose::SaveCopy { media_id, .. } => {
                if let Some(target) = paths.into_iter().next() {
                    self.send(Command::SaveWeComCopy { media_id, target });
                }
            }
        }
    }
}

/// Whether a file dialog can appear: on Linux rfd needs the desktop portal (D-Bus session) or
/// `zenity`; elsewhere the OS always has one.
fn dialog_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()))
}
