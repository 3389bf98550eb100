//! MD5 of file ranges, computed side by side on one thread.
//!
//! Every part of a multipart upload needs its MD5: the client checks the ETag against it, the
//! emulator answers with it. Hashed one by one on the async workers, MD5 (about 640 MB/s) was
//! the largest cost of an upload on a 2-core machine. Here every range asked for joins the
//! lanes of [`md5x`](super::md5x): the parts in flight are hashed together, several times
//! faster, on a thread of their own, reading the file (from the page cache, as it was just
//! read or written) in chunks, so memory stays at a few MiB whatever the part size.
//!
//! The lanes fill only when ranges come together: the engine starts its parts' hashes in
//! batches ahead of the uploads ([`PendingMd5`]), and the emulator hashes each request body
//! while it is being written ([`md5_of_growing_file`]), so the bodies arriving together share
//! the lanes. A request whose caller has gone away (a cancelled or paused upload, a cut
//! connection) is dropped at the next chunk.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::oneshot;

use super::md5x::{self, Chain, Kernel};

/// At most this many ranges are hashed side by side; more wait for a free lane.
const MAX_LANES: usize = 16;
/// Bytes read per lane at a time (a multiple of 64).
const CHUNK: usize = 256 * 1024;

struct Request {
    path: PathBuf,
    offset: u64,
    len: u64,
    /// The file is still being written: a read that finds no new bytes waits instead of
    /// failing.
    growing: bool,
    reply: oneshot::Sender<io::Result<[u8; 16]>>,
}

/// The hashing thread of this process, started on first use.
static HASHER: LazyLock<Option<mpsc::Sender<Request>>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("md5-lanes".into())
        .spawn(move || serve(&receiver, Kernel::best()))
        .map_err(|err| tracing::warn!(%err, "no hashing thread; hashing on the blocking pool"))
        .ok()?;
    Some(sender)
});

/// The MD5 of `len` bytes of `path` from `offset`.
///
/// The range joins the lanes at once (not when the future is first polled), so a caller can
/// start sending the same bytes and collect the digest afterwards; dropping the future
/// abandons the work.
///
/// # Errors
/// When the file cannot be opened or read, or is shorter than `offset + len`
/// ([`io::ErrorKind::UnexpectedEof`]).
pub fn md5_of_range(
    path: &Path,
    offset: u64,
    len: u64,
) -> impl Future<Output = io::Result<[u8; 16]>> + Send + use<> {
    submit(path, offset, len, false)
}

/// The MD5 of the first `len` bytes of a file that is being written (a request body on its
/// way to disk): the range joins the lanes at once and follows the writer, so the bodies
/// arriving together are hashed together. The writer must write all `len` bytes, or drop
/// the future.
pub fn md5_of_growing_file(
    path: &Path,
    len: u64,
) -> impl Future<Output = io::Result<[u8; 16]>> + Send + use<> {
    submit(path, 0, len, true)
}

fn submit(
    path: &Path,
    offset: u64,
    len: u64,
    growing: bool,
) -> impl Future<Output = io::Result<[u8; 16]>> + Send + use<> {
    let (reply, answer) = oneshot::channel();
    let request = Request {
        path: path.to_path_buf(),
        offset,
        len,
        growing,
        reply,
    };
    let sent = match HASHER.as_ref() {
        Some(sender) => sender
            .send(request)
            .map_err(|mpsc::SendError(request)| request),
        None => Err(request),
    };
    if let Err(request) = sent {
        // No hashing thread: this range alone on the blocking pool.
        tokio::task::spawn_blocking(move || {
            let (sender, receiver) = mpsc::channel();
            let _ = sender.send(request);
            drop(sender);
            serve(&receiver, Kernel::best());
        });
    }
    async move {
        answer
            .await
            .map_err(|_| io::Error::other("the hashing thread stopped"))?
    }
}

/// A digest on its way, shared by every attempt to send the range.
///
/// Starting many at once (the engine starts the next parts of a file in batches) fills the
/// lanes; dropping every clone abandons the work.
#[derive(Clone)]
pub struct PendingMd5(Shared<BoxFuture<'static, Result<[u8; 16], Arc<io::Error>>>>);

impl PendingMd5 {
    /// Starts hashing `len` bytes of `path` from `offset`.
    #[must_use]
    pub fn start(path: &Path, offset: u64, len: u64) -> Self {
        let hashing = md5_of_range(path, offset, len);
        Self(
            async move { hashing.await.map_err(Arc::new) }
                .boxed()
                .shared(),
        )
    }

    /// The digest.
    ///
    /// # Errors
    /// As [`md5_of_range`].
    pub async fn digest(&self) -> io::Result<[u8; 16]> {
        self.0
            .clone()
            .await
            .map_err(|err| io::Error::new(err.kind(), err.to_string()))
    }
}

impl std::fmt::Debug for PendingMd5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingMd5")
            .field("ready", &self.0.peek().is_some())
            .finish()
    }
}

