//! Streaming request bodies to disk and serving files back with Range support.
//!
//! Bodies are never held whole in memory: each chunk is hashed (MD5 for the ETag, with the
//! `md-5` crate, and CRC-64) and written as it arrives, so a 4 GiB object costs a few chunks
//! of memory.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{ConnCut, Emu};
use md5::{Digest, Md5};

use crate::tencent::crc64::Crc64;

/// A received body in a temporary file, deleted on drop unless kept.
#[derive(Debug)]
pub(crate) struct Received {
    pub path: PathBuf,
    pub size: u64,
    pub md5: String,
    pub crc: u64,
    kept: bool,
}

impl Received {
    /// Moves the file to `dest` and stops it from being deleted on drop.
    pub(crate) async fn keep_as(mut self, dest: &Path) -> std::io::Result<()> {
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&self.path, dest).await?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        if !self.kept {
            // Best effort: a leftover temporary file costs disk, not correctness.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Why a body could not be received.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReceiveError {
    /// The client's stream broke off.
    #[error("the request body broke off: {0}")]
    Body(String),
    /// Disk trouble.
    #[error("the emulator cannot write its data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// How much of a request body is gathered before it is written to disk.
const WRITE_BATCH: usize = 512 * 1024;

/// The alignment of direct writes: buffer address, length and file offset (the largest
/// logical block size of common devices).
const ALIGN: usize = 4096;

/// A buffer bodies are gathered in for direct writes: two per body at most (one filling, one
/// being written), the second reused from the write before.
type Buffer = Vec<u8>;

fn new_buffer() -> Buffer {
    Vec::with_capacity(WRITE_BATCH + ALIGN)
}

/// Where receiving should stop and drop the connection (the cut fault).
#[derive(Debug, Clone)]
pub(crate) struct CutPlan {
    pub after_bytes: u64,
    pub cut: ConnCut,
}

/// Streams `body` into a new temporary file, throttled by the bandwidth fault, counting bytes
/// for `upload_id`. When `cut` is set the connection is dropped after that many bytes and this
/// future never completes (the connection task drops it).
pub(crate) async fn receive(
    emu: &Emu,
    body: Body,
    upload_id: Option<&str>,
    cut: Option<CutPlan>,
) -> Result<Received, ReceiveError> {
    let path = emu.dirs.tmp.join(uuid::Uuid::new_v4().simple().to_string());
    let mut file = BodyFile::create(&path).await?;
    // The MD5 (the ETag, as COS computes it) from the same chunks.
    let mut md5 = Md5::new();
    let mut received = Received {
        path,
        size: 0,
        md5: String::new(),
        crc: 0,
        kept: false,
    };
    let mut crc = Crc64::new();
    let mut stream = body.into_data_stream();
    let started = Instant::now();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| ReceiveError::Body(err.to_string()))?;
        if let Some(plan) = &cut {
            let room = plan.after_bytes.saturating_sub(received.size);
            if (chunk.len() as u64) >= room {
                let take = usize::try_from(room).unwrap_or(chunk.len());
                emu.count_bytes(upload_id, take as u64);
                plan.cut.0.cancel();
                // The connection task drops this future now; never answer.
                std::future::pending::<()>().await;
            }
        }
        crc.update(&chunk);
        md5.update(&chunk);
        let len = chunk.len();
        file.push(&chunk).await?;
        received.size += len as u64;
        emu.count_bytes(upload_id, len as u64);
        if let Some(rate) = emu.faults().bandwidth.filter(|rate| *rate > 0) {
            // Hold the reader back until the average rate is within the limit; TCP flow
            // control then slows the sender.
            #[allow(clippy::cast_precision_loss)]
            let due = std::time::Duration::from_secs_f64(received.size as f64 / rate as f64);
            let elapsed = started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    }
    // No fsync: the emulator must survive a process restart (the page cache does), not a
    // power cut, and an fsync per part would dominate the cost of a loopback upload.
    file.finish().await?;
    received.md5 = hex::encode(md5.finalize());
    received.crc = crc.sum();
    Ok(received)
}

/// A received body on its way to disk.
///
/// Where the file system takes it (Linux: ext4, xfs, btrfs), the file is opened with
/// `O_DIRECT` and the body goes from a gathering buffer straight to the device: buffered,
/// every byte was copied once more into the page cache, into pages the kernel first had to
/// allocate, which cost the emulator more CPU than receiving the bytes (and, on a VM that
/// hands freed memory back to its host, several times more). The objects are read back
/// rarely (downloads, the publishing page), from the disk or its cache. The last bytes of a
/// body that do not fill a block are written buffered. On tmpfs, where the page cache is the
/// storage, and where direct I/O is refused, the received chunks are written as they are.
///
/// What it pays for (`EMU_STORE=disk scripts/bench_upload.sh 512M 5`, 2-core VM, 2026-12-07):
/// 512 MiB uploaded in 0.94 s with direct writes against 1.03 s with every body written
/// through the page cache (emulator CPU 1.47 s against 1.53 s).
struct BodyFile {
    /// `None` while a write holds it, or after a write failed.
    file: Option<std::fs::File>,
    mode: Mode,
    /// Where the next write goes in the file.
    offset: u64,
    /// The write in progress (at most one): it gives the file back, and the buffer it wrote
    /// from, if any.
    writing: Option<tokio::task::JoinHandle<std::io::Result<Written>>>,
}

/// What a write gives back: the file, and the buffer of a direct write.
type Written = (std::fs::File, Option<Buffer>);

enum Mode {
    /// `filling`: `pad` zero bytes that align what follows, then body bytes.
    Direct {
        filling: Buffer,
        pad: usize,
    },
    Buffered {
        batch: Vec<Bytes>,
        batched: usize,
    },
}

impl BodyFile {
    async fn create(path: &Path) -> std::io::Result<Self> {
        let path = path.to_path_buf();
        let (file, direct) = tokio::task::spawn_blocking(move || open_for_body(&path))
            .await
            .map_err(std::io::Error::other)??;
        let mode = if direct {
            let mut filling = new_buffer();
            let pad = align(&mut filling);
            Mode::Direct { filling, pad }
        } else {
            Mode::Buffered {
                batch: Vec::new(),
                batched: 0,
            }
        };
        Ok(Self {
            file: Some(file),
            mode,
            offset: 0,
            writing: None,
        })
    }

