//! CRC-64 as COS reports it in `x-cos-hash-crc64ecma` (CRC-64/XZ, a.k.a. CRC-64/GO-ECMA).
//!
//! The digest is incremental (feed a file in chunks) and CRCs of consecutive pieces can be
//! combined without re-reading the data, so parts uploaded in parallel yield the whole object's
//! CRC at the end.

/// An incremental CRC-64/XZ.
#[derive(Clone)]
pub struct Crc64 {
    digest: crc_fast::Digest,
    len: u64,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crc64({}, {} bytes)", self.sum(), self.len)
    }
}

impl Crc64 {
    /// A digest of nothing (whose value is 0).
    #[must_use]
    pub fn new() -> Self {
        Self {
            digest: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Xz),
            len: 0,
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// The CRC of everything fed so far.
    #[must_use]
    pub fn sum(&self) -> u64 {
        self.digest.finalize()
    }

    /// How many bytes were fed.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The CRC of `bytes` in one call.
#[must_use]
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut crc = Crc64::new();
    crc.update(bytes);
    crc.sum()
}

/// The CRC of `A ‖ B` from `crc(A)`, `crc(B)` and the length of `B` (crc-fast's combine:
/// zlib's matrix squarings, tens of microseconds a part, once per part at Complete).
#[must_use]
pub fn combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    crc_fast::checksum_combine(crc_fast::CrcAlgorithm::Crc64Xz, crc_a, crc_b, len_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(checksum(b"123456789"), 11_051_210_869_376_104_954);
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"hello world"), 5_981_764_153_023_615_706);
    }

    #[test]
    fn incremental_and_combined_agree() {
        let mut crc = Crc64::new();
        crc.update(b"12345");
        crc.update(b"6789");
        assert_eq!(crc.sum(), checksum(b"123456789"));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [0, 1, 7, 8, 4096, 65_537, 99_999, 100_000] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                combine(checksum(a), checksum(b), b.len() as u64),
                checksum(&data),
                "split at {split}"
            );
        }
    }
}
