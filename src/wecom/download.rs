//! Downloads of temporary media (`media/get`): ranged requests into a hidden temporary file
//! that takes its final name only when whole, and the server-given file name made safe.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{MAX_TOKEN_REFRESHES, WeComClient, WeComError, network, read_json, service_error};

/// The largest chunk `media/get` serves in one request.
const GET_CHUNK: u64 = 20 * 1024 * 1024;

/// The longest file name most file systems take, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Makes a server-given file name safe to write: no directories, no `..`, no control
/// characters, at most 255 bytes (the extension kept); empty results become `fallback`.
#[must_use]
pub fn sanitize_file_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() || cleaned == ".." {
        return fallback.to_owned();
    }
    if cleaned.len() <= MAX_NAME_BYTES {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (cleaned.as_str(), String::new()),
    };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", stem[..cut].trim_end())
}

/// The file name in a `Content-Disposition` header, when there is one.
#[must_use]
pub fn disposition_file_name(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let (key, value) = part.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl WeComClient {
    /// Downloads `media_id` into `output` when it is a directory (under the server's file name,
    /// sanitised, numbered when taken), to `output` when it names a file, or to standard output
    /// when it is `-`. Returns the path written.
    ///
    /// A file is written under a temporary name in its directory and put in place only once
    /// complete: a download that fails leaves nothing behind, and never touches a file that
    /// is already there (a file named by the user is replaced only by the complete media).
    ///
    /// # Errors
    /// File, network and service errors.
    pub async fn download(&self, media_id: &str, output: &Path) -> Result<PathBuf, WeComError> {
        let target = Target::of(output);
        let mut refreshes = 0;
        let mut force = false;
        let mut sink: Option<Sink> = None;
        let mut name: Option<String> = None;
        let mut offset = 0u64;
        loop {
            let token = self.token(force).await?;
            let range = format!("bytes={}-{}", offset, offset + GET_CHUNK - 1);
            let response = self
                .http
                .get(format!("{}/cgi-bin/media/get", self.base))
                .query(&[("access_token", token.as_str()), ("media_id", media_id)])
                .header("Range", range)
                .timeout(Duration::from_secs(300))
                .send()
                .await
                .map_err(network)?;
            let headers = response.headers().clone();
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            // Names are sent as raw UTF-8 (Chinese ones included), which `to_str` refuses.
            let disposition = headers
                .get("content-disposition")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            // Errors come as JSON (sometimes labelled text/plain) without a file name; media
            // always has one, whatever its type (a .txt file is text/plain too).
            if disposition.is_none()
                && (content_type.contains("json") || content_type.starts_with("text/plain"))
            {
                let answer: ErrorAnswer = read_json("media/get", response).await?;
                if matches!(answer.errcode, 40014 | 42001) && refreshes < MAX_TOKEN_REFRESHES {
                    refreshes += 1;
                    force = true;
                    continue;
                }
                return Err(service_error(answer.errcode, &answer.errmsg));
            }
            let total = headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.parse::<u64>().ok());
            let status = response.status();
            let body = response.bytes().await.map_err(network)?;
            if name.is_none() {
                name = Some(sanitize_file_name(
                    &disposition
                        .as_deref()
                        .and_then(disposition_file_name)
                        .unwrap_or_else(|| media_id.to_owned()),
                    media_id,
                ));
            }
            if sink.is_none() {
                sink = Some(Sink::open(&target).await?);
            }
            let Some(out) = sink.as_mut() else {
                return Err(WeComError::Malformed("no output file".into()));
            };
            out.write(&body, &target).await?;
            offset += body.len() as u64;
            // A server without Range support answers 200 with everything at once.
            let done = status != reqwest::StatusCode::PARTIAL_CONTENT
                || body.is_empty()
                || total.is_none_or(|total| offset >= total);
            if done {
                let (Some(out), Some(name)) = (sink.take(), name.take()) else {
                    return Err(WeComError::Malformed("no output file".into()));
                };
                return out.finish(&target, &name).await;
            }
        }
    }
}

