//! Work on the blocking pool that reports back as a [`Job`]: cover thumbnails, QR code PNGs,
//! WeChat Work copies fetched back, and URLs opened in the desktop's browser.

use std::path::{Path, PathBuf};

use super::{Job, Thumbnail, VodDeskApp};
use crate::engine::api::Command;
use crate::gui::backend::WeComRoute;
use crate::gui::browser::Purpose;

/// The longest side of a cover thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 256;
/// Pixels per module of a saved QR code PNG.
const PNG_SCALE: u32 = 12;

impl VodDeskApp {
    /// Starts decoding a cover into a thumbnail, once per path.
    pub(crate) fn request_thumbnail(&mut self, ctx: &egui::Context, path: &Path) {
        if self.thumbnails.contains_key(path) {
            return;
        }
        self.thumbnails
            .insert(path.to_path_buf(), Thumbnail::Loading);
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let path = path.to_path_buf();
        self.handle.spawn_blocking(move || {
            let image = decode_thumbnail(&path);
            let _ = tx.send(Job::Thumbnail { path, image });
            ctx.request_repaint();
        });
    }

    /// Copies of WeChat Work media go to `dir` without a file dialog (tests; by default the
    /// system dialog or the built-in browser asks).
    pub fn save_copies_to(&mut self, dir: PathBuf) {
        self.copies_dir = Some(dir);
    }

    /// Fetches WeChat Work media back (`media/get`, through the engine) into a file the user
    /// picks.
    pub(crate) fn save_wecom_copy(&mut self, ctx: &egui::Context, media_id: &str, name: &str) {
        if matches!(self.wecom_route(), None | Some(WeComRoute::NotSetUp)) {
            self.say_error(self.t().wecom_unavailable.to_owned());
            return;
        }
        if let Some(dir) = self.copies_dir.clone() {
            // A folder the engine puts the copy in under the server's name: it must exist,
            // or the copy would be written as a file of that name.
            if let Err(err) = std::fs::create_dir_all(&dir) {
                self.say_error(format!("{}: {err}", dir.display()));
                return;
            }
            self.send(Command::SaveWeComCopy {
                media_id: media_id.to_owned(),
                target: dir,
            });
            return;
        }
        self.ask_where_to_save(
            ctx,
            Purpose::SaveCopy {
                media_id: media_id.to_owned(),
                name: name.to_owned(),
            },
        );
    }

    /// Asks where to save the QR code of `url`, then saves it.
    pub(crate) fn save_qr(&mut self, ctx: &egui::Context, url: &str, file_id: &str) {
        self.ask_where_to_save(
            ctx,
            Purpose::SaveQr {
                url: url.to_owned(),
                name: format!("wechat-qr-{file_id}.png"),
            },
        );
    }

    /// Draws the QR code of `url` into the PNG `path` on the blocking pool; the note says
    /// where it went.
    pub(crate) fn write_qr(&mut self, ctx: &egui::Context, url: String, path: PathBuf) {
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        self.handle.spawn_blocking(move || {
            let written = crate::qr::QrMatrix::encode(&url)
                .map_err(|err| err.to_string())
                .and_then(|m| m.save_png(&path, PNG_SCALE).map_err(|err| err.to_string()))
                .map(|()| path);
            let _ = tx.send(Job::QrSaved(written));
            ctx.request_repaint();
        });
    }

    /// Opens `url` in the desktop's browser off the UI thread; the note says when nothing
    /// opened it and offers to copy it instead.
    pub(crate) fn open_url(&mut self, ctx: &egui::Context, url: &str) {
        let tx = self.jobs_tx.clone();
        let ctx = ctx.clone();
        let url = url.to_owned();
        self.handle.spawn_blocking(move || {
            // `that` waits for the opener, whose exit status says whether a browser took it
            // (`xdg-open` fails when none is set up).
            let result = open::that(&url).map_err(|err| err.to_string());
            let _ = tx.send(Job::Opened { url, result });
            ctx.request_repaint();
        });
    }
}

/// Decodes `path` and shrinks it to a thumbnail; `None` for formats `image` cannot read.
fn decode_thumbnail(path: &Path) -> Option<egui::ColorImage> {
    let image = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let thumb = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgba8();
    let size = [thumb.width() as usize, thumb.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(
        size,
        thumb.as_raw(),
    ))
}
