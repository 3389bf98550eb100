//! QR codes for publishing URLs: one encoding, drawn as pixels (for the app's texture and the
//! saved PNG) or as half-block characters (for the terminal).

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, as the standard asks, so phones find it on any background.
const QUIET_ZONE: usize = 4;

/// A QR code as a square of modules, quiet zone included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub size: usize,
    /// Row-major; `true` is dark.
    pub dark: Vec<bool>,
}

/// The text cannot be encoded (too long for a QR code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw a QR code for this text: {0}")]
pub struct QrError(String);

impl QrMatrix {
    /// Encodes `text` with medium error correction.
    ///
    /// # Errors
    /// When the text is too long.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|err| QrError(err.to_string()))?;
        let inner = code.width();
        let colors = code.to_colors();
        let size = inner + 2 * QUIET_ZONE;
        let mut dark = vec![false; size * size];
        for (i, color) in colors.iter().enumerate() {
            let (y, x) = (i / inner, i % inner);
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = *color == Color::Dark;
        }
        Ok(Self { size, dark })
    }

    /// Whether the module at (x, y) is dark.
    #[must_use]
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.size + x).copied().unwrap_or(false)
    }

    /// Grey pixels, `scale` pixels per module (black on white).
    #[must_use]
    pub fn to_image(&self, scale: u32) -> GrayImage {
        let scale = scale.max(1);
        let side = u32::try_from(self.size).unwrap_or(0) * scale;
        GrayImage::from_fn(side, side, |px, py| {
            let (x, y) = ((px / scale) as usize, (py / scale) as usize);
            Luma([if self.is_dark(x, y) { 0 } else { 255 }])
        })
    }

    /// Writes a PNG, `scale` pixels per module.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_png(&self, path: &std::path::Path, scale: u32) -> Result<(), image::ImageError> {
        self.to_image(scale)
            .save_with_format(path, image::ImageFormat::Png)
    }

    /// Two modules per character cell with Unicode half blocks, for a terminal with a dark
    /// background (light modules are drawn, dark ones left blank), quiet zone included.
    #[must_use]
    pub fn to_terminal(&self) -> String {
        let mut out = String::new();
        for y in (0..self.size).step_by(2) {
            for x in 0..self.size {
                let top = !self.is_dark(x, y);
                let bottom = y + 1 < self.size && !self.is_dark(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_code_decodes_back() {
        let url = "http://127.0.0.1:38211/wechat/5285890799999999999?lang=zh";
        let matrix = QrMatrix::encode(url).unwrap();
        let image = matrix.to_image(6);
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, url);
    }

    #[test]
    fn terminal_rendering_has_half_the_rows() {
        let matrix = QrMatrix::encode("x").unwrap();
        let text = matrix.to_terminal();
        assert_eq!(text.lines().count(), matrix.size.div_ceil(2));
        assert!(text.lines().all(|l| l.chars().count() == matrix.size));
    }
}
