//! What can be uploaded: file types, the folder walk behind drag-and-drop and "Add folder", and
//! automatic cover pairing.
//!
//! [`collect`] touches the disk and may take a while on a big tree, so the app runs it on a
//! blocking thread and shows the result when it arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::engine::api::{Destination, ItemOptions, NewItem, WeComMediaType};

/// Video extensions VOD accepts.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "ts", "flv", "wmv", "asf", "rm", "rmvb", "mpg", "mpeg", "3gp", "mov", "webm", "mkv",
    "avi",
];
/// Audio extensions VOD accepts.
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "m4a", "flac", "ogg", "wav"];
/// Cover image extensions VOD accepts.
pub const COVER_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "tiff", "ai", "cdr", "eps",
];

/// How deep the folder walk goes; deeper trees are almost certainly a link loop or a mistake.
const MAX_DEPTH: usize = 32;

/// What a file is, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// An uploadable video.
    Video,
    /// An uploadable audio file.
    Audio,
    /// A cover image.
    Cover,
    /// Anything else.
    Other,
}

/// The kind of `path` by its (case-insensitive) extension.
#[must_use]
pub fn kind_of(path: &Path) -> FileKind {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return FileKind::Other;
    };
    let ext = ext.to_ascii_lowercase();
    if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        FileKind::Video
    } else if AUDIO_EXTENSIONS.contains(&ext.as_str()) {
        FileKind::Audio
    } else if COVER_EXTENSIONS.contains(&ext.as_str()) {
        FileKind::Cover
    } else {
        FileKind::Other
    }
}

/// Why a file was not added.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// Its type is not one VOD takes (the lower-cased extension, or empty).
    Unsupported(String),
    /// It could not be read (the OS's words).
    Unreadable(String),
    /// An image with no media file of the same stem to be its cover.
    LonelyCover,
    /// Zero bytes.
    Empty,
}

/// A file that was not added, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// What a walk found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Files to queue, sorted by path, covers paired.
    pub items: Vec<NewItem>,
    /// Files left out.
    pub skipped: Vec<Skipped>,
}

/// Walks `paths` (files and folders, recursively), keeps supported media, pairs each with an
/// image of the same stem in the same folder as its cover, and reports the rest.
///
/// `defaults` is the options every new item starts with; a paired cover is set on top.
#[must_use]
pub fn collect(paths: &[PathBuf], defaults: &ItemOptions) -> Collected {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut skipped = Vec::new();
    for path in paths {
        walk(path, 0, &mut files, &mut skipped);
    }

    // Group covers by (folder, lower-cased stem) so that `Talk.MP4` pairs with `talk.jpg`.
    let mut covers: BTreeMap<(PathBuf, String), PathBuf> = BTreeMap::new();
    for file in &files {
        if kind_of(file) == FileKind::Cover {
            covers.entry(stem_key(file)).or_insert_with(|| file.clone());
        }
    }

    let mut used_covers = BTreeSet::new();
    let mut items = Vec::new();
    for file in &files {
        match kind_of(file) {
            FileKind::Video | FileKind::Audio => {
                let mut options = defaults.clone();
                let key = stem_key(file);
                let cover = covers.get(&key).cloned().or_else(|| sibling_cover(file));
                if let Some(cover) = cover {
                    used_covers.insert(cover.clone());
                    options.cover = Some(cover);
                }
                items.push(NewItem {
                    path: file.clone(),
                    destination: Destination::Vod,
                    options,
                });
            }
            FileKind::Cover => {}
            FileKind::Other => skipped.push(Skipped {
                path: file.clone(),
                reason: SkipReason::Unsupported(extension(file)),
            }),
        }
    }
    for cover in covers.into_values() {
        if !used_covers.contains(&cover) {
            skipped.push(Skipped {
                path: cover,
                reason: SkipReason::LonelyCover,
            });
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Collected { items, skipped }
}

/// Walks `paths` like [`collect`] for WeChat Work: every non-empty file is queued (WeCom takes
/// any file), as the media type its name and size fit — an image, AMR voice or MP4 video
/// within that type's limits, otherwise a file — and with no cover pairing, since temporary
/// media have none. Files over every limit are still queued: the engine refuses them, naming
/// the rule, where the editor sees it on the item.
#[must_use]
pub fn collect_wecom(paths: &[PathBuf]) -> Collected {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut skipped = Vec::new();
    for path in paths {
        walk(path, 0, &mut files, &mut skipped);
    }
    let mut items = Vec::new();
    for file in files {
        let size = std::fs::metadata(&file).map_or(0, |meta| meta.len());
        if size == 0 {
            skipped.push(Skipped {
                path: file,
                reason: SkipReason::Empty,
            });
            continue;
        }
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        items.push(NewItem {
            destination: Destination::WeCom(WeComMediaType::for_file(&name, size)),
            path: file,
            options: ItemOptions::default(),
        });
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Collected { items, skipped }
}

fn walk(path: &Path, depth: usize, files: &mut BTreeSet<PathBuf>, skipped: &mut Vec<Skipped>) {
    // `metadata` follows a link to a file; links to folders are followed too, bounded by depth.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: SkipReason::Unreadable(err.to_string()),
            });
            return;
        }
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH {
            return;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(err) => {
                skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason: SkipReason::Unreadable(err.to_string()),
                });
                return;
            }
        };
        for entry in entries.flatten() {
            let child = entry.path();
            // Hidden files (`.DS_Store`, editor droppings) are noise, not skipped uploads.
            if child
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            walk(&child, depth + 1, files, skipped);
        }
    } else if meta.len() == 0 && kind_of(path) != FileKind::Other {
        skipped.push(Skipped {
            path: path.to_path_buf(),
            reason: SkipReason::Empty,
        });
    } else {
        files.insert(path.to_path_buf());
    }
}

