//! MD5 of byte streams, computed side by side on one thread.
//!
//! Every part of a multipart upload needs its MD5: the client checks the ETag against it, the
//! emulator answers with it. Hashed one by one on the async workers, MD5 (about 640 MB/s) was
//! the largest cost of an upload on a 2-core machine. Here every stream joins the lanes of
//! [`md5x`](super::md5x): the bodies in flight are hashed together, several times faster, on
//! a thread of their own.
//!
//! The bytes come from the code that sends or receives them ([`Md5Feed::push`]) as shared
//! [`Bytes`], so nothing is read twice or copied: the client feeds the chunks it sends, the
//! emulator the chunks it writes to disk. Lanes fill at the pace of their connections, a
//! chunk at a time, so bytes wait in the hasher until a wide step's worth of lanes have some;
//! a stream's last bytes, a large backlog and bytes that waited [`GATHER`] go at once. A
//! stream whose feed is dropped before its last byte (a cancelled or paused upload, a cut
//! connection) is abandoned.

use std::collections::VecDeque;
use std::io;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use md5::Digest;
use tokio::sync::oneshot;

use super::md5x::{self, Chain, Kernel};

/// At most this many streams are hashed in one step; more take turns.
const MAX_LANES: usize = 16;
/// Bytes wait for this many lanes before a step runs: a full-width step hashes far more per
/// second than a narrow one (`cargo bench --bench md5_lanes`: AVX-512, 16 lanes 7.1 GB/s
/// against 4.6 at 8; AVX2 as two groups of 8, 5.6 against 4.6), and the waiting is bounded
/// by [`GATHER`] and [`BACKLOG`].
const WIDE: usize = 16;
/// How long bytes wait for other lanes to fill before they are hashed anyway. Each of 16
/// connections sharing about 1 GB/s gets a 512 KiB chunk every 8 ms or so, and unevenly: at
/// 10 ms the client's steps were mostly 5 to 10 lanes wide; at 30 ms most bytes go 16 wide,
/// and the client's CPU per 512 MiB fell by a fifth (`scripts/bench_upload.sh`).
const GATHER: Duration = Duration::from_millis(30);
/// A lane holding this many bytes is hashed at once (bounds the memory held).
const BACKLOG: usize = 4 << 20;

enum Message {
    Open {
        id: u64,
        /// The stream's length, when known up front.
        len: Option<u64>,
        reply: oneshot::Sender<io::Result<[u8; 16]>>,
    },
    Data {
        id: u64,
        bytes: Bytes,
    },
    /// The last byte has been pushed.
    End {
        id: u64,
    },
    /// The feed was dropped before the end.
    Abandon {
        id: u64,
    },
}

/// The hashing thread of this process, started on first use.
static HASHER: LazyLock<Option<mpsc::Sender<Message>>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("md5-lanes".into())
        .spawn(move || serve(&receiver, Kernel::best()))
        .map_err(|err| tracing::warn!(%err, "no hashing thread; hashing inline"))
        .ok()?;
    Some(sender)
});

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Where a stream's bytes go.
enum Sink {
    Lanes {
        id: u64,
        sender: mpsc::Sender<Message>,
    },
    /// No hashing thread: hashed as pushed.
    Inline {
        md5: md5::Md5,
        reply: Option<oneshot::Sender<io::Result<[u8; 16]>>>,
    },
}

/// The sending end of a stream being hashed: push its bytes in order.
///
/// Dropping it before the last byte (all `len` bytes pushed, or [`Md5Feed::end`]) abandons
/// the stream and its digest future fails.
pub struct Md5Feed {
    sink: Sink,
    len: Option<u64>,
    pushed: u64,
    ended: bool,
}