/// Where a download goes, decided before anything is fetched.
enum Target {
    /// A folder: under the server's file name, numbered when that is taken.
    Folder(PathBuf),
    /// A file the user named (followed through symbolic links): replaced when complete, as
    /// with `curl -o`. `shown` is the name as given, for the result.
    File { path: PathBuf, shown: PathBuf },
    /// Standard output (`-`) or something that is not a regular file (`/dev/stdout`, a pipe):
    /// written as it comes, since there is nothing to rename.
    Stream(PathBuf),
}

impl Target {
    fn of(output: &Path) -> Self {
        if output == Path::new("-") {
            return Self::Stream(output.to_path_buf());
        }
        match std::fs::metadata(output) {
            Ok(meta) if meta.is_dir() => Self::Folder(output.to_path_buf()),
            Ok(meta) if !meta.is_file() => Self::Stream(output.to_path_buf()),
            // An existing file is replaced where it really is, so a link to it stays a link.
            Ok(_) => Self::File {
                path: std::fs::canonicalize(output).unwrap_or_else(|_| output.to_path_buf()),
                shown: output.to_path_buf(),
            },
            Err(_) => Self::File {
                path: output.to_path_buf(),
                shown: output.to_path_buf(),
            },
        }
    }

    /// The path errors name: what the user asked for, not the temporary file.
    fn shown(&self) -> &Path {
        match self {
            Self::Folder(path) | Self::Stream(path) | Self::File { shown: path, .. } => path,
        }
    }

    fn error(&self, err: &std::io::Error) -> WeComError {
        WeComError::File {
            detail: err.to_string(),
            path: self.shown().display().to_string(),
        }
    }
}

/// Where the bytes go while they arrive.
enum Sink {
    /// Standard output or a device.
    Stream(Box<dyn tokio::io::AsyncWrite + Unpin + Send>),
    /// A temporary file beside the final one.
    Part(PartFile),
}

impl Sink {
    async fn open(target: &Target) -> Result<Self, WeComError> {
        let opened = match target {
            Target::Stream(path) if path == Path::new("-") => {
                return Ok(Self::Stream(Box::new(tokio::io::stdout())));
            }
            Target::Stream(path) => tokio::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .await
                .map(|file| Self::Stream(Box::new(file))),
            Target::Folder(dir) => PartFile::create(dir).await.map(Self::Part),
            Target::File { path, .. } => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                PartFile::create(dir).await.map(Self::Part)
            }
        };
        opened.map_err(|err| target.error(&err))
    }

    async fn write(&mut self, bytes: &[u8], target: &Target) -> Result<(), WeComError> {
        let written = match self {
            Self::Stream(out) => out.write_all(bytes).await,
            Self::Part(part) => part.write(bytes).await,
        };
        written.map_err(|err| target.error(&err))
    }

    /// Completes the download: flushed, and a file put in place under its final name.
    async fn finish(self, target: &Target, name: &str) -> Result<PathBuf, WeComError> {
        let mut part = match self {
            Self::Stream(mut out) => {
                out.flush().await.map_err(|err| target.error(&err))?;
                return Ok(target.shown().to_path_buf());
            }
            Self::Part(part) => part,
        };
        part.close().await.map_err(|err| target.error(&err))?;
        let placed = match target {
            Target::Folder(dir) => {
                let (dir, name) = (dir.clone(), name.to_owned());
                tokio::task::spawn_blocking(move || part.keep_beside(&dir, &name)).await
            }
            Target::File { path, shown } => {
                let (path, shown) = (path.clone(), shown.clone());
                tokio::task::spawn_blocking(move || part.replace(&path).map(|()| shown)).await
            }
            Target::Stream(_) => return Err(WeComError::Malformed("no output file".into())),
        };
        placed
            .map_err(std::io::Error::other)
            .and_then(|placed| placed)
            .map_err(|err| target.error(&err))
    }
}

/// A download's temporary file (`.voddesk-….part`, hidden) in the directory of its final
/// name. Dropped before it was put in place, it is removed (tempfile's [`TempPath`]): a
/// failed or cancelled download leaves nothing behind.
///
/// [`TempPath`]: tempfile::TempPath
struct PartFile {
    path: tempfile::TempPath,
    /// `None` once closed.
    file: Option<tokio::fs::File>,
}

