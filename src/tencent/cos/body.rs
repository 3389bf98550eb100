//! The bodies of PUTs and parts, streamed from a file range with their CRC-64 computed as
//! they are read, and the check of what the server stored against what was sent.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::tencent::crc64::Crc64;
use crate::tencent::error::TencentError;
use crate::tencent::throttle::RateLimiter;

/// Chunk size of streamed bodies.
const CHUNK: usize = 512 * 1024;

/// Digests of a body, computed while it was sent.
#[derive(Debug, Clone)]
pub struct SentDigest {
    /// CRC-64/XZ.
    pub crc64: u64,
    /// Bytes.
    pub len: u64,
}

/// What the server said about a stored object or part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// ETag as received, quotes included.
    pub etag: String,
    /// `x-cos-hash-crc64ecma`, when sent.
    pub crc64: Option<u64>,
}

/// A byte range of a local file to send.
#[derive(Debug, Clone)]
pub struct FileSlice {
    /// The file.
    pub path: PathBuf,
    /// Where the range starts.
    pub offset: u64,
    /// How long it is.
    pub len: u64,
    /// Shared bandwidth limit.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Counts the bytes of the current attempt as they are handed to the connection (for the
    /// progress display only): set to 0 when an attempt's body is made.
    pub sent: Option<Arc<AtomicU64>>,
    /// Counts every byte handed to the connection, over all attempts (never reset): the
    /// engine's in-flight budget reads it to notice a link that slowed down.
    pub wire: Option<Arc<AtomicU64>>,
}

pub(super) struct DigestState {
    crc: Crc64,
    /// Why reading the file failed, when it did: the transport only sees a broken body.
    read_error: Option<String>,
}

impl FileSlice {
    /// The streaming body, and the CRC-64 that fills in as it is read: what the server's
    /// `x-cos-hash-crc64ecma` is checked against (as Tencent's SDKs check a part, with no
    /// client MD5).
    pub(super) fn body(&self) -> (reqwest::Body, Arc<Mutex<DigestState>>) {
        let digest = Arc::new(Mutex::new(DigestState {
            crc: Crc64::new(),
            read_error: None,
        }));
        if let Some(sent) = &self.sent {
            sent.store(0, Ordering::Relaxed);
        }
        let state = (self.clone(), Arc::clone(&digest), None, 0u64);
        let stream = futures_util::stream::unfold(
            state,
            |(slice, digest, file, done): (_, _, Option<Arc<std::fs::File>>, u64)| async move {
                if done >= slice.len {
                    return None;
                }
                let want = usize::try_from((slice.len - done).min(CHUNK as u64)).unwrap_or(CHUNK);
                // Positioned reads on the blocking pool, straight into the buffer that is
                // sent (tokio's File would copy through a buffer of its own).
                let path = slice.path.clone();
                let offset = slice.offset + done;
                let read = tokio::task::spawn_blocking(move || {
                    let file = match file {
                        Some(file) => file,
                        None => Arc::new(std::fs::File::open(&path)?),
                    };
                    let buf = read_at(&file, want, offset)?;
                    Ok::<_, std::io::Error>((file, buf))
                })
                .await
                .map_err(std::io::Error::other)
                .and_then(|read| read);
                let (file, buf) = match read {
                    Ok(read) => read,
                    Err(err) => {
                        if let Ok(mut state) = digest.lock() {
                            state.read_error = Some(err.to_string());
                        }
                        let end = slice.len;
                        return Some((Err(err), (slice, digest, None, end)));
                    }
                };
                if let Some(limiter) = &slice.limiter {
                    limiter.acquire(want as u64).await;
                }
                if let Ok(mut state) = digest.lock() {
                    state.crc.update(&buf);
                }
                if let Some(sent) = &slice.sent {
                    sent.fetch_add(want as u64, Ordering::Relaxed);
                }
                if let Some(wire) = &slice.wire {
                    wire.fetch_add(want as u64, Ordering::Relaxed);
                }
                Some((
                    Ok(bytes::Bytes::from(buf)),
                    (slice, digest, Some(file), done + want as u64),
                ))
            },
        );
        (reqwest::Body::wrap_stream(stream), digest)
    }
}

/// The `len` bytes of `file` from `offset`: exactly that many, read into a new buffer's
/// spare capacity (nothing is zeroed first), or an error if the file ends before them.
fn read_at(file: &std::fs::File, len: usize, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let at = offset + buf.len() as u64;
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file ended early (it changed?)",
                ));
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(buf)
}

/// The file error that broke a body off, when that is why sending failed (not the network).
pub(super) fn read_failure(
    digest: &Arc<Mutex<DigestState>>,
    slice: &FileSlice,
) -> Option<TencentError> {
    let detail = digest.lock().ok()?.read_error.clone()?;
    Some(TencentError::File {
        detail,
        path: slice.path.display().to_string(),
    })
}

pub(super) fn finish_digest(digest: &Arc<Mutex<DigestState>>) -> Option<SentDigest> {
    let state = digest.lock().ok()?;
    Some(SentDigest {
        crc64: state.crc.sum(),
        len: state.crc.len(),
    })
}

/// Checks what the server stored against what was sent.
///
/// # Errors
/// [`TencentError::Integrity`] on a length or CRC-64 mismatch. A server that sends no
/// CRC-64 leaves only the length checked here; the whole object's CRC-64 is checked again at
/// Complete, or by a HEAD before a single PUT is committed.
pub fn verify_stored(
    sent: &SentDigest,
    expected_len: u64,
    stored: &Stored,
) -> Result<(), TencentError> {
    if sent.len != expected_len {
        return Err(TencentError::Integrity(format!(
            "sent {} bytes where {expected_len} were expected (the file changed while uploading?)",
            sent.len
        )));
    }
    if let Some(crc) = stored.crc64
        && crc != sent.crc64
    {
        return Err(TencentError::Integrity(format!(
            "the server's CRC-64 {crc} is not the CRC-64 {} of the bytes sent",
            sent.crc64
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(bytes: &[u8]) -> SentDigest {
        SentDigest {
            crc64: crate::tencent::crc64::checksum(bytes),
            len: bytes.len() as u64,
        }
    }

    fn stored(crc64: Option<u64>) -> Stored {
        Stored {
            // COS's ETag is the part's MD5; nothing here depends on it.
            etag: "\"d41d8cd98f00b204e9800998ecf8427e\"".into(),
            crc64,
        }
    }

    #[test]
    fn a_part_is_checked_by_its_length_and_the_crc_64_answered() {
        let body = sent(b"the bytes of a part");
        let crc = body.crc64;
        assert!(verify_stored(&body, body.len, &stored(Some(crc))).is_ok());
        let other = verify_stored(&body, body.len, &stored(Some(crc ^ 1)));
        assert!(
            matches!(&other, Err(TencentError::Integrity(why)) if why.contains("CRC-64")),
            "{other:?}"
        );
        let short = verify_stored(&body, body.len + 1, &stored(Some(crc)));
        assert!(
            matches!(&short, Err(TencentError::Integrity(why)) if why.contains("bytes")),
            "{short:?}"
        );
        // No CRC-64 answered: the length alone is checked here, the object's CRC-64 later.
        assert!(verify_stored(&body, body.len, &stored(None)).is_ok());
    }

    #[test]
    fn a_slice_is_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(read_at(&file, 4096, 100).unwrap(), bytes[100..4196]);
        assert_eq!(read_at(&file, 0, 0).unwrap(), Vec::<u8>::new());
        let past = read_at(&file, 200, 9_900).unwrap_err();
        assert_eq!(past.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