/// Starts hashing a stream of `len` bytes (`None`: unknown until [`Md5Feed::end`]). Returns
/// the feed and the digest.
///
/// # Errors
/// The digest fails when the stream is abandoned or gets more or fewer bytes than `len`
/// ([`io::ErrorKind::InvalidData`]).
pub fn md5_of_stream(
    len: Option<u64>,
) -> (
    Md5Feed,
    impl Future<Output = io::Result<[u8; 16]>> + Send + use<>,
) {
    let (reply, answer) = oneshot::channel();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let sink = match HASHER.as_ref() {
        Some(sender) => match sender.send(Message::Open { id, len, reply }) {
            Ok(()) => Sink::Lanes {
                id,
                sender: sender.clone(),
            },
            Err(mpsc::SendError(Message::Open { reply, .. })) => Sink::Inline {
                md5: md5::Md5::new(),
                reply: Some(reply),
            },
            Err(mpsc::SendError(_)) => Sink::Inline {
                md5: md5::Md5::new(),
                reply: None,
            },
        },
        None => Sink::Inline {
            md5: md5::Md5::new(),
            reply: Some(reply),
        },
    };
    let mut feed = Md5Feed {
        sink,
        len,
        pushed: 0,
        ended: false,
    };
    feed.check_end();
    let digest = async move {
        answer
            .await
            .map_err(|_| io::Error::other("the stream was abandoned before its end"))?
    };
    (feed, digest)
}

impl Md5Feed {
    /// The stream's next bytes.
    pub fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() || self.ended {
            return;
        }
        self.pushed += bytes.len() as u64;
        match &mut self.sink {
            Sink::Lanes { id, sender } => {
                let _ = sender.send(Message::Data { id: *id, bytes });
            }
            Sink::Inline { md5, .. } => md5.update(&bytes),
        }
        self.check_end();
    }

    /// The stream is complete (needed only when its length was not known up front).
    pub fn end(mut self) {
        self.finish();
    }

    /// With a known length, the stream ends by itself at its last byte.
    fn check_end(&mut self) {
        if self.len.is_some_and(|len| self.pushed >= len) {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        match &mut self.sink {
            Sink::Lanes { id, sender } => {
                // The hasher checks the length (after the last byte, this changes nothing).
                let _ = sender.send(Message::End { id: *id });
            }
            Sink::Inline { md5, reply } => {
                let result = match self.len {
                    Some(len) if len != self.pushed => Err(length_error(len, self.pushed)),
                    _ => Ok(std::mem::take(md5).finalize().into()),
                };
                if let Some(reply) = reply.take() {
                    let _ = reply.send(result);
                }
            }
        }
    }
}

impl Drop for Md5Feed {
    fn drop(&mut self) {
        if !self.ended
            && let Sink::Lanes { id, sender } = &self.sink
        {
            let _ = sender.send(Message::Abandon { id: *id });
        }
    }
}

impl std::fmt::Debug for Md5Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Md5Feed")
            .field("len", &self.len)
            .field("pushed", &self.pushed)
            .finish_non_exhaustive()
    }
}

fn length_error(len: u64, got: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the stream to hash was to have {len} bytes but had {got}"),
    )
}

/// One stream being hashed.
struct Lane {
    id: u64,
    len: Option<u64>,
    received: u64,
    /// Every byte is in: `received` is the message length.
    ended: bool,
    /// The next bytes to hash, starting on a block boundary of the message.
    head: Bytes,
    /// Received after `head`.
    queue: VecDeque<Bytes>,
    /// Bytes in `head` and `queue`.
    held: usize,
    /// The padding is in `head`: once `head` is used up, the digest is ready.
    padded: bool,
    chain: Chain,
    /// Since when the lane has had bytes to hash without a step.
    ready_since: Option<Instant>,
    reply: oneshot::Sender<io::Result<[u8; 16]>>,
}

impl Lane {
    fn new(id: u64, len: Option<u64>, reply: oneshot::Sender<io::Result<[u8; 16]>>) -> Self {
        Self {
            id,
            len,
            received: 0,
            ended: len == Some(0),
            head: Bytes::new(),
            queue: VecDeque::new(),
            held: 0,
            padded: false,
            chain: md5x::IV,
            ready_since: None,
            reply,
        }
    }