/// One range being hashed.
struct Lane {
    file: File,
    /// Next file offset to read.
    next: u64,
    /// File bytes still to read.
    left: u64,
    /// The whole range's length (for the padding).
    len: u64,
    /// See [`Request::growing`].
    growing: bool,
    /// Read but not yet hashed: `buf[start..]`. Everything before `start` went through in
    /// whole blocks, so `buf` always begins on a block boundary of the message.
    buf: Vec<u8>,
    start: usize,
    /// The padding has been appended: once `buf` is used up, the digest is ready.
    padded: bool,
    chain: Chain,
    reply: oneshot::Sender<io::Result<[u8; 16]>>,
}

impl Lane {
    fn open(request: Request) -> Option<Self> {
        match File::open(&request.path) {
            Ok(file) => Some(Self {
                file,
                next: request.offset,
                left: request.len,
                len: request.len,
                growing: request.growing,
                buf: Vec::with_capacity(CHUNK + 128),
                start: 0,
                padded: false,
                chain: md5x::IV,
                reply: request.reply,
            }),
            Err(err) => {
                let _ = request.reply.send(Err(err));
                None
            }
        }
    }

    fn blocks(&self) -> usize {
        (self.buf.len() - self.start) / 64
    }

    /// Whether the lane is done: padded and hashed.
    fn finished(&self) -> bool {
        self.padded && self.blocks() == 0
    }

    /// Reads on (and pads after the last byte). A growing file may have nothing new yet.
    fn refill(&mut self) -> io::Result<()> {
        // Keep the bytes short of a block; read after them.
        self.buf.drain(..self.start);
        self.start = 0;
        let have = self.buf.len();
        let room = (CHUNK - have) as u64;
        let want = usize::try_from(self.left.min(room)).unwrap_or(0);
        self.buf.resize(have + want, 0);
        let mut filled = 0;
        while filled < want {
            match self.file.read_at(&mut self.buf[have + filled..], self.next) {
                Ok(0) if self.growing => break,
                Ok(0) => {
                    self.buf.truncate(have + filled);
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than the range to hash (it changed?)",
                    ));
                }
                Ok(read) => {
                    filled += read;
                    self.next += read as u64;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.buf.truncate(have + filled);
                    return Err(err);
                }
            }
        }
        self.buf.truncate(have + filled);
        self.left -= filled as u64;
        if self.left == 0 && !self.padded {
            let whole = self.buf.len() - self.buf.len() % 64;
            let mut tail = self.buf.split_off(whole);
            md5x::pad(self.len, &mut tail);
            self.buf.extend_from_slice(&tail);
            self.padded = true;
        }
        Ok(())
    }

    fn answer(&mut self, result: io::Result<[u8; 16]>) {
        let reply = std::mem::replace(&mut self.reply, oneshot::channel().0);
        let _ = reply.send(result);
    }
}

/// How long ready lanes wait for lanes whose files are still being written, so that bodies
/// arriving together are hashed together rather than one by one as their bytes land.
const GATHER: Duration = Duration::from_millis(5);
/// How often a lane waiting on a growing file looks again.
const POLL: Duration = Duration::from_millis(1);

