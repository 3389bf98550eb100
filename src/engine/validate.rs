//! Checks made before anything is sent: file types, readable regular non-empty files, covers,
//! and the per-item options' rules. Every refusal names the file and the rule.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::engine::api::{Destination, ItemOptions, NewItem, WeComMediaType};
use crate::tencent::ugc_sign::MAX_SOURCE_CONTEXT_CHARS;

/// Video types the service accepts.
pub const VIDEO_TYPES: &[&str] = &[
    "mp4", "ts", "flv", "wmv", "asf", "rm", "rmvb", "mpg", "mpeg", "3gp", "mov", "webm", "mkv",
    "avi",
];
/// Audio types the service accepts.
pub const AUDIO_TYPES: &[&str] = &["mp3", "m4a", "flac", "ogg", "wav"];
/// Cover image types the service accepts.
pub const COVER_TYPES: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "tiff", "ai", "cdr", "eps",
];
/// The longest media name, in bytes (the mobile SDKs' limit, error 1015).
pub const MAX_MEDIA_NAME_BYTES: usize = 200;
/// Characters a media name may not contain (the mobile SDKs' rule).
pub const FORBIDDEN_NAME_CHARS: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// The lower-case extension of a path.
#[must_use]
pub fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Whether a path has a supported media extension.
#[must_use]
pub fn is_media(path: &Path) -> bool {
    extension(path)
        .is_some_and(|e| VIDEO_TYPES.contains(&e.as_str()) || AUDIO_TYPES.contains(&e.as_str()))
}

/// Whether a path has a supported cover extension.
#[must_use]
pub fn is_cover(path: &Path) -> bool {
    extension(path).is_some_and(|e| COVER_TYPES.contains(&e.as_str()))
}

/// A file's modification time in nanoseconds since the Unix epoch (0 when unknown).
#[must_use]
pub fn mtime_ns(metadata: &std::fs::Metadata) -> i64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A file that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The file (absolute when it could be made so).
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Its modification time, ns.
    pub mtime_ns: i64,
    /// Options with the cover resolved.
    pub options: ItemOptions,
}

/// Checks that `path` is a readable, regular, non-empty file; returns its metadata.
fn readable_file(path: &Path, what: &str) -> Result<std::fs::Metadata, String> {
    let metadata = std::fs::metadata(path)
        .map_err(|err| format!("{what} cannot be read ({err}); check that it exists"))?;
    if metadata.is_dir() {
        return Err(format!("{what} is a folder, not a file"));
    }
    if !metadata.is_file() {
        return Err(format!("{what} is not a regular file"));
    }
    if let Err(err) = std::fs::File::open(path) {
        return Err(format!(
            "{what} cannot be opened for reading ({err}); check its permissions"
        ));
    }
    if metadata.len() == 0 {
        return Err(format!(
            "{what} is empty (0 bytes); the service does not accept empty files"
        ));
    }
    Ok(metadata)
}

/// The cover beside `path` with the same stem, when one exists (`talk.mp4` + `talk.jpg`).
///
/// Probes the few candidate names rather than listing the folder, so that adding thousands of
/// files from one folder stays linear.
#[must_use]
pub fn paired_cover(path: &Path) -> Option<PathBuf> {
    path.file_stem()?;
    COVER_TYPES
        .iter()
        .flat_map(|ext| [ext.to_string(), ext.to_ascii_uppercase()])
        .map(|ext| path.with_extension(ext))
        .find(|candidate| candidate.is_file())
}

