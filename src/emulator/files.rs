//! Streaming request bodies to disk and serving files back with Range support.
//!
//! Bodies are never held whole in memory: each chunk is hashed (MD5 for the ETag, with the
//! `md-5` crate, and CRC-64) and written as it arrives, so a 4 GiB object costs a few chunks
//! of memory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;

use super::{ConnCut, Emu};
use md5::{Digest, Md5};

use crate::tencent::crc64::Crc64;

mod objects;
mod serve;

// Reading objects back and their layout on disk live in the child modules; `super::*` there
// sees what is here.
pub(crate) use objects::{link_parts, read_object, remove_object, segments};
pub(crate) use serve::{plain, serve_file};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
