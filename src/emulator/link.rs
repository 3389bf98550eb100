//! A model of a user's uplink, in user space: a relay in front of the emulator that gives
//! every connection through it one shared upstream bandwidth, a one-way delay each way and a
//! per-connection window.
//!
//! Loopback has no bandwidth limit and no round trip, so it rewards keeping huge amounts in
//! flight and hides what a crash or a pause costs. This kernel has no `netem`, so the relay
//! models the three things that decide an upload on a real link:
//!
//! - **bandwidth**: one token bucket for all connections together; bytes leave the
//!   bottleneck in the order they were read, each `len / rate` after the one before;
//! - **delay**: a chunk reaches the emulator one `delay` after it left the bottleneck, and
//!   answers reach the client one `delay` after the emulator wrote them; a new connection
//!   starts carrying data one round trip after it was opened (the handshake);
//! - **window**: a connection has at most `window` bytes unacknowledged, counted from the
//!   moment the relay reads them until their acknowledgement would be back (one round trip
//!   after they left the bottleneck), so one connection carries at most `window / rtt`.
//!
//! The relay's own sockets keep small buffers, so what the client has "sent" is what its
//! kernel holds plus the window, as on a real machine. It counts the bytes it carried each
//! way ([`LinkStats`]) so that a benchmark can tell how much was sent twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The link: bandwidth, round trip and window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkModel {
    /// Upstream bandwidth shared by all connections, bits per second.
    pub bits_per_second: f64,
    /// Round-trip time (half of it each way).
    pub rtt: Duration,
    /// Bytes a connection may have unacknowledged.
    pub window: u64,
}

impl LinkModel {
    /// A link of `mbit` Mbit/s, `rtt_ms` round trip and `window_kib` KiB per connection.
    #[must_use]
    pub fn new(mbit: f64, rtt_ms: u64, window_kib: u64) -> Self {
        Self {
            bits_per_second: mbit * 1e6,
            rtt: Duration::from_millis(rtt_ms),
            window: window_kib.max(1) * 1024,
        }
    }

    /// Bytes per second.
    #[must_use]
    pub fn bytes_per_second(&self) -> f64 {
        self.bits_per_second / 8.0
    }
}

/// What the link carried since the emulator started.
#[derive(Debug, Default)]
pub struct LinkStats {
    up: AtomicU64,
    down: AtomicU64,
    connections: AtomicU64,
}

/// A snapshot of [`LinkStats`], as `GET /_voddesk/link` answers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkCounts {
    /// Bytes carried from clients to the emulator (requests, headers included).
    pub up_bytes: u64,
    /// Bytes carried back.
    pub down_bytes: u64,
    /// Connections opened through the link.
    pub connections: u64,
}