    /// Adds `chunk`, writing each full batch while the next one fills.
    async fn push(&mut self, chunk: &Bytes) -> std::io::Result<()> {
        match &mut self.mode {
            Mode::Buffered { batch, batched } => {
                batch.push(chunk.clone());
                *batched += chunk.len();
                if *batched >= WRITE_BATCH {
                    let chunks = std::mem::take(batch);
                    let len = std::mem::take(batched) as u64;
                    self.write_chunks(chunks, len).await?;
                }
            }
            Mode::Direct { .. } => {
                let mut bytes = &chunk[..];
                while !bytes.is_empty() {
                    let Mode::Direct { filling, pad } = &mut self.mode else {
                        break;
                    };
                    let room = *pad + WRITE_BATCH - filling.len();
                    let (now, rest) = bytes.split_at(room.min(bytes.len()));
                    filling.extend_from_slice(now);
                    bytes = rest;
                    if filling.len() == *pad + WRITE_BATCH {
                        self.write_full().await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts writing the full buffer and goes on filling another: the one the write before
    /// gives back, or a new one.
    async fn write_full(&mut self) -> std::io::Result<()> {
        let next = self.end_write().await?.unwrap_or_else(new_buffer);
        let written = Mode::Buffered {
            batch: Vec::new(),
            batched: 0,
        };
        let Mode::Direct { filling, pad } = std::mem::replace(&mut self.mode, written) else {
            return Ok(());
        };
        self.write_direct(filling, pad)?;
        let mut next = next;
        let pad = align(&mut next);
        self.mode = Mode::Direct { filling: next, pad };
        Ok(())
    }

    /// Waits for the write in progress, if any: the file is back, and so is the buffer it
    /// wrote from (a direct write's).
    async fn end_write(&mut self) -> std::io::Result<Option<Buffer>> {
        let Some(writing) = self.writing.take() else {
            return Ok(None);
        };
        let (file, buffer) = writing.await.map_err(std::io::Error::other)??;
        self.file = Some(file);
        Ok(buffer)
    }

    /// Starts writing a full aligned buffer; the write before it must be done.
    fn write_direct(&mut self, full: Buffer, pad: usize) -> std::io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write failed"))?;
        let offset = self.offset;
        self.offset += (full.len() - pad) as u64;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            write_block(&file, &full[pad..], offset)?;
            Ok((file, Some(full)))
        }));
        Ok(())
    }

    /// Starts writing `chunks` (`len` bytes in all), once the write before it is done.
    async fn write_chunks(&mut self, chunks: Vec<Bytes>, len: u64) -> std::io::Result<()> {
        let file = self.file().await?;
        let offset = self.offset;
        self.offset += len;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let mut at = offset;
            for chunk in &chunks {
                std::os::unix::fs::FileExt::write_all_at(&file, chunk, at)?;
                at += chunk.len() as u64;
            }
            Ok((file, None))
        }));
        Ok(())
    }

    /// Writes what is left and waits for every write.
    async fn finish(mut self) -> std::io::Result<()> {
        let file = self.file().await?;
        let offset = self.offset;
        match self.mode {
            Mode::Buffered { batch, batched } => {
                self.file = Some(file);
                self.mode = Mode::Buffered {
                    batch: Vec::new(),
                    batched: 0,
                };
                self.write_chunks(batch, batched as u64).await?;
                self.file().await.map(drop)
            }
            Mode::Direct { filling, pad } => tokio::task::spawn_blocking(move || {
                let bytes = &filling[pad..];
                let blocks = bytes.len() / ALIGN * ALIGN;
                write_block(&file, &bytes[..blocks], offset)?;
                if blocks < bytes.len() {
                    // The tail is not a whole block: written through the page cache.
                    end_direct(&file)?;
                    std::os::unix::fs::FileExt::write_all_at(
                        &file,
                        &bytes[blocks..],
                        offset + blocks as u64,
                    )?;
                }
                Ok(())
            })
            .await
            .map_err(std::io::Error::other)?,
        }
    }

    /// The file, once the write in progress has given it back.
    async fn file(&mut self) -> std::io::Result<std::fs::File> {
        self.end_write().await?;
        self.file
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write failed"))
    }
}