/// Checks a media name against the service's rules.
///
/// # Errors
/// The rule broken, in words.
pub fn check_media_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the media name is empty".to_owned());
    }
    if name.len() > MAX_MEDIA_NAME_BYTES {
        return Err(format!(
            "the media name is {} bytes long; at most {MAX_MEDIA_NAME_BYTES} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| FORBIDDEN_NAME_CHARS.contains(c) || c.is_control())
    {
        return Err(format!(
            "the media name contains {c:?}; it may not contain / \\ : * ? \" < > | or control characters"
        ));
    }
    Ok(())
}

/// Checks the per-item options.
///
/// # Errors
/// The rule broken, in words.
pub fn check_options(options: &ItemOptions) -> Result<(), String> {
    if let Some(context) = &options.source_context {
        let len = context.chars().count();
        if len > MAX_SOURCE_CONTEXT_CHARS {
            return Err(format!(
                "the source context is {len} characters long; at most {MAX_SOURCE_CONTEXT_CHARS} are allowed"
            ));
        }
    }
    if let Some(expiry) = &options.expire_time {
        let Ok(at) = chrono::DateTime::parse_from_rfc3339(expiry.trim()) else {
            return Err(format!(
                "the expiry time {expiry:?} is not an ISO 8601 date and time such as 2030-01-01T00:00:00Z"
            ));
        };
        // VOD deletes media once they expire: an expiry already past would have the upload
        // deleted as soon as it is done.
        if at <= chrono::Utc::now() {
            return Err(format!(
                "the expiry time {expiry} is already past; the media would be deleted as soon as they are uploaded"
            ));
        }
    }
    if let Some(name) = &options.media_name {
        check_media_name(name)?;
    }
    if let Some(region) = &options.storage_region
        && (region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(format!(
            "the storage region {region:?} is not a region name such as ap-chongqing"
        ));
    }
    if let Some(part) = options.part_size
        && !(super::planner::MIN_PART..=super::planner::MAX_PART).contains(&part)
    {
        return Err(format!(
            "the part size {part} bytes is outside 1 MiB to 5 GiB"
        ));
    }
    Ok(())
}

/// Validates a new item; the error names the file and the rule.
///
/// # Errors
/// The reason it is refused, in plain words.
pub fn validate(item: &NewItem) -> Result<Validated, String> {
    let path = std::path::absolute(&item.path).unwrap_or_else(|_| item.path.clone());
    if let Destination::WeCom(kind) = item.destination {
        return validate_wecom(path, kind);
    }
    if !is_media(&path) {
        return Err(format!(
            "its type is not supported; VOD accepts video ({}) and audio ({})",
            VIDEO_TYPES.join(" "),
            AUDIO_TYPES.join(" ")
        ));
    }
    let metadata = readable_file(&path, "the file")?;
    check_options(&item.options)?;
    let mut options = item.options.clone();
    match &options.cover {
        Some(cover) => {
            let cover = std::path::absolute(cover).unwrap_or_else(|_| cover.clone());
            if !is_cover(&cover) {
                return Err(format!(
                    "the cover {} is not a supported image type ({})",
                    cover.display(),
                    COVER_TYPES.join(" ")
                ));
            }
            readable_file(&cover, &format!("the cover {}", cover.display()))?;
            options.cover = Some(cover);
        }
        None => {
            options.cover = paired_cover(&path);
            if let Some(cover) = &options.cover {
                readable_file(
                    cover,
                    &format!("the cover {} (paired with it by name)", cover.display()),
                )?;
            }
        }
    }
    Ok(Validated {
        size: metadata.len(),
        mtime_ns: mtime_ns(&metadata),
        path,
        options,
    })
}

/// A file for WeChat Work: readable, and within the limits of its media type. VOD's options
/// (task flow, category, cover, …) do not apply and are not kept.
fn validate_wecom(path: PathBuf, kind: WeComMediaType) -> Result<Validated, String> {
    let metadata = readable_file(&path, "the file")?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match crate::wecom::check_limits(kind, &name, metadata.len()) {
        Err(crate::wecom::WeComError::Limit { rule, .. }) => Err(rule),
        Err(other) => Err(other.to_string()),
        Ok(()) => Ok(Validated {
            size: metadata.len(),
            mtime_ns: mtime_ns(&metadata),
            path,
            options: ItemOptions::default(),
        }),
    }
}

/// The media files under `paths`: files as given, folders recursively (supported types only,
/// sorted). A file named twice (or reached twice, through a link or `..`) is listed once, and
/// a folder reached again through a link is not walked again. Returns the files and a note for
/// every entry skipped.
#[must_use]
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut walk = Walk::default();
    for path in paths {
        if path.is_dir() {
            let before = (walk.files.len(), walk.skipped.len());
            if walk.dir(path) && (walk.files.len(), walk.skipped.len()) == before {
                walk.skipped
                    .push((path.clone(), "the folder holds no media files".to_owned()));
            }
        } else {
            walk.file(path);
        }
    }
    (walk.files, walk.skipped)
}

/// What [`expand_paths`] has found so far.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    skipped: Vec<(PathBuf, String)>,
    /// Files and folders already seen, by their canonical path.
    seen_files: HashMap<PathBuf, PathBuf>,
    seen_dirs: HashSet<PathBuf>,
}

