//! Finds a CJK font on the system and adds it to egui as a fallback.
//!
//! egui's bundled fonts have no Chinese glyphs. Rather than ship a 20 MB font in the binary, the
//! app looks for one the system already has (Noto Sans CJK, Source Han Sans, WenQuanYi, the
//! macOS and Windows system fonts) and appends it to both families, so Latin text keeps egui's
//! look and Chinese falls through to the CJK font. When none is found the app still runs, shows a
//! banner that says which package to install, and Chinese shows as boxes; the Debian package
//! depends on `fonts-noto-cjk` so installed copies always have one.
//!
//! The bytes are read once in `main` before the window opens (a few milliseconds from the page
//! cache), never inside the UI pass.

use std::path::{Path, PathBuf};

use egui::{FontData, FontDefinitions, FontFamily};

/// The name the CJK font is registered under in [`FontDefinitions`].
pub const CJK_FONT_NAME: &str = "cjk-fallback";

/// Known places of CJK fonts, most preferred first, with the face index inside `.ttc` files
/// (index 2 of Noto Sans CJK `.ttc` is Simplified Chinese; 0 is Japanese-first but complete).
const CANDIDATES: &[(&str, u32)] = &[
    // Debian / Ubuntu fonts-noto-cjk
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        0,
    ),
    // Fedora / Arch
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
        0,
    ),
    // WenQuanYi (older distributions)
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    (
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        0,
    ),
    // Droid fallback, shipped by many Android-derived setups
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
    ),
    // macOS
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Medium.ttc", 0),
    ("/System/Library/Fonts/Supplemental/Arial Unicode.ttf", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
    // Windows
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttf", 0),
    ("C:\\Windows\\Fonts\\simhei.ttf", 0),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
];

/// A CJK font read from disk.
#[derive(Clone)]
pub struct CjkFont {
    /// Where it was found.
    pub path: PathBuf,
    /// The file's bytes.
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// Which face of a collection to use.
    pub index: u32,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .field("index", &self.index)
            .finish()
    }
}

/// Finds and reads the first CJK font of the known places; `VODDESK_CJK_FONT` names a file to
/// use instead (face 0).
#[must_use]
pub fn find_cjk_font() -> Option<CjkFont> {
    if let Some(path) = crate::config::env_var("VODDESK_CJK_FONT") {
        if let Some(font) = read(Path::new(&path), 0) {
            return Some(font);
        }
        tracing::warn!("VODDESK_CJK_FONT does not name a readable font: {path}");
    }
    CANDIDATES
        .iter()
        .find_map(|(path, index)| read(Path::new(path), *index))
}

fn read(path: &Path, index: u32) -> Option<CjkFont> {
    let bytes = std::fs::read(path).ok()?;
    // A font file starts with a known tag; skip anything else (an empty or truncated file).
    let tag = bytes.get(..4)?;
    if !matches!(tag, b"ttcf" | b"OTTO" | [0, 1, 0, 0] | b"true") {
        return None;
    }
    Some(CjkFont {
        path: path.to_path_buf(),
        bytes: std::sync::Arc::new(bytes),
        index,
    })
}

/// egui's default fonts with `cjk` appended as the last fallback of both families.
#[must_use]
pub fn definitions(cjk: Option<&CjkFont>) -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    if let Some(cjk) = cjk {
        let data = FontData::from_blob(cjk.bytes.clone(), cjk.index);
        fonts
            .font_data
            .insert(CJK_FONT_NAME.to_owned(), std::sync::Arc::new(data));
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            fonts
                .families
                .entry(family)
                .or_default()
                .push(CJK_FONT_NAME.to_owned());
        }
    }
    fonts
}

/// Installs the fonts into `ctx`.
pub fn install(ctx: &egui::Context, cjk: Option<&CjkFont>) {
    ctx.set_fonts(definitions(cjk));
}
