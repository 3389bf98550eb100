//! The built-in file browser's state and its folder listing, for systems without a file
//! dialog (no desktop portal, no zenity). The listing runs on the blocking pool; the window
//! (`ui/browser.rs`) only reads what it returned.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the browser is open for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Files to add (several may be picked).
    AddFiles,
    /// Folders to add.
    AddFolder,
    /// Where to save the QR code of `url`, proposing `name`.
    SaveQr {
        /// The publishing URL.
        url: String,
        /// The proposed file name.
        name: String,
    },
    /// Where to save a copy of WeChat Work media, proposing `name`.
    SaveCopy {
        /// The media.
        media_id: String,
        /// The proposed file name.
        name: String,
    },
}

impl Purpose {
    /// The proposed file name when it saves.
    #[must_use]
    pub fn proposed_name(&self) -> Option<&str> {
        match self {
            Self::SaveQr { name, .. } | Self::SaveCopy { name, .. } => Some(name),
            Self::AddFiles | Self::AddFolder => None,
        }
    }
}

/// One entry of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// Whether it is a folder (or a link to one).
    pub is_dir: bool,
    /// Its size in bytes (0 for folders).
    pub size: u64,
}

/// A folder's listing as far as it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// Being read.
    Loading,
    /// Read: folders first, then files, by name.
    Ready(Vec<Entry>),
    /// Could not be read, and why.
    Failed(String),
}

/// The built-in browser's state.
#[derive(Debug, Clone)]
pub struct Browser {
    /// What for.
    pub purpose: Purpose,
    /// The folder shown.
    pub dir: PathBuf,
    /// The location field (editable).
    pub location: String,
    /// Its entries.
    pub listing: Listing,
    /// Picked entries (files, or folders when adding folders).
    pub selected: BTreeSet<PathBuf>,
    /// The file name when it saves.
    pub file_name: String,
    /// Whether names starting with a dot are shown.
    pub show_hidden: bool,
    /// The listing asked for last.
    pub generation: u64,
}

impl Browser {
    /// A browser for `purpose` in `dir`, before its listing arrives.
    #[must_use]
    pub fn new(purpose: Purpose, dir: PathBuf) -> Self {
        let file_name = purpose.proposed_name().unwrap_or_default().to_owned();
        Self {
            purpose,
            location: dir.display().to_string(),
            dir,
            listing: Listing::Loading,
            selected: BTreeSet::new(),
            file_name,
            show_hidden: false,
            generation: 0,
        }
    }

    /// Moves to `dir` while its listing is read.
    pub fn show(&mut self, dir: PathBuf, generation: u64) {
        self.location = dir.display().to_string();
        self.dir = dir;
        self.listing = Listing::Loading;
        self.selected.clear();
        self.generation = generation;
    }

    /// Takes the listing of `dir`.
    pub fn listed(&mut self, dir: &Path, result: Result<Vec<Entry>, String>) {
        if dir != self.dir {
            return;
        }
        self.listing = match result {
            Ok(entries) => Listing::Ready(entries),
            Err(err) => Listing::Failed(err),
        };
    }

    /// Whether it saves (a file name is asked) rather than picks.
    #[must_use]
    pub fn saves(&self) -> bool {
        self.purpose.proposed_name().is_some()
    }

    /// What "OK" hands on: the picked entries, for a folder pick the folder shown when none
    /// is picked, for a save the file name in the folder shown.
    #[must_use]
    pub fn result(&self) -> Vec<PathBuf> {
        match self.purpose {
            Purpose::AddFiles => self.selected.iter().cloned().collect(),
            Purpose::AddFolder if self.selected.is_empty() => vec![self.dir.clone()],
            Purpose::AddFolder => self.selected.iter().cloned().collect(),
            Purpose::SaveQr { .. } | Purpose::SaveCopy { .. } => {
                let name = self.file_name.trim();
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    Vec::new()
                } else {
                    vec![self.dir.join(name)]
                }
            }
        }
    }
}

/// Where the browser opens first: the home folder, else the file system's root.
#[must_use]
pub fn start_dir() -> PathBuf {
    directories::UserDirs::new()
        .map_or_else(|| PathBuf::from("/"), |dirs| dirs.home_dir().to_path_buf())
}

/// Reads `dir`: folders first, then files, each by name (case ignored). Blocking: call it off
/// the UI thread.
///
/// # Errors
/// Why the folder cannot be read.
pub fn list_dir(dir: &Path) -> Result<Vec<Entry>, String> {
    let read = std::fs::read_dir(dir).map_err(|err| err.to_string())?;
    let mut entries: Vec<Entry> = read
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            // Follows links, so a link to a folder opens like one.
            let meta = std::fs::metadata(&path).ok();
            Entry {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_dir: meta.as_ref().is_some_and(std::fs::Metadata::is_dir),
                size: meta.as_ref().map_or(0, std::fs::Metadata::len),
                path,
            }
        })
        .collect();
    entries.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
}

/// The paths of a pasted list: one a line, blank lines skipped, surrounding quotes and a
/// `file://` prefix taken off (as file managers copy them).
#[must_use]
pub fn parse_pasted(text: &str) -> Vec<PathBuf> {
    text.lines()
        .map(str::trim)
        .map(|line| line.trim_matches(|c| c == '"' || c == '\''))
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = line.strip_prefix("file://").unwrap_or(line);
            PathBuf::from(percent_decode(line))
        })
        .collect()
}

/// `%20` and the like, as in `file://` URLs; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(hex) = text.get(at + 1..at + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pasted_paths_lose_quotes_and_file_urls() {
        let text =
            "  /videos/a.mp4\n\n\"/videos/b c.mp4\"\nfile:///videos/%E8%AE%BF%E8%B0%88.mkv\n";
        assert_eq!(
            parse_pasted(text),
            [
                PathBuf::from("/videos/a.mp4"),
                PathBuf::from("/videos/b c.mp4"),
                PathBuf::from("/videos/访谈.mkv"),
            ]
        );
    }

    #[test]
    fn folders_come_first_and_a_save_needs_a_plain_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.mp4"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("z")).unwrap();
        let names: Vec<String> = list_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["z", "b.mp4"]);
        let mut save = Browser::new(
            Purpose::SaveQr {
                url: "u".into(),
                name: "qr.png".into(),
            },
            dir.path().to_path_buf(),
        );
        assert_eq!(save.result(), [dir.path().join("qr.png")]);
        save.file_name = "../x.png".into();
        assert!(save.result().is_empty());
    }
}
