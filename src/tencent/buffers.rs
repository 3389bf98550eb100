//! Recycled buffers for the bytes of request bodies.
//!
//! An upload moves every byte through a buffer: the client reads the file into one, the
//! emulator gathers a body into one. A fresh allocation of that size comes from the kernel
//! untouched, and its first use costs a page fault and a page clearing every 4 KiB, about as
//! much as the copy that fills it. Recycled, a buffer costs neither.

use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Buffers of one size, kept for reuse once every clone of the [`Bytes`] made from them is
/// gone, with a bound on how many are out at once.
///
/// The bound is what keeps memory flat when bytes are consumed more slowly than they are
/// read: a body's chunks are held by the connection and by the [part hasher] until both are
/// done with them, and where hashing falls behind (a slow CPU, or the other core busy)
/// every further chunk would otherwise be a fresh allocation. Instead [`Pool::take`] waits,
/// and the upload runs at the pace of its slowest consumer.
///
/// [part hasher]: super::part_hasher
#[derive(Debug)]
pub struct Pool {
    size: usize,
    keep: usize,
    free: Mutex<Vec<Vec<u8>>>,
    out: Semaphore,
}

impl Pool {
    /// A pool of buffers with room for `size` bytes that keeps at most `keep` idle ones and
    /// lends at most `most` at once.
    #[must_use]
    pub const fn new(size: usize, keep: usize, most: usize) -> Self {
        Self {
            size,
            keep,
            free: Mutex::new(Vec::new()),
            out: Semaphore::const_new(most),
        }
    }

    /// An empty buffer with room for at least the pool's size, once fewer than the pool's
    /// most are out.
    pub async fn take(&'static self) -> Buffer {
        let mut buf = self.lend().await;
        buf.clear();
        buf
    }

    /// A buffer of exactly `len` bytes (at most the pool's size), once fewer than the pool's
    /// most are out, for a reader that overwrites all of them: they hold whatever the
    /// buffer's last use left there, and only bytes no use has written yet are zeroed. A
    /// reader into spare capacity cannot be told where to stop, and zeroing every chunk
    /// before reading into it costs a pass over the bytes.
    pub async fn take_len(&'static self, len: usize) -> Buffer {
        let mut buf = self.lend().await;
        buf.resize(len, 0);
        buf
    }

    /// An empty buffer as [`Pool::take`] lends it, but only if one can be lent right now:
    /// for a user that can make do without one, rather than wait for others to give theirs
    /// back while holding one of its own (enough of those wait for each other forever).
    pub fn try_take(&'static self) -> Option<Buffer> {
        let permit = self.out.try_acquire().ok()?;
        let mut buf = self.free_or_new();
        buf.clear();
        Some(Buffer {
            buf,
            pool: self,
            _permit: Some(permit),
        })
    }

    fn free_or_new(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_else(|| Vec::with_capacity(self.size))
    }

    /// A buffer as its last use left it.
    async fn lend(&'static self) -> Buffer {
        // The semaphore is never closed; were it, the buffer would simply not count.
        let permit = self.out.acquire().await.ok();
        let buf = self.free_or_new();
        Buffer {
            buf,
            pool: self,
            _permit: permit,
        }
    }

    fn recycle(&self, buf: Vec<u8>) {
        if buf.capacity() < self.size {
            return;
        }
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(buf);
        }
    }
}

/// A buffer lent by a [`Pool`]: it goes back (and stops counting against the pool's bound)
/// when dropped, or, once shared, when the last clone of its [`Bytes`] is.
#[derive(Debug)]
pub struct Buffer {
    buf: Vec<u8>,
    pool: &'static Pool,
    _permit: Option<SemaphorePermit<'static>>,
}

impl Buffer {
    /// The buffer as shared bytes.
    #[must_use]
    pub fn share(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl std::ops::Deref for Buffer {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl std::ops::DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl AsRef<[u8]> for Buffer {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // Back in the free list before the permit (a field, dropped after this) lets the
        // next taker in.
        self.pool.recycle(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffers_come_back_when_the_last_clone_is_dropped() {
        static POOL: Pool = Pool::new(1024, 2, 8);
        let mut buf = POOL.take().await;
        assert!(buf.capacity() >= 1024 && buf.is_empty());
        buf.extend_from_slice(b"hello");
        let address = buf.as_ptr();
        let shared = buf.share();
        let clone = shared.slice(1..);
        drop(shared);
        assert_eq!(&clone[..], b"ello");
        drop(clone);
        let again = POOL.take().await;
        assert_eq!(again.as_ptr(), address, "the buffer was reused");
        assert!(again.is_empty());
        drop(again);
        // No more than `keep` idle buffers are kept.
        let taken = [POOL.take().await, POOL.take().await, POOL.take().await];
        drop(taken.map(Buffer::share));
        assert_eq!(POOL.free.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_sized_buffer_has_exactly_its_length_and_keeps_earlier_bytes() {
        static POOL: Pool = Pool::new(64, 1, 4);
        let mut buf = POOL.take_len(10).await;
        assert_eq!(&buf[..], &[0; 10], "a fresh buffer is zeroed");
        buf.copy_from_slice(b"0123456789");
        drop(buf);
        // Shorter: the earlier bytes, not zeros (nothing spent clearing them).
        let short = POOL.take_len(4).await;
        assert_eq!(&short[..], b"0123");
        drop(short);
        // Longer than any use so far: the new bytes are zeroed.
        let long = POOL.take_len(12).await;
        assert_eq!(&long[..], b"0123\0\0\0\0\0\0\0\0");
        drop(long);
        assert!(
            POOL.take().await.is_empty(),
            "take still lends an empty buffer"
        );
    }

    #[tokio::test]
    async fn no_more_than_the_most_are_out_at_once() {
        static POOL: Pool = Pool::new(16, 4, 2);
        let mut first = POOL.take().await;
        first.extend_from_slice(b"chunk");
        let first = first.share();
        let held = first.slice(1..);
        drop(first);
        let second = POOL.take().await;
        // Both are out (one as a clone of its bytes): a third waits.
        let mut third = Box::pin(POOL.take());
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut third)
                .await
                .is_err(),
            "a third buffer was lent while two were out"
        );
        drop(second);
        let third = tokio::time::timeout(std::time::Duration::from_secs(5), third)
            .await
            .expect("a buffer that came back is lent again");
        drop(held);
        // A buffer dropped unshared (a failed read) comes back too.
        drop(third);
        let again = [POOL.take().await, POOL.take().await];
        // try_take does not wait: none while both are out, one as soon as one is back.
        assert!(POOL.try_take().is_none());
        drop(again);
        assert!(POOL.try_take().is_some());
    }
}