impl Walk {
    fn file(&mut self, path: &Path) {
        // A file that does not exist yet is kept as given: validation says what is wrong.
        let Ok(canonical) = std::fs::canonicalize(path) else {
            self.files.push(path.to_path_buf());
            return;
        };
        match self.seen_files.get(&canonical) {
            Some(first) if first.as_path() == path => {}
            Some(first) => self.skipped.push((
                path.to_path_buf(),
                format!("the same file as {}", first.display()),
            )),
            None => {
                self.seen_files.insert(canonical, path.to_path_buf());
                self.files.push(path.to_path_buf());
            }
        }
    }

    /// Walks `dir`; `false` when it had been walked already.
    fn dir(&mut self, dir: &Path) -> bool {
        if let Ok(canonical) = std::fs::canonicalize(dir)
            && !self.seen_dirs.insert(canonical)
        {
            // A link back into a folder already walked (or the same folder named twice).
            return false;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(err) => {
                self.skipped.push((
                    dir.to_path_buf(),
                    format!("the folder cannot be read ({err})"),
                ));
                return true;
            }
        };
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                self.dir(&entry);
            } else if is_media(&entry) {
                self.file(&entry);
            } else if !is_cover(&entry) {
                self.skipped
                    .push((entry, "not a supported media type".to_owned()));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &Path) -> NewItem {
        NewItem {
            path: path.to_path_buf(),
            destination: Destination::Vod,
            options: ItemOptions::default(),
        }
    }

    #[test]
    fn corpus() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("讲座 talk.mp4");
        std::fs::write(&good, b"data").unwrap();
        std::fs::write(dir.path().join("讲座 talk.png"), b"img").unwrap();
        let ok = validate(&item(&good)).unwrap();
        assert_eq!(ok.size, 4);
        assert_eq!(ok.options.cover, Some(dir.path().join("讲座 talk.png")));

        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").unwrap();
        assert!(validate(&item(&empty)).unwrap_err().contains("empty"));
        // A paired cover that cannot be sent stops its video, by name (an unreadable one is
        // refused the same way; tests run as root, who can read anything).
        let bare = dir.path().join("bare cover.mp4");
        std::fs::write(&bare, b"data").unwrap();
        std::fs::write(dir.path().join("bare cover.jpg"), b"").unwrap();
        let err = validate(&item(&bare)).unwrap_err();
        assert!(
            err.contains("bare cover.jpg (paired with it by name) is empty"),
            "{err}"
        );
        let folder = dir.path().join("folder.mp4");
        std::fs::create_dir(&folder).unwrap();
        assert!(validate(&item(&folder)).unwrap_err().contains("folder"));
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, b"x").unwrap();
        assert!(
            validate(&item(&text))
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            validate(&item(&dir.path().join("missing.mp4")))
                .unwrap_err()
                .contains("exists")
        );

        let mut with = item(&good);
        with.options.cover = Some(dir.path().join("nope.jpg"));
        assert!(validate(&with).unwrap_err().contains("cover"));
        let mut with = item(&good);
        with.options.source_context = Some("x".repeat(251));
        assert!(validate(&with).unwrap_err().contains("250"));
        with.options.source_context = Some("字".repeat(250));
        assert!(validate(&with).is_ok());
        let mut with = item(&good);
        with.options.expire_time = Some("tomorrow".into());
        assert!(validate(&with).unwrap_err().contains("ISO 8601"));
        with.options.expire_time = Some("2020-01-01T00:00:00Z".into());
        assert!(validate(&with).unwrap_err().contains("already past"));
        with.options.expire_time = Some("2030-01-01T00:00:00+08:00".into());
        assert!(validate(&with).is_ok());
        let mut with = item(&good);
        with.options.media_name = Some("a/b".into());
        assert!(validate(&with).unwrap_err().contains("media name"));
    }

    #[test]
    fn expands_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.MOV"), b"x").unwrap();
        std::fs::write(dir.path().join("a.mp3"), b"x").unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"x").unwrap();
        std::fs::write(dir.path().join("c.doc"), b"x").unwrap();
        let (files, skipped) = expand_paths(&[dir.path().to_path_buf()]);
        assert_eq!(
            files,
            vec![dir.path().join("a.mp3"), dir.path().join("sub/b.MOV")]
        );
        assert_eq!(skipped.len(), 1);
    }
}