impl LinkStats {
    /// The counts now.
    #[must_use]
    pub fn snapshot(&self) -> LinkCounts {
        LinkCounts {
            up_bytes: self.up.load(Ordering::Relaxed),
            down_bytes: self.down.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

/// The shared bottleneck: when it is next free.
struct Bottleneck {
    free_at: Mutex<Instant>,
    bytes_per_second: f64,
}

impl Bottleneck {
    /// Puts `len` bytes through the bottleneck; returns when their last byte leaves it.
    async fn pass(&self, len: usize) -> Instant {
        let mut free_at = self.free_at.lock().await;
        let start = (*free_at).max(Instant::now());
        let serialise = Duration::from_secs_f64(len as f64 / self.bytes_per_second);
        *free_at = start + serialise;
        *free_at
    }
}

/// The relay's socket buffers: small, so that bytes wait in the client's kernel (as they do
/// on a real machine) rather than in the relay's.
const RELAY_BUFFER: usize = 64 * 1024;
/// The most bytes read at once.
const READ_CHUNK: usize = 64 * 1024;
/// Chunks on their way (in the delay) per direction of a connection; a window of bytes in
/// chunks of at least a few KiB fits.
const DELIVERY_QUEUE: usize = 4096;

/// Relays connections accepted on `listener` to `upstream` through the link until `stop`.
pub(crate) async fn relay(
    listener: TcpListener,
    upstream: std::net::SocketAddr,
    model: LinkModel,
    stats: Arc<LinkStats>,
    stop: CancellationToken,
) {
    let bottleneck = Arc::new(Bottleneck {
        free_at: Mutex::new(Instant::now()),
        bytes_per_second: model.bytes_per_second().max(1.0),
    });
    loop {
        let client = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!("link relay accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return,
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let bottleneck = Arc::clone(&bottleneck);
        let stats = Arc::clone(&stats);
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = connection(client, upstream, model, bottleneck, stats) => {}
                () = stop.cancelled() => {}
            }
        });
    }
}

async fn connection(
    client: TcpStream,
    upstream: std::net::SocketAddr,
    model: LinkModel,
    bottleneck: Arc<Bottleneck>,
    stats: Arc<LinkStats>,
) {
    let opened = Instant::now();
    let _ = client.set_nodelay(true);
    let _ = socket2::SockRef::from(&client).set_recv_buffer_size(RELAY_BUFFER);
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = socket2::SockRef::from(&server).set_send_buffer_size(RELAY_BUFFER);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let one_way = model.rtt / 2;
    // The handshake: nothing crosses before a round trip has passed.
    let ready = opened + model.rtt;
    let up = upstream_half(
        client_read,
        server_write,
        ready,
        model,
        bottleneck,
        Arc::clone(&stats),
    );
    let down = delayed_half(server_read, client_write, one_way, stats);
    // Either side closing ends the connection once the other direction drained.
    let _ = tokio::join!(up, down);
}

/// Client to emulator: window, bottleneck, then the one-way delay.
async fn upstream_half(
    mut from: tokio::net::tcp::OwnedReadHalf,
    to: tokio::net::tcp::OwnedWriteHalf,
    ready: Instant,
    model: LinkModel,
    bottleneck: Arc<Bottleneck>,
    stats: Arc<LinkStats>,
) {
    tokio::time::sleep_until(ready).await;
    let one_way = model.rtt / 2;
    let unacked = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Notify::new());
    let (deliver, deliveries) = mpsc::channel::<(Instant, Vec<u8>)>(DELIVERY_QUEUE);
    let writer = tokio::spawn(write_at(deliveries, to, Arc::clone(&stats), true));
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        // Wait for room in the window.
        let room = loop {
            let notified = acked.notified();
            let used = unacked.load(Ordering::Acquire);
            if used < model.window {
                break model.window - used;
            }
            notified.await;
        };
        let want = usize::try_from(room).unwrap_or(READ_CHUNK).min(READ_CHUNK);
        let read = match from.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        unacked.fetch_add(read as u64, Ordering::AcqRel);
        let left = bottleneck.pass(read).await;
        let arrive = left + one_way;
        if deliver.send((arrive, buf[..read].to_vec())).await.is_err() {
            break;
        }
        // The acknowledgement is back one more one-way delay after the bytes arrived.
        let unacked = Arc::clone(&unacked);
        let acked = Arc::clone(&acked);
        let len = read as u64;
        tokio::spawn(async move {
            tokio::time::sleep_until(arrive + one_way).await;
            unacked.fetch_sub(len, Ordering::AcqRel);
            acked.notify_waiters();
        });
    }
    drop(deliver);
    let _ = writer.await;
}

/// Emulator to client: the one-way delay only (answers are small).
async fn delayed_half(
    mut from: tokio::net::tcp::OwnedReadHalf,
    to: tokio::net::tcp::OwnedWriteHalf,
    one_way: Duration,
    stats: Arc<LinkStats>,
) {
    let (deliver, deliveries) = mpsc::channel::<(Instant, Vec<u8>)>(DELIVERY_QUEUE);
    let writer = tokio::spawn(write_at(deliveries, to, stats, false));
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let read = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if deliver
            .send((Instant::now() + one_way, buf[..read].to_vec()))
            .await
            .is_err()
        {
            break;
        }
    }
    drop(deliver);
    let _ = writer.await;
}

/// Writes each chunk at its time, in order; shuts the write side down at the end.
async fn write_at(
    mut chunks: mpsc::Receiver<(Instant, Vec<u8>)>,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stats: Arc<LinkStats>,
    up: bool,
) {
    while let Some((at, chunk)) = chunks.recv().await {
        tokio::time::sleep_until(at).await;
        if to.write_all(&chunk).await.is_err() {
            // The far side is gone: drain so that the reader's sends fail and it stops.
            chunks.close();
            return;
        }
        let counter = if up { &stats.up } else { &stats.down };
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_connection_carries_at_most_a_window_per_round_trip() {
        // 1 Gbit/s, 100 ms, 64 KiB window: one connection is window-bound at 640 KiB/s.
        let model = LinkModel::new(1000.0, 100, 64);
        let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink_addr = sink.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut stream, _) = sink.accept().await.unwrap();
            let mut total = 0usize;
            let mut buf = vec![0u8; 65536];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    return total;
                }
                total += n;
            }
        });
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let stats = Arc::new(LinkStats::default());
        let stop = CancellationToken::new();
        tokio::spawn(relay(
            front,
            sink_addr,
            model,
            Arc::clone(&stats),
            stop.clone(),
        ));
        let started = std::time::Instant::now();
        let mut client = TcpStream::connect(front_addr).await.unwrap();
        let data = vec![7u8; 512 * 1024];
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
        let total = reader.await.unwrap();
        let took = started.elapsed();
        assert_eq!(total, data.len());
        // 8 windows, each a round trip, plus the handshake: at least 0.8 s; bandwidth alone
        // would take 4 ms.
        assert!(took >= Duration::from_millis(800), "took {took:?}");
        assert_eq!(stats.snapshot().up_bytes, data.len() as u64);
        stop.cancel();
    }
}