/// Hashes requests until every sender is gone.
fn serve(requests: &mpsc::Receiver<Request>, kernel: Kernel) {
    let mut lanes: Vec<Lane> = Vec::with_capacity(MAX_LANES);
    // Since when ready lanes have been waiting for starved ones.
    let mut waiting: Option<Instant> = None;
    loop {
        if lanes.is_empty() {
            match requests.recv() {
                Ok(request) => lanes.extend(Lane::open(request)),
                Err(mpsc::RecvError) => return,
            }
        }
        while lanes.len() < MAX_LANES {
            match requests.try_recv() {
                Ok(request) => lanes.extend(Lane::open(request)),
                Err(_) => break,
            }
        }
        lanes.retain_mut(|lane| {
            if lane.reply.is_closed() {
                return false;
            }
            if lane.blocks() == 0
                && !lane.padded
                && let Err(err) = lane.refill()
            {
                lane.answer(Err(err));
                return false;
            }
            if lane.finished() {
                let digest = md5x::digest(&lane.chain);
                lane.answer(Ok(digest));
                return false;
            }
            true
        });
        let ready = lanes.iter().filter(|lane| lane.blocks() > 0).count();
        if ready < lanes.len() {
            // Some files are still being written.
            let since = *waiting.get_or_insert_with(Instant::now);
            if ready == 0 || since.elapsed() < GATHER {
                match requests.recv_timeout(POLL) {
                    Ok(request) => lanes.extend(Lane::open(request)),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) if lanes.is_empty() => return,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(POLL);
                    }
                }
                if ready == 0 {
                    waiting = None;
                }
                continue;
            }
        }
        waiting = None;
        let mut active: Vec<&mut Lane> =
            lanes.iter_mut().filter(|lane| lane.blocks() > 0).collect();
        let Some(blocks) = active.iter().map(|lane| lane.blocks()).min() else {
            continue;
        };
        let mut chains: Vec<Chain> = active.iter().map(|lane| lane.chain).collect();
        let inputs: Vec<&[u8]> = active.iter().map(|lane| &lane.buf[lane.start..]).collect();
        md5x::compress_lanes(kernel, &mut chains, &inputs, blocks);
        for (lane, chain) in active.iter_mut().zip(chains) {
            lane.chain = chain;
            lane.start += blocks * 64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from(i % 251).unwrap() ^ seed)
            .collect()
    }

    #[tokio::test]
    async fn ranges_of_every_size_hash_like_md5_together() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(3 * CHUNK + 1000, 7);
        let path = dir.path().join("data");
        std::fs::write(&path, &data).unwrap();
        let ranges: Vec<(u64, u64)> = vec![
            (0, 0),
            (0, 1),
            (5, 55),
            (0, 64),
            (100, 1000),
            (0, CHUNK as u64),
            (3, CHUNK as u64 + 64),
            (0, data.len() as u64),
            (17, data.len() as u64 - 17),
        ];
        let hashed = futures_util::future::join_all(
            ranges
                .iter()
                .map(|&(offset, len)| md5_of_range(&path, offset, len)),
        )
        .await;
        for ((offset, len), got) in ranges.iter().zip(hashed) {
            let (offset, len) = (*offset as usize, *len as usize);
            let want: [u8; 16] = Md5::digest(&data[offset..offset + len]).into();
            assert_eq!(got.unwrap(), want, "range {offset}+{len}");
        }
    }

    #[tokio::test]
    async fn a_short_file_or_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        std::fs::write(&path, bytes(100, 1)).unwrap();
        let err = md5_of_range(&path, 50, 51).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = md5_of_range(&dir.path().join("missing"), 0, 1)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn growing_files_are_followed_until_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let bodies: Vec<Vec<u8>> = (0..5u8)
            .map(|i| bytes(300_000 + usize::from(i) * 777, i))
            .collect();
        let mut hashing = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let path = dir.path().join(format!("body{i}"));
            std::fs::File::create(&path).unwrap();
            hashing.push(md5_of_growing_file(&path, body.len() as u64));
        }
        // The writers trickle their bodies in uneven pieces while the hashes wait.
        let writers: Vec<_> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let path = dir.path().join(format!("body{i}"));
                let body = body.clone();
                std::thread::Builder::new()
                    .name(format!("writer{i}"))
                    .spawn(move || {
                        use std::io::Write;
                        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                        for piece in body.chunks(10_007 + i * 13) {
                            file.write_all(piece).unwrap();
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    })
                    .unwrap()
            })
            .collect();
        let digests = futures_util::future::join_all(hashing).await;
        for writer in writers {
            writer.join().unwrap();
        }
        for (body, digest) in bodies.iter().zip(digests) {
            let want: [u8; 16] = Md5::digest(body).into();
            assert_eq!(digest.unwrap(), want);
        }
    }

    #[tokio::test]
    async fn an_abandoned_growing_file_is_dropped_without_blocking_others() {
        let dir = tempfile::tempdir().unwrap();
        let stalled = dir.path().join("stalled");
        std::fs::write(&stalled, b"only a little").unwrap();
        let abandoned = md5_of_growing_file(&stalled, 1 << 20);
        let done = dir.path().join("done");
        std::fs::write(&done, bytes(5000, 9)).unwrap();
        let digest = tokio::time::timeout(Duration::from_secs(10), md5_of_range(&done, 0, 5000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(digest, <[u8; 16]>::from(Md5::digest(bytes(5000, 9))));
        drop(abandoned);
    }

    #[test]
    fn every_kernel_serves_many_ranges_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(CHUNK + 4321, 3);
        let path = dir.path().join("data");
        std::fs::write(&path, &data).unwrap();
        for kernel in Kernel::available() {
            let (sender, receiver) = mpsc::channel();
            let mut answers = Vec::new();
            for i in 0..20u64 {
                let (reply, answer) = oneshot::channel();
                let (offset, len) = (i * 97, data.len() as u64 - i * 1000);
                sender
                    .send(Request {
                        path: path.clone(),
                        offset,
                        len,
                        growing: false,
                        reply,
                    })
                    .unwrap();
                answers.push((offset as usize, len as usize, answer));
            }
            drop(sender);
            serve(&receiver, kernel);
            for (offset, len, mut answer) in answers {
                let want: [u8; 16] = Md5::digest(&data[offset..offset + len]).into();
                assert_eq!(
                    answer.try_recv().unwrap().unwrap(),
                    want,
                    "{kernel:?} {offset}+{len}"
                );
            }
        }
    }
}