fn stem_key(path: &Path) -> (PathBuf, String) {
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    (folder, stem)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// An image of the same stem beside a file that was dropped on its own.
fn sibling_cover(file: &Path) -> Option<PathBuf> {
    let stem = file.file_stem()?;
    let folder = file.parent()?;
    COVER_EXTENSIONS.iter().find_map(|ext| {
        let mut name = stem.to_os_string();
        name.push(".");
        name.push(ext);
        let candidate = folder.join(name);
        candidate.is_file().then_some(candidate)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_extension_ignore_case() {
        assert_eq!(kind_of(Path::new("a/b.MP4")), FileKind::Video);
        assert_eq!(kind_of(Path::new("x.flac")), FileKind::Audio);
        assert_eq!(kind_of(Path::new("x.Jpeg")), FileKind::Cover);
        assert_eq!(kind_of(Path::new("x.txt")), FileKind::Other);
        assert_eq!(kind_of(Path::new("noext")), FileKind::Other);
    }

    #[test]
    fn walk_pairs_covers_and_reports_the_rest() {
        let dir = std::env::temp_dir().join(format!("voddesk-files-{}", std::process::id()));
        let sub = dir.join("子目录");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(dir.join("talk.mp4"), b"video").unwrap();
        std::fs::write(dir.join("talk.jpg"), b"jpg").unwrap();
        std::fs::write(dir.join("notes.txt"), b"text").unwrap();
        std::fs::write(dir.join("lonely.png"), b"png").unwrap();
        std::fs::write(sub.join("演讲.mov"), b"video").unwrap();
        std::fs::write(sub.join("empty.mp3"), b"").unwrap();
        std::fs::write(dir.join(".hidden.mp4"), b"x").unwrap();

        let found = collect(std::slice::from_ref(&dir), &ItemOptions::default());
        let names: Vec<_> = found
            .items
            .iter()
            .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["talk.mp4", "演讲.mov"]);
        assert_eq!(found.items[0].options.cover, Some(dir.join("talk.jpg")));
        let reasons: Vec<_> = found.skipped.iter().map(|s| s.reason.clone()).collect();
        assert!(reasons.contains(&SkipReason::Unsupported("txt".into())));
        assert!(reasons.contains(&SkipReason::LonelyCover));
        assert!(reasons.contains(&SkipReason::Empty));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
