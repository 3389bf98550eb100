//! Recycled buffers for the bytes of request bodies.
//!
//! An upload moves every byte through a buffer: the client reads the file into one, the
//! emulator gathers a body into one. A fresh allocation of that size comes from the kernel
//! untouched, and its first use costs a page fault and a page clearing every 4 KiB, about as
//! much as the copy that fills it. Recycled, a buffer costs neither.

use std::sync::Mutex;

use bytes::Bytes;

/// Buffers of one size, kept for reuse once every clone of the [`Bytes`] made from them is
/// gone.
#[derive(Debug)]
pub struct Pool {
    size: usize,
    keep: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    /// A pool of buffers with room for `size` bytes that keeps at most `keep` idle ones.
    #[must_use]
    pub const fn new(size: usize, keep: usize) -> Self {
        Self {
            size,
            keep,
            free: Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer with room for at least the pool's size.
    #[must_use]
    pub fn take(&'static self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_else(|| Vec::with_capacity(self.size))
    }

    /// `buf` as shared bytes; the buffer comes back to the pool when the last clone is dropped.
    #[must_use]
    pub fn share(&'static self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Recycled { buf, pool: self })
    }

    /// Gives back a buffer from [`Pool::take`] that was not shared.
    pub fn recycle(&self, mut buf: Vec<u8>) {
        if buf.capacity() < self.size {
            return;
        }
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(buf);
        }
    }
}

struct Recycled {
    buf: Vec<u8>,
    pool: &'static Pool,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        self.pool.recycle(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_the_last_clone_is_dropped() {
        static POOL: Pool = Pool::new(1024, 2);
        let mut buf = POOL.take();
        assert!(buf.capacity() >= 1024 && buf.is_empty());
        buf.extend_from_slice(b"hello");
        let address = buf.as_ptr();
        let shared = POOL.share(buf);
        let clone = shared.slice(1..);
        drop(shared);
        assert_eq!(&clone[..], b"ello");
        drop(clone);
        let again = POOL.take();
        assert_eq!(again.as_ptr(), address, "the buffer was reused");
        assert!(again.is_empty());
        // No more than `keep` idle buffers are kept; small ones are not kept at all.
        for _ in 0..3 {
            drop(POOL.share(Vec::with_capacity(1024)));
        }
        drop(POOL.share(Vec::with_capacity(10)));
        assert_eq!(POOL.free.lock().unwrap().len(), 2);
    }
}