/// Empties `buf` and pads it with zeros up to the first aligned address; says how many.
fn align(buf: &mut Buffer) -> usize {
    buf.clear();
    let pad = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
    buf.resize(pad, 0);
    pad
}

/// A new file for a body, opened for direct writes when the file system allows them.
fn open_for_body(path: &Path) -> std::io::Result<(std::fs::File, bool)> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
        match rustix::fs::open(path, flags | OFlags::DIRECT, Mode::from_raw_mode(0o644)) {
            Ok(fd) => {
                let file = std::fs::File::from(fd);
                // tmpfs takes the flag (since Linux 6.6) but keeps the bytes in the page cache
                // all the same: a direct write there only adds the gathering copy.
                const TMPFS_MAGIC: u64 = 0x0102_1994;
                let on_tmpfs =
                    rustix::fs::fstatfs(&file).is_ok_and(|fs| fs.f_type as u64 == TMPFS_MAGIC);
                if on_tmpfs {
                    end_direct(&file)?;
                }
                return Ok((file, !on_tmpfs));
            }
            // A file system without direct I/O refuses the flag.
            Err(rustix::io::Errno::INVAL) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok((std::fs::File::create(path)?, false))
}

/// Turns direct writes on `file` off: what follows goes through the page cache.
#[cfg(target_os = "linux")]
fn end_direct(file: &std::fs::File) -> std::io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(file)?;
    Ok(rustix::fs::fcntl_setfl(
        file,
        flags - rustix::fs::OFlags::DIRECT,
    )?)
}