/// How a download's temporary file is named: `{PART_PREFIX}` and 16 random characters
/// and `{PART_SUFFIX}`, hidden.
const PART_PREFIX: &str = ".voddesk-";
const PART_SUFFIX: &str = ".part";

/// A download's temporary file untouched for this long was left by a process that was killed
/// (a live download writes as the bytes come, and gives up long before).
const STALE_PART_FILE: Duration = Duration::from_secs(3600);

/// Removes the temporary files (`.voddesk-….part`) of killed downloads from `dir`, best effort:
/// a crash or `kill -9` skips [`PartFile`]'s drop, and the next download into the same folder
/// clears them.
async fn sweep_stale_part_files(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PART_PREFIX) && name.ends_with(PART_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        let idle = meta
            .modified()
            .ok()
            .and_then(|modified| modified.elapsed().ok());
        if meta.is_file() && idle.is_some_and(|idle| idle >= STALE_PART_FILE) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

impl PartFile {
    async fn create(dir: &Path) -> std::io::Result<Self> {
        sweep_stale_part_files(dir).await;
        let dir = dir.to_path_buf();
        let created = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(PART_PREFIX)
                .suffix(PART_SUFFIX)
                .rand_bytes(16)
                // As a plain new file would be: 0o666 less the umask (tempfile's own is 0o600).
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .tempfile_in(dir)
        })
        .await
        .map_err(std::io::Error::other)??;
        let (file, path) = created.into_parts();
        Ok(Self {
            path,
            file: Some(tokio::fs::File::from_std(file)),
        })
    }

    fn closed() -> std::io::Error {
        std::io::Error::other("the download's temporary file is already closed")
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file
            .as_mut()
            .ok_or_else(Self::closed)?
            .write_all(bytes)
            .await
    }

    /// Flushes, syncs and closes the file: on disk before it takes the final name, so a
    /// crash cannot leave that name empty.
    async fn close(&mut self) -> std::io::Result<()> {
        let mut file = self.file.take().ok_or_else(Self::closed)?;
        file.flush().await?;
        file.sync_all().await
    }

    /// Renames the file over `path`, which the user chose (its permissions are kept).
    fn replace(self, path: &Path) -> std::io::Result<()> {
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(&self.path, meta.permissions());
        }
        self.path.persist(path).map_err(|err| err.error)
    }

    /// Gives the file `name` in `dir`, or `stem (2).ext`, `stem (3).ext` … when that name is
    /// taken. tempfile's `persist_noclobber` renames without replacing (`RENAME_NOREPLACE`,
    /// or a hard link where the file system lacks it): no file already there is ever
    /// replaced.
    fn keep_beside(self, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (name, String::new()),
        };
        let mut path = self.path;
        for n in 1..=1000u32 {
            let candidate = if n == 1 {
                dir.join(name)
            } else {
                dir.join(format!("{stem} ({n}){ext}"))
            };
            match path.persist_noclobber(&candidate) {
                Ok(()) => return Ok(candidate),
                Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    path = err.path;
                }
                Err(err) => return Err(err.error),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("a thousand files named like {name} are already there"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_sanitised() {
        assert_eq!(sanitize_file_name("../../etc/passwd", "M"), "passwd");
        assert_eq!(sanitize_file_name("..\\..\\x.jpg", "M"), "x.jpg");
        assert_eq!(sanitize_file_name("..", "M"), "M");
        assert_eq!(sanitize_file_name("", "M"), "M");
        assert_eq!(sanitize_file_name(".hidden", "M"), "hidden");
        assert_eq!(sanitize_file_name("视频 1.mp4", "M"), "视频 1.mp4");
        // Over 255 bytes: cut at a character, the extension kept.
        let long = format!("{}.mp4", "长".repeat(100));
        let short = sanitize_file_name(&long, "M");
        assert!(short.len() <= 255, "{}", short.len());
        assert!(short.ends_with("长.mp4"), "{short}");
        assert_eq!(sanitize_file_name(&"x".repeat(300), "M").len(), 255);
        assert_eq!(
            disposition_file_name("attachment; filename=\"MEDIA_ID.jpg\""),
            Some("MEDIA_ID.jpg".into())
        );
    }
}