    fn take(&mut self, bytes: Bytes) -> io::Result<()> {
        self.received += bytes.len() as u64;
        self.held += bytes.len();
        self.queue.push_back(bytes);
        match self.len {
            Some(len) if self.received > len => Err(length_error(len, self.received)),
            Some(len) if self.received == len => {
                self.ended = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn blocks(&self) -> usize {
        self.head.len() / 64
    }

    /// Done: padded and hashed.
    fn finished(&self) -> bool {
        self.padded && self.head.is_empty()
    }

    /// Makes `head` start with a whole block when the bytes received allow: a block split
    /// between two chunks is put together in a small buffer of its own, and the padding is
    /// appended after the last byte.
    fn settle(&mut self, now: Instant) {
        while self.head.len() < 64 && !self.padded {
            if let Some(next) = self.queue.pop_front() {
                if self.head.is_empty() {
                    self.head = next;
                } else {
                    let take = (64 - self.head.len()).min(next.len());
                    let mut joined = Vec::with_capacity(64);
                    joined.extend_from_slice(&self.head);
                    joined.extend_from_slice(&next[..take]);
                    self.head = Bytes::from(joined);
                    if take < next.len() {
                        self.queue.push_front(next.slice(take..));
                    }
                }
            } else if self.ended {
                let mut last = self.head.to_vec();
                md5x::pad(self.received, &mut last);
                self.held += last.len() - self.head.len();
                self.head = Bytes::from(last);
                self.padded = true;
            } else {
                break;
            }
        }
        if self.blocks() == 0 {
            self.ready_since = None;
        } else {
            self.ready_since.get_or_insert(now);
        }
    }

    fn answer(self, result: io::Result<[u8; 16]>) {
        let _ = self.reply.send(result);
    }
}

/// Hashes streams until every sender is gone and nothing is left to hash.
fn serve(messages: &mpsc::Receiver<Message>, kernel: Kernel) {
    let mut lanes: Vec<Lane> = Vec::new();
    let mut connected = true;
    loop {
        // Take in everything that has arrived.
        while connected {
            match messages.try_recv() {
                Ok(message) => take_in(&mut lanes, message),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => connected = false,
            }
        }
        let now = Instant::now();
        let mut i = 0;
        while i < lanes.len() {
            let lane = &mut lanes[i];
            lane.settle(now);
            if lane.reply.is_closed() {
                lanes.swap_remove(i);
            } else if lane.finished() {
                let lane = lanes.swap_remove(i);
                let digest = md5x::digest(&lane.chain);
                lane.answer(Ok(digest));
            } else {
                i += 1;
            }
        }
        let wait = match decide(&lanes, now) {
            Decision::Hash => None,
            Decision::Wait(_) if !connected && lanes.iter().all(|lane| lane.blocks() == 0) => {
                // Nothing more can arrive: what is left can never finish.
                return;
            }
            Decision::Wait(_) if !connected => None,
            Decision::Wait(until) => Some(until),
        };
        if let Some(until) = wait {
            let message = match until {
                Some(until) => messages.recv_timeout(until.saturating_duration_since(now)),
                None => messages
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(message) => take_in(&mut lanes, message),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => connected = false,
            }
            continue;
        }
        step(&mut lanes, kernel, now);
    }
}

enum Decision {
    Hash,
    /// For the next message, or until then at the latest.
    Wait(Option<Instant>),
}

/// Whether to hash a step now: when every lane, or a wide step's worth, has bytes; when a
/// stream's end or a big backlog is ready; or when bytes have waited [`GATHER`].
fn decide(lanes: &[Lane], now: Instant) -> Decision {
    let ready = || lanes.iter().filter(|lane| lane.blocks() > 0);
    let count = ready().count();
    if count == 0 {
        return Decision::Wait(None);
    }
    if count == lanes.len()
        || count >= WIDE
        || ready().any(|lane| lane.padded || lane.held >= BACKLOG)
    {
        return Decision::Hash;
    }
    match ready().filter_map(|lane| lane.ready_since).min() {
        Some(since) if since + GATHER > now => Decision::Wait(Some(since + GATHER)),
        _ => Decision::Hash,
    }
}

fn take_in(lanes: &mut Vec<Lane>, message: Message) {
    let id = match &message {
        Message::Open { id, .. }
        | Message::Data { id, .. }
        | Message::End { id }
        | Message::Abandon { id } => *id,
    };
    if let Message::Open { id, len, reply } = message {
        lanes.push(Lane::new(id, len, reply));
        return;
    }
    let Some(at) = lanes.iter().position(|lane| lane.id == id) else {
        return;
    };
    let outcome = match message {
        Message::Data { bytes, .. } => lanes[at].take(bytes),
        Message::End { .. } => {
            let lane = &mut lanes[at];
            lane.ended = true;
            match lane.len {
                Some(len) if len != lane.received => Err(length_error(len, lane.received)),
                _ => Ok(()),
            }
        }
        Message::Abandon { .. } => {
            lanes.swap_remove(at);
            return;
        }
        Message::Open { .. } => Ok(()),
    };
    if let Err(err) = outcome {
        lanes.swap_remove(at).answer(Err(err));
    }
}

/// Runs the ready lanes (up to [`MAX_LANES`]) through as many blocks as they all have.
fn step(lanes: &mut [Lane], kernel: Kernel, now: Instant) {
    let mut active: Vec<&mut Lane> = lanes
        .iter_mut()
        .filter(|lane| lane.blocks() > 0)
        .take(MAX_LANES)
        .collect();
    let Some(blocks) = active.iter().map(|lane| lane.blocks()).min() else {
        return;
    };
    let mut chains: Vec<Chain> = active.iter().map(|lane| lane.chain).collect();
    let inputs: Vec<&[u8]> = active.iter().map(|lane| &lane.head[..]).collect();
    md5x::compress_lanes(kernel, &mut chains, &inputs, blocks);
    for (lane, chain) in active.iter_mut().zip(chains) {
        lane.chain = chain;
        lane.head = lane.head.slice(blocks * 64..);
        lane.held -= blocks * 64;
        lane.ready_since = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Md5;

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from(i % 251).unwrap() ^ seed)
            .collect()
    }

    /// Streams of many lengths, cut into chunks of many sizes, some of unknown length.
    fn corpus() -> Vec<(Vec<u8>, usize, bool)> {
        let lengths = [0usize, 1, 55, 63, 64, 65, 127, 1000, 300_000, 1 << 20];
        let pieces = [1usize << 30, 1, 64, 1000, 10_007, 65_536];
        let mut all = Vec::new();
        for (i, &len) in lengths.iter().enumerate() {
            for (j, &piece) in pieces.iter().enumerate() {
                if piece == 1 && len > 1000 {
                    continue;
                }
                let seed = u8::try_from(i * 7 + j).unwrap();
                all.push((bytes(len, seed), piece, (i + j) % 3 == 0));
            }
        }
        all
    }

    /// The corpus's chunks in the order bodies in flight arrive: round robin, a chunk of each
    /// stream at a time, as (stream index, chunk).
    fn interleaved(corpus: &[(Vec<u8>, usize, bool)]) -> Vec<(usize, Bytes)> {
        let mut order = Vec::new();
        let mut at = vec![0usize; corpus.len()];
        loop {
            let mut any = false;
            for (k, (data, piece, _)) in corpus.iter().enumerate() {
                if at[k] < data.len() {
                    let end = (at[k] + piece).min(data.len());
                    order.push((k, Bytes::copy_from_slice(&data[at[k]..end])));
                    at[k] = end;
                    any = true;
                }
            }
            if !any {
                return order;
            }
        }
    }

    #[tokio::test]
    async fn streams_of_every_size_and_chunking_hash_like_md5_together() {
        let corpus = corpus();
        let mut feeds = Vec::new();
        let mut digests = Vec::new();
        for (data, _, unknown) in &corpus {
            let (feed, digest) = md5_of_stream((!unknown).then_some(data.len() as u64));
            feeds.push(feed);
            digests.push(digest);
        }
        for (k, bytes) in interleaved(&corpus) {
            feeds[k].push(bytes);
        }
        for feed in feeds {
            feed.end();
        }
        let digests = futures_util::future::join_all(digests).await;
        for ((data, piece, unknown), digest) in corpus.iter().zip(digests) {
            let want: [u8; 16] = Md5::digest(data).into();
            assert_eq!(
                digest.unwrap(),
                want,
                "{} bytes in pieces of {piece}, length known: {}",
                data.len(),
                !unknown
            );
        }
    }

    #[tokio::test]
    async fn wrong_lengths_and_abandoned_streams_fail() {
        let (mut short, short_digest) = md5_of_stream(Some(100));
        short.push(Bytes::from(bytes(50, 1)));
        short.end();
        assert_eq!(
            short_digest.await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );

        let (mut long, long_digest) = md5_of_stream(Some(100));
        long.push(Bytes::from(bytes(60, 1)));
        long.push(Bytes::from(bytes(60, 2)));
        assert_eq!(
            long_digest.await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );

        let (mut abandoned, abandoned_digest) = md5_of_stream(None);
        abandoned.push(Bytes::from(bytes(5000, 3)));
        drop(abandoned);
        let err = abandoned_digest.await.unwrap_err();
        assert!(err.to_string().contains("abandoned"), "{err}");
    }

    #[tokio::test]
    async fn a_stalled_stream_does_not_hold_up_the_others() {
        let (mut stalled, stalled_digest) = md5_of_stream(Some(1 << 20));
        stalled.push(Bytes::from(bytes(1000, 4)));
        let (mut other, other_digest) = md5_of_stream(Some(300_000));
        other.push(Bytes::from(bytes(300_000, 5)));
        let digest = tokio::time::timeout(Duration::from_secs(10), other_digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(digest, <[u8; 16]>::from(Md5::digest(bytes(300_000, 5))));
        stalled.push(Bytes::from(bytes((1 << 20) - 1000, 6)));
        let mut whole = bytes(1000, 4);
        whole.extend(bytes((1 << 20) - 1000, 6));
        assert_eq!(
            stalled_digest.await.unwrap(),
            <[u8; 16]>::from(Md5::digest(&whole))
        );
    }

    #[test]
    fn every_kernel_serves_many_streams_at_once() {
        let corpus = corpus();
        for kernel in Kernel::available() {
            let (sender, receiver) = mpsc::channel();
            let mut answers = Vec::new();
            for (id, (data, _, unknown)) in corpus.iter().enumerate() {
                let (reply, answer) = oneshot::channel();
                let len = (!unknown).then_some(data.len() as u64);
                let id = id as u64;
                sender.send(Message::Open { id, len, reply }).unwrap();
                answers.push(answer);
            }
            for (id, bytes) in interleaved(&corpus) {
                let id = id as u64;
                sender.send(Message::Data { id, bytes }).unwrap();
            }
            for id in 0..corpus.len() {
                sender.send(Message::End { id: id as u64 }).unwrap();
            }
            drop(sender);
            serve(&receiver, kernel);
            for ((data, piece, _), mut answer) in corpus.iter().zip(answers) {
                let want: [u8; 16] = Md5::digest(data).into();
                assert_eq!(
                    answer.try_recv().unwrap().unwrap(),
                    want,
                    "{kernel:?}: {} bytes in pieces of {piece}",
                    data.len()
                );
            }
        }
    }
}