#[cfg(not(target_os = "linux"))]
fn end_direct(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Writes `bytes` at `offset`. A direct write the device refuses (an alignment it does not
/// take) is done again through the page cache, and so is every later one (the flag is off).
fn write_block(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    match file.write_all_at(bytes, offset) {
        #[cfg(target_os = "linux")]
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
            end_direct(file)?;
            file.write_all_at(bytes, offset)
        }
        other => other,
    }
}

/// A parsed `Range: bytes=…` header against an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// No (usable) Range header: the whole object.
    Whole,
    /// Inclusive byte range.
    Part(u64, u64),
    /// Not satisfiable: 416.
    Unsatisfiable,
}

/// Parses a single-range `Range` header; multi-range requests get the whole object, as many
/// servers do.
pub(crate) fn parse_range(headers: &HeaderMap, size: u64) -> RangeSpec {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeSpec::Whole;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // Suffix range: the last N bytes.
        let Ok(n) = end.parse::<u64>() else {
            return RangeSpec::Whole;
        };
        if n == 0 || size == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Part(size.saturating_sub(n), size - 1);
    }
    let Ok(start) = start.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    let end = if end.is_empty() {
        size - 1
    } else {
        match end.parse::<u64>() {
            Ok(end) if end >= start => end.min(size - 1),
            _ => return RangeSpec::Whole,
        }
    };
    RangeSpec::Part(start, end)
}

/// Serves `path` (of `size` bytes) honouring Range; `extra` headers go on every answer.
pub(crate) async fn serve_file(
    path: &Path,
    size: u64,
    request: &HeaderMap,
    content_type: &str,
    extra: &[(header::HeaderName, String)],
    head_only: bool,
) -> Response {
    let range = parse_range(request, size);
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            builder = builder.header(name.clone(), value);
        }
    }
    let (status, start, len) = match range {
        RangeSpec::Whole => (StatusCode::OK, 0, size),
        RangeSpec::Part(start, end) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeSpec::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .header(header::CONTENT_LENGTH, "0")
                .body(Body::empty())
                .unwrap_or_default();
        }
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, len.to_string());
    if head_only {
        return builder.body(Body::empty()).unwrap_or_default();
    }
    let Ok(segments) = segments(path) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file");
    };
    let pieces = pieces(&segments, start, len);
    let stream = futures_util::stream::iter(pieces)
        .then(|(path, offset, len)| async move {
            let mut file = tokio::fs::File::open(&path).await?;
            if offset > 0 {
                file.seek(SeekFrom::Start(offset)).await?;
            }
            Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                file.take(len),
                64 * 1024,
            ))
        })
        .map(|opened| match opened {
            Ok(stream) => stream.left_stream(),
            Err(err) => futures_util::stream::once(std::future::ready(Err(err))).right_stream(),
        })
        .flatten();
    builder.body(Body::from_stream(stream)).unwrap_or_default()
}

/// The files an object's bytes are in, in order, with their sizes.
///
/// A stored object is a file, or (after a multipart upload) a directory of its parts named in
/// order: completing an upload then links the parts instead of copying gigabytes.
pub(crate) fn segments(path: &Path) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(vec![(path.to_path_buf(), meta.len())]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        out.push((entry.path(), entry.metadata()?.len()));
    }
    out.sort();
    Ok(out)
}

/// The pieces of `segments` that hold bytes `start..start + len`: (file, offset, length).
fn pieces(segments: &[(PathBuf, u64)], start: u64, len: u64) -> Vec<(PathBuf, u64, u64)> {
    let end = start.saturating_add(len);
    let mut at = 0u64;
    let mut out = Vec::new();
    for (path, size) in segments {
        let (from, to) = (at.max(start), (at + size).min(end));
        if from < to {
            out.push((path.clone(), from - at, to - from));
        }
        at += size;
    }
    out
}

/// All the bytes of a stored object (a file or a directory of segments).
pub(crate) fn read_object(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (segment, _) in segments(path)? {
        out.extend(std::fs::read(segment)?);
    }
    Ok(out)
}

/// Removes a stored object, whichever form it has.
pub(crate) async fn remove_object(path: &Path) {
    // Best effort: a leftover costs disk, not correctness.
    if tokio::fs::remove_file(path).await.is_err() {
        let _ = tokio::fs::remove_dir_all(path).await;
    }
}

/// A short plain-text answer.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text.to_owned()))
        .unwrap_or_default()
}

/// Makes `dest` the object made of `parts` in order: a directory of hard links to them, built
/// aside and renamed into place, so a crash never leaves half an object under its key and the
/// parts stay intact until the upload's records are gone.
pub(crate) async fn link_parts(
    tmp_dir: &Path,
    parts: &[PathBuf],
    dest: &Path,
) -> std::io::Result<()> {
    let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
    let parts = parts.to_vec();
    let dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let result = (|| {
            std::fs::create_dir(&tmp)?;
            for (index, part) in parts.iter().enumerate() {
                std::fs::hard_link(part, tmp.join(format!("{index:05}")))?;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&tmp, &dest)
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_exactly_the_range_across_segments() {
        let segments: Vec<(PathBuf, u64)> = [("a", 10), ("b", 5), ("c", 0), ("d", 7)]
            .iter()
            .map(|(name, size)| (PathBuf::from(name), *size))
            .collect();
        let p = |start, len| -> Vec<(String, u64, u64)> {
            pieces(&segments, start, len)
                .into_iter()
                .map(|(path, offset, len)| (path.display().to_string(), offset, len))
                .collect()
        };
        assert_eq!(
            p(0, 22),
            vec![("a".into(), 0, 10), ("b".into(), 0, 5), ("d".into(), 0, 7)]
        );
        assert_eq!(p(9, 2), vec![("a".into(), 9, 1), ("b".into(), 0, 1)]);
        assert_eq!(p(12, 3), vec![("b".into(), 2, 3)]);
        assert_eq!(p(15, 7), vec![("d".into(), 0, 7)]);
        assert_eq!(p(21, 1), vec![("d".into(), 6, 1)]);
        assert!(p(22, 0).is_empty());
    }

    /// Writes a body of odd-sized chunks (not a whole number of blocks) into `dir`.
    async fn body_round_trip(dir: &Path) {
        let path = dir.join("body");
        let mut body = BodyFile::create(&path).await.unwrap();
        let mut expected = Vec::new();
        let mut seed = 7u32;
        for i in 0..40usize {
            let len = [1, 4095, 4096, 65_537, 300_000, 600_001][i % 6];
            let chunk: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            expected.extend_from_slice(&chunk);
            body.push(&Bytes::from(chunk)).await.unwrap();
        }
        body.finish().await.unwrap();
        assert!(std::fs::read(&path).unwrap() == expected, "{path:?}");
    }

    #[tokio::test]
    async fn bodies_are_written_whole_direct_or_buffered() {
        // A disk's file system (direct writes) and, where there is one, tmpfs (buffered).
        let disk = tempfile::tempdir().unwrap();
        body_round_trip(disk.path()).await;
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            body_round_trip(shm.path()).await;
        }
    }

    #[tokio::test]
    async fn linked_parts_read_back_as_one_object_and_outlive_the_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, text) in ["hello ", "", "segmented ", "world"].iter().enumerate() {
            let path = dir.path().join(format!("part{i}"));
            std::fs::write(&path, text).unwrap();
            parts.push(path);
        }
        let dest = dir.path().join("objects").join("obj");
        link_parts(dir.path(), &parts, &dest).await.unwrap();
        for part in &parts {
            std::fs::remove_file(part).unwrap();
        }
        assert_eq!(read_object(&dest).unwrap(), b"hello segmented world");
        remove_object(&dest).await;
        assert!(!dest.exists());
    }
}
