//! MD5 over several independent messages at once ("multi-buffer").
//!
//! One MD5 is a chain of 64 dependent steps per block, so a core mostly waits on the previous
//! step: about 620 MB/s here, whatever the CPU. Every part of a multipart upload is hashed (by
//! the client against the ETag, by the emulator for the ETag), and parts are independent.
//! Running several side by side turns every step into independent lane-wise operations.
//! Measured on a 2-core AMD EPYC with AVX-512 (`Kernel` × messages, aggregate): AVX2 with 8
//! lanes 3.3 GB/s, AVX-512 with 16 lanes 4.4 GB/s; portable interleaved code for 4, 1.3 GB/s.
//! On a first-generation EPYC (Zen 1: AVX2 split into two 128-bit halves, no AVX-512, 2 GHz),
//! one MD5 runs at 0.43 GB/s, 8 AVX2 lanes at 1.9–2.0 GB/s, and 16 lanes as two groups of 8
//! with their steps interleaved at 2.4–2.6 GB/s: one group is a chain of dependent steps
//! that leaves the vector units idle between them, and the second group fills them.
//!
//! [`compress_lanes`] picks the width and the instruction set at run time. The portable
//! `lanes` code is left to the optimiser; the x86 kernels use intrinsics, because the
//! optimiser vectorised the portable code only when the whole build targeted the CPU.

/// `N` 32-bit words, one per lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Words<const N: usize>([u32; N]);

impl<const N: usize> Words<N> {
    #[inline(always)]
    fn splat(value: u32) -> Self {
        Self([value; N])
    }

    #[inline(always)]
    fn zip(self, other: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        let mut out = self.0;
        for (out, other) in out.iter_mut().zip(other.0) {
            *out = f(*out, other);
        }
        Self(out)
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.zip(other, u32::wrapping_add)
    }

    #[inline(always)]
    fn and(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        self.zip(other, |a, b| a ^ b)
    }

    #[inline(always)]
    fn not(self) -> Self {
        let mut out = self.0;
        for out in &mut out {
            *out = !*out;
        }
        Self(out)
    }

    #[inline(always)]
    fn rotl<const S: u32>(self) -> Self {
        let mut out = self.0;
        for out in &mut out {
            *out = out.rotate_left(S);
        }
        Self(out)
    }
}

/// The MD5 state of `N` lanes.
#[derive(Clone, Copy, Debug)]
struct State<const N: usize> {
    a: Words<N>,
    b: Words<N>,
    c: Words<N>,
    d: Words<N>,
}

/// The chaining value a message starts from.
pub const IV: Chain = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// The MD5 chaining value of one message: four words.
pub type Chain = [u32; 4];

impl<const N: usize> Default for State<N> {
    fn default() -> Self {
        Self {
            a: Words::splat(IV[0]),
            b: Words::splat(IV[1]),
            c: Words::splat(IV[2]),
            d: Words::splat(IV[3]),
        }
    }
}

// The step schedule, shared by every kernel. The operations are macros named by the
// caller (`$f`… the round functions, `$rotl` a rotation by a constant, `$add` a lane-wise
// sum, `$k` a broadcast constant): as macros they expand inside the kernel's function, so in
// the x86 kernels inside the `target_feature` function, where the intrinsics are safe to
// call.
macro_rules! md5_step {
    (@add ($rotl:ident, $add:ident, $k:ident), $x:expr, $y:expr) => {
        $add!($x, $y)
    };
    ($ops:tt, $fun:ident, $w:ident, $x:ident, $y:ident, $z:ident, $m:ident, $gi:expr, $ki:expr, $s:expr) => {
        md5_step!(@ $ops, $fun, $w, $x, $y, $z, $m, $gi, $ki, $s)
    };
    (@ ($rotl:ident, $add:ident, $k:ident), $fun:ident, $w:ident, $x:ident, $y:ident, $z:ident, $m:ident, $gi:expr, $ki:expr, $s:expr) => {
        $w = $add!(
            $x,
            $rotl!($add!($add!($fun!($x, $y, $z), $w), $add!($k!(K[$ki]), $m[$gi])), $s)
        );
    };
}

macro_rules! md5_round {
    ($ops:tt, $fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:ident, $k0:expr, $g:expr, $s:expr) => {{
        let g: [usize; 16] = $g;
        md5_step!($ops, $fun, $a, $b, $c, $d, $m, g[0], $k0, $s[0]);
        md5_step!($ops, $fun, $d, $a, $b, $c, $m, g[1], $k0 + 1, $s[1]);
        md5_step!($ops, $fun, $c, $d, $a, $b, $m, g[2], $k0 + 2, $s[2]);
        md5_step!($ops, $fun, $b, $c, $d, $a, $m, g[3], $k0 + 3, $s[3]);
        md5_step!($ops, $fun, $a, $b, $c, $d, $m, g[4], $k0 + 4, $s[0]);
        md5_step!($ops, $fun, $d, $a, $b, $c, $m, g[5], $k0 + 5, $s[1]);
        md5_step!($ops, $fun, $c, $d, $a, $b, $m, g[6], $k0 + 6, $s[2]);
        md5_step!($ops, $fun, $b, $c, $d, $a, $m, g[7], $k0 + 7, $s[3]);
        md5_step!($ops, $fun, $a, $b, $c, $d, $m, g[8], $k0 + 8, $s[0]);
        md5_step!($ops, $fun, $d, $a, $b, $c, $m, g[9], $k0 + 9, $s[1]);
        md5_step!($ops, $fun, $c, $d, $a, $b, $m, g[10], $k0 + 10, $s[2]);
        md5_step!($ops, $fun, $b, $c, $d, $a, $m, g[11], $k0 + 11, $s[3]);
        md5_step!($ops, $fun, $a, $b, $c, $d, $m, g[12], $k0 + 12, $s[0]);
        md5_step!($ops, $fun, $d, $a, $b, $c, $m, g[13], $k0 + 13, $s[1]);
        md5_step!($ops, $fun, $c, $d, $a, $b, $m, g[14], $k0 + 14, $s[2]);
        md5_step!($ops, $fun, $b, $c, $d, $a, $m, g[15], $k0 + 15, $s[3]);
    }};
}

macro_rules! md5_block {
    ($ops:tt, ($f:ident, $g:ident, $h:ident, $i:ident), $a:ident, $b:ident, $c:ident, $d:ident, $m:ident) => {{
        let (aa, bb, cc, dd) = ($a, $b, $c, $d);
        md5_round!(
            $ops,
            $f,
            $a,
            $b,
            $c,
            $d,
            $m,
            0,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            [7, 12, 17, 22]
        );
        md5_round!(
            $ops,
            $g,
            $a,
            $b,
            $c,
            $d,
            $m,
            16,
            [1, 6, 11, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12],
            [5, 9, 14, 20]
        );
        md5_round!(
            $ops,
            $h,
            $a,
            $b,
            $c,
            $d,
            $m,
            32,
            [5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2],
            [4, 11, 16, 23]
        );
        md5_round!(
            $ops,
            $i,
            $a,
            $b,
            $c,
            $d,
            $m,
            48,
            [0, 7, 14, 5, 12, 3, 10, 1, 8, 15, 6, 13, 4, 11, 2, 9],
            [6, 10, 15, 21]
        );
        $a = md5_step!(@add $ops, $a, aa);
        $b = md5_step!(@add $ops, $b, bb);
        $c = md5_step!(@add $ops, $c, cc);
        $d = md5_step!(@add $ops, $d, dd);
    }};
}

impl<const N: usize> State<N> {
    #[inline(always)]
    fn set_lane(&mut self, lane: usize, chain: &Chain) {
        self.a.0[lane] = chain[0];
        self.b.0[lane] = chain[1];
        self.c.0[lane] = chain[2];
        self.d.0[lane] = chain[3];
    }

    #[inline(always)]
    fn lane(&self, lane: usize) -> Chain {
        [
            self.a.0[lane],
            self.b.0[lane],
            self.c.0[lane],
            self.d.0[lane],
        ]
    }

    /// Runs one 64-byte block per lane.
    #[inline(always)]
    fn compress(&mut self, blocks: [&[u8; 64]; N]) {
        let mut m = [Words::<N>::splat(0); 16];
        for (lane, block) in blocks.iter().enumerate() {
            for (word, bytes) in m.iter_mut().zip(block.as_chunks::<4>().0) {
                word.0[lane] = u32::from_le_bytes(*bytes);
            }
        }
        self.compress_words(&m);
    }

    #[inline(always)]
    fn compress_words(&mut self, m: &[Words<N>; 16]) {
        let (mut a, mut b, mut c, mut d) = (self.a, self.b, self.c, self.d);
        macro_rules! add {
            ($x:expr, $y:expr) => {
                $x.add($y)
            };
        }
        macro_rules! k {
            ($value:expr) => {
                Words::<N>::splat($value)
            };
        }
        macro_rules! rotl {
            ($x:expr, $s:expr) => {
                $x.rotl::<{ $s }>()
            };
        }
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {
                $b.and($c).or($b.not().and($d))
            };
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {
                $d.and($b).or($d.not().and($c))
            };
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {
                $b.xor($c).xor($d)
            };
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {
                $c.xor($b.or($d.not()))
            };
        }
        md5_block!((rotl, add, k), (f, g, h, i), a, b, c, d, m);
        (self.a, self.b, self.c, self.d) = (a, b, c, d);
    }
}

/// The digest of a message whose padded blocks have all gone through `chain`.
#[must_use]
pub fn digest(chain: &Chain) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (bytes, word) in out.as_chunks_mut::<4>().0.iter_mut().zip(chain) {
        *bytes = word.to_le_bytes();
    }
    out
}

/// Appends MD5's padding for a message of `len` bytes to `out`, which holds the message's
/// last `len % 64` bytes: afterwards `out` is one or two whole blocks.
pub fn pad(len: u64, out: &mut Vec<u8>) {
    out.push(0x80);
    while out.len() % 64 != 56 {
        out.push(0);
    }
    out.extend_from_slice(&len.wrapping_mul(8).to_le_bytes());
}

/// How [`compress_lanes`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// One message at a time (the `md-5` crate's compression function).
    Scalar,
    /// Four messages interleaved, in portable code.
    Lanes,
    /// Up to 8 messages in AVX2 registers, or 16 as two groups of 8 whose steps are
    /// interleaved (when more than 8 wait).
    Avx2,
    /// Up to 16 messages in AVX-512 registers (with its rotate and ternary-logic
    /// instructions), or 8 as [`Kernel::Avx2`] (AVX-512's instructions on 8 lanes measured no
    /// faster).
    Avx512,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    ///
    /// Unoptimised builds (the tests') use [`Kernel::Scalar`]: the lane code relies on the
    /// optimiser and runs at a few MB/s without it, while `md-5` is an optimised dependency.
    /// The tests check every kernel against it directly.
    #[must_use]
    pub fn best() -> Self {
        if cfg!(debug_assertions) {
            Self::Scalar
        } else {
            Self::fastest_available()
        }
    }

    /// The fastest kernel this CPU runs, whatever the build.
    #[must_use]
    pub fn fastest_available() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Self::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Self::Avx2;
            }
        }
        Self::Lanes
    }

    /// Every kernel this CPU runs.
    #[must_use]
    pub fn available() -> Vec<Self> {
        let mut all = vec![Self::Scalar, Self::Lanes];
        match Self::fastest_available() {
            Self::Avx512 => all.extend([Self::Avx2, Self::Avx512]),
            Self::Avx2 => all.push(Self::Avx2),
            Self::Scalar | Self::Lanes => {}
        }
        all
    }

    /// The group this kernel runs for `count` messages: 16 lanes cost more than 8 (twice as
    /// much in AVX-512, 1.3 times in two groups of AVX2), so 16 only pay when more than 8
    /// messages wait.
    fn width(self, count: usize) -> usize {
        match self {
            Self::Scalar => 1,
            Self::Lanes => 4,
            Self::Avx2 => {
                if count > 8 {
                    16
                } else {
                    8
                }
            }
            Self::Avx512 => {
                if count > 8 {
                    16
                } else {
                    8
                }
            }
        }
    }
}

/// Runs the first `blocks` 64-byte blocks of every input through its chaining value.
///
/// # Panics
/// When `chains` and `inputs` differ in length or an input is shorter than `blocks` blocks.
pub fn compress_lanes(kernel: Kernel, chains: &mut [Chain], inputs: &[&[u8]], blocks: usize) {
    assert_eq!(chains.len(), inputs.len(), "one input per chaining value");
    let inputs: Vec<&[[u8; 64]]> = inputs
        .iter()
        .map(|input| &input.as_chunks::<64>().0[..blocks])
        .collect();
    let mut done = 0;
    while done < chains.len() {
        // One message alone runs fastest as plain MD5 (SIMD lanes pay off from two).
        let kernel = if chains.len() - done == 1 {
            Kernel::Scalar
        } else {
            kernel
        };
        let width = kernel.width(chains.len() - done);
        let end = (done + width).min(chains.len());
        let (chains, inputs) = (&mut chains[done..end], &inputs[done..end]);
        match (kernel, width) {
            (Kernel::Scalar, _) => {
                for (chain, input) in chains.iter_mut().zip(inputs) {
                    md5::block_api::compress(chain, input);
                }
            }
            (Kernel::Lanes, _) => lanes::<4>(chains, inputs),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, 16) => avx2x2(chains, inputs),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, _) | (Kernel::Avx512, 8) => avx2(chains, inputs),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, _) => avx512(chains, inputs),
            #[cfg(not(target_arch = "x86_64"))]
            (Kernel::Avx2 | Kernel::Avx512, _) => lanes::<4>(chains, inputs),
        }
        done = end;
    }
}

/// `W` lanes over up to `W` messages of equal length; missing lanes repeat the first
/// message and their result is dropped.
#[inline(always)]
fn lanes<const W: usize>(chains: &mut [Chain], inputs: &[&[[u8; 64]]]) {
    let Some(first) = inputs.first() else {
        return;
    };
    let mut state = State::<W>::default();
    for (lane, chain) in chains.iter().enumerate() {
        state.set_lane(lane, chain);
    }
    let sources: [&[[u8; 64]]; W] = std::array::from_fn(|lane| *inputs.get(lane).unwrap_or(first));
    // The lane index picks the source, the block index the block: a range loop is clearest.
    #[allow(clippy::needless_range_loop)]
    for block in 0..first.len() {
        state.compress(std::array::from_fn(|lane| &sources[lane][block]));
    }
    for (lane, chain) in chains.iter_mut().enumerate() {
        *chain = state.lane(lane);
    }
}

/// The same 64 steps with explicit SIMD instructions: the optimiser does not vectorise the
/// portable lanes reliably (it did for `-C target-cpu=native` only).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::{
        __m256i, __m512i, _mm_cvtsi32_si128, _mm256_add_epi32, _mm256_and_si256,
        _mm256_andnot_si256, _mm256_or_si256, _mm256_permute2x128_si256, _mm256_set1_epi32,
        _mm256_sll_epi32, _mm256_srl_epi32, _mm256_unpackhi_epi32, _mm256_unpackhi_epi64,
        _mm256_unpacklo_epi32, _mm256_unpacklo_epi64, _mm256_xor_si256, _mm512_add_epi32,
        _mm512_castsi256_si512, _mm512_inserti64x4, _mm512_rol_epi32, _mm512_set1_epi32,
        _mm512_ternarylogic_epi32,
    };

    use super::{Chain, K};

    /// Words 0–15 of block `block` of lanes `first..first + 8`, each word as one vector of
    /// the 8 lanes' values (missing lanes repeat lane 0): an 8×8 transpose per half block.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn words8(sources: &[&[[u8; 64]]], first: usize, block: usize) -> [__m256i; 16] {
        let row = |lane: usize, half: usize| {
            let lane = if first + lane < sources.len() {
                first + lane
            } else {
                0
            };
            v32(sources[lane][block].as_chunks::<32>().0[half])
        };
        let mut out = [v8([0; 8]); 16];
        for half in 0..2 {
            let r: [__m256i; 8] = std::array::from_fn(|lane| row(lane, half));
            let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
            let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
            let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
            let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
            let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
            let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
            let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
            let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
            // Words (0, 4), (1, 5), (2, 6), (3, 7) of lanes 0–3, then of lanes 4–7.
            let u0 = _mm256_unpacklo_epi64(t0, t2);
            let u1 = _mm256_unpackhi_epi64(t0, t2);
            let u2 = _mm256_unpacklo_epi64(t1, t3);
            let u3 = _mm256_unpackhi_epi64(t1, t3);
            let u4 = _mm256_unpacklo_epi64(t4, t6);
            let u5 = _mm256_unpackhi_epi64(t4, t6);
            let u6 = _mm256_unpacklo_epi64(t5, t7);
            let u7 = _mm256_unpackhi_epi64(t5, t7);
            let o = &mut out[half * 8..half * 8 + 8];
            o[0] = _mm256_permute2x128_si256::<0x20>(u0, u4);
            o[1] = _mm256_permute2x128_si256::<0x20>(u1, u5);
            o[2] = _mm256_permute2x128_si256::<0x20>(u2, u6);
            o[3] = _mm256_permute2x128_si256::<0x20>(u3, u7);
            o[4] = _mm256_permute2x128_si256::<0x31>(u0, u4);
            o[5] = _mm256_permute2x128_si256::<0x31>(u1, u5);
            o[6] = _mm256_permute2x128_si256::<0x31>(u2, u6);
            o[7] = _mm256_permute2x128_si256::<0x31>(u3, u7);
        }
        out
    }

    /// As [`words8`] for 16 lanes.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn words16(sources: &[&[[u8; 64]]], block: usize) -> [__m512i; 16] {
        let low = words8(sources, 0, block);
        let high = words8(sources, 8, block);
        std::array::from_fn(|w| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low[w]), high[w]))
    }

    #[inline(always)]
    fn gather<const W: usize>(chains: &[Chain], word: usize) -> [u32; W] {
        std::array::from_fn(|lane| chains.get(lane).map_or(0, |chain| chain[word]))
    }

    #[inline(always)]
    fn scatter<const W: usize>(chains: &mut [Chain], word: usize, values: [u32; W]) {
        for (chain, value) in chains.iter_mut().zip(values) {
            chain[word] = value;
        }
    }

    fn v8(words: [u32; 8]) -> __m256i {
        // SAFETY: both are 32 plain bytes; every bit pattern is valid for either.
        unsafe { std::mem::transmute::<[u32; 8], __m256i>(words) }
    }

    fn a8(vector: __m256i) -> [u32; 8] {
        // SAFETY: as in `v8`.
        unsafe { std::mem::transmute::<__m256i, [u32; 8]>(vector) }
    }

    fn v32(bytes: [u8; 32]) -> __m256i {
        // SAFETY: both are 32 plain bytes; every bit pattern is valid for either.
        unsafe { std::mem::transmute::<[u8; 32], __m256i>(bytes) }
    }

    fn v16(words: [u32; 16]) -> __m512i {
        // SAFETY: both are 64 plain bytes; every bit pattern is valid for either.
        unsafe { std::mem::transmute::<[u32; 16], __m512i>(words) }
    }

    fn a16(vector: __m512i) -> [u32; 16] {
        // SAFETY: as in `v16`.
        unsafe { std::mem::transmute::<__m512i, [u32; 16]>(vector) }
    }

    /// Runs every block of `$sources` through `$chains`, `$w` lanes in vectors made by `$v` (and
    /// read back by `$a`), with the message words of block `$block` from `$words` and the
    /// `add`/`k`/`rotl` and `f`/`g`/`h`/`i` macros in scope at the call.
    macro_rules! run_blocks {
        ($chains:ident, $sources:ident, $w:literal, $v:ident, $a:ident, $block:ident => $words:expr) => {{
            let Some(first) = $sources.first() else {
                return;
            };
            let mut a = $v(gather::<$w>($chains, 0));
            let mut b = $v(gather::<$w>($chains, 1));
            let mut c = $v(gather::<$w>($chains, 2));
            let mut d = $v(gather::<$w>($chains, 3));
            for $block in 0..first.len() {
                let m = $words;
                md5_block!((rotl, add, k), (f, g, h, i), a, b, c, d, m);
            }
            scatter($chains, 0, $a(a));
            scatter($chains, 1, $a(b));
            scatter($chains, 2, $a(c));
            scatter($chains, 3, $a(d));
        }};
    }

    /// Up to 8 lanes in AVX2 registers.
    #[target_feature(enable = "avx2")]
    pub(super) fn avx2(chains: &mut [Chain], sources: &[&[[u8; 64]]]) {
        macro_rules! add {
            ($x:expr, $y:expr) => {
                _mm256_add_epi32($x, $y)
            };
        }
        macro_rules! k {
            ($value:expr) => {
                _mm256_set1_epi32(($value).cast_signed())
            };
        }
        // A shift by a register: `32 - S` as a constant argument is not stable Rust.
        macro_rules! rotl {
            ($x:expr, $s:expr) => {{
                let x = $x;
                _mm256_or_si256(
                    _mm256_sll_epi32(x, _mm_cvtsi32_si128($s)),
                    _mm256_srl_epi32(x, _mm_cvtsi32_si128(32 - $s)),
                )
            }};
        }
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_or_si256(_mm256_and_si256($b, $c), _mm256_andnot_si256($b, $d))
            };
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_or_si256(_mm256_and_si256($d, $b), _mm256_andnot_si256($d, $c))
            };
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256(_mm256_xor_si256($b, $c), $d)
            };
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256(
                    $c,
                    _mm256_or_si256($b, _mm256_xor_si256($d, _mm256_set1_epi32(-1))),
                )
            };
        }
        run_blocks!(chains, sources, 8, v8, a8, block => words8(sources, 0, block));
    }

    /// Up to 16 lanes as two groups of 8 in AVX2 registers, their steps interleaved. One
    /// group is a chain of dependent steps that leaves most of the vector units waiting on
    /// the previous step's result; the second group's independent steps fill them.
    #[target_feature(enable = "avx2")]
    pub(super) fn avx2x2(chains: &mut [Chain], sources: &[&[[u8; 64]]]) {
        type Pair = (__m256i, __m256i);
        macro_rules! both {
            ($op:ident, $x:expr, $y:expr) => {{
                let (x, y): (Pair, Pair) = ($x, $y);
                ($op(x.0, y.0), $op(x.1, y.1))
            }};
        }
        macro_rules! add {
            ($x:expr, $y:expr) => {
                both!(_mm256_add_epi32, $x, $y)
            };
        }
        macro_rules! k {
            ($value:expr) => {{
                let k = _mm256_set1_epi32(($value).cast_signed());
                (k, k)
            }};
        }
        macro_rules! rotl {
            ($x:expr, $s:expr) => {{
                let x: Pair = $x;
                let (left, right) = (_mm_cvtsi32_si128($s), _mm_cvtsi32_si128(32 - $s));
                (
                    _mm256_or_si256(_mm256_sll_epi32(x.0, left), _mm256_srl_epi32(x.0, right)),
                    _mm256_or_si256(_mm256_sll_epi32(x.1, left), _mm256_srl_epi32(x.1, right)),
                )
            }};
        }
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {{
                let (b, c, d): (Pair, Pair, Pair) = ($b, $c, $d);
                both!(
                    _mm256_or_si256,
                    both!(_mm256_and_si256, b, c),
                    both!(_mm256_andnot_si256, b, d)
                )
            }};
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {{
                let (b, c, d): (Pair, Pair, Pair) = ($b, $c, $d);
                both!(
                    _mm256_or_si256,
                    both!(_mm256_and_si256, d, b),
                    both!(_mm256_andnot_si256, d, c)
                )
            }};
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {{
                let (b, c, d): (Pair, Pair, Pair) = ($b, $c, $d);
                both!(_mm256_xor_si256, both!(_mm256_xor_si256, b, c), d)
            }};
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {{
                let (b, c, d): (Pair, Pair, Pair) = ($b, $c, $d);
                let ones = _mm256_set1_epi32(-1);
                both!(
                    _mm256_xor_si256,
                    c,
                    both!(_mm256_or_si256, b, both!(_mm256_xor_si256, d, (ones, ones)))
                )
            }};
        }
        let pair = |words: [u32; 16]| -> Pair {
            let (low, high) = words.split_at(8);
            let half = |words: &[u32]| v8(std::array::from_fn(|lane| words[lane]));
            (half(low), half(high))
        };
        let unpair = |(low, high): Pair| -> [u32; 16] {
            let (low, high) = (a8(low), a8(high));
            std::array::from_fn(|lane| if lane < 8 { low[lane] } else { high[lane - 8] })
        };
        run_blocks!(chains, sources, 16, pair, unpair, block => {
            let low = words8(sources, 0, block);
            let high = words8(sources, 8, block);
            std::array::from_fn::<Pair, 16, _>(|w| (low[w], high[w]))
        });
    }

    /// Up to 16 lanes in AVX-512 registers, with its rotate and ternary-logic instructions.
    #[target_feature(enable = "avx512f")]
    pub(super) fn avx512(chains: &mut [Chain], sources: &[&[[u8; 64]]]) {
        macro_rules! add {
            ($x:expr, $y:expr) => {
                _mm512_add_epi32($x, $y)
            };
        }
        macro_rules! k {
            ($value:expr) => {
                _mm512_set1_epi32(($value).cast_signed())
            };
        }
        macro_rules! rotl {
            ($x:expr, $s:expr) => {
                _mm512_rol_epi32::<{ $s }>($x)
            };
        }
        // Truth tables over (b, c, d) = (0xF0, 0xCC, 0xAA).
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {
                _mm512_ternarylogic_epi32::<0xCA>($b, $c, $d)
            };
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {
                _mm512_ternarylogic_epi32::<0xE4>($b, $c, $d)
            };
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {
                _mm512_ternarylogic_epi32::<0x96>($b, $c, $d)
            };
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {
                _mm512_ternarylogic_epi32::<0x39>($b, $c, $d)
            };
        }
        run_blocks!(chains, sources, 16, v16, a16, block => words16(sources, block));
    }
}

/// An x86 kernel that needs CPU features beyond the build's.
#[cfg(target_arch = "x86_64")]
type Unchecked = unsafe fn(&mut [Chain], &[&[[u8; 64]]]);

/// Runs `kernel` when the CPU has the features it needs (`has_features`), the portable
/// lanes otherwise.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn checked(has_features: bool, kernel: Unchecked, chains: &mut [Chain], inputs: &[&[[u8; 64]]]) {
    if has_features {
        // SAFETY: the kernel needs only the features the caller just checked the CPU for.
        unsafe { kernel(chains, inputs) }
    } else {
        lanes::<4>(chains, inputs);
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2(chains: &mut [Chain], inputs: &[&[[u8; 64]]]) {
    checked(
        std::arch::is_x86_feature_detected!("avx2"),
        x86::avx2,
        chains,
        inputs,
    );
}

#[cfg(target_arch = "x86_64")]
fn avx2x2(chains: &mut [Chain], inputs: &[&[[u8; 64]]]) {
    checked(
        is_x86_feature_detected!("avx2"),
        x86::avx2x2,
        chains,
        inputs,
    );
}

#[cfg(target_arch = "x86_64")]
fn avx512(chains: &mut [Chain], inputs: &[&[[u8; 64]]]) {
    checked(
        is_x86_feature_detected!("avx512f"),
        x86::avx512,
        chains,
        inputs,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    fn message(len: usize, seed: usize) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from((i * 131 + seed * 7919 + i / 251) % 256).unwrap())
            .collect()
    }

    /// Hashes `messages` (any lengths) together the way the part hasher does: whole blocks
    /// side by side, then each lane's padded tail.
    fn md5_all(kernel: Kernel, messages: &[Vec<u8>]) -> Vec<[u8; 16]> {
        let padded: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| {
                let mut v = m.clone();
                pad(m.len() as u64, &mut v);
                v
            })
            .collect();
        // Hash the common prefix of blocks together, then the rest lane by lane.
        let common = padded.iter().map(|p| p.len() / 64).min().unwrap();
        let mut chains = vec![IV; messages.len()];
        let inputs: Vec<&[u8]> = padded.iter().map(Vec::as_slice).collect();
        compress_lanes(kernel, &mut chains, &inputs, common);
        for (chain, p) in chains.iter_mut().zip(&padded) {
            let rest = &p[common * 64..];
            compress_lanes(
                kernel,
                std::slice::from_mut(chain),
                &[rest],
                rest.len() / 64,
            );
        }
        chains.iter().map(digest).collect()
    }

    #[test]
    fn every_kernel_matches_md5_for_every_width_and_length() {
        let lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4096, 5000];
        for kernel in Kernel::available() {
            for count in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33] {
                let messages: Vec<Vec<u8>> = (0..count)
                    .map(|i| message(lengths[i % lengths.len()], i))
                    .collect();
                let got = md5_all(kernel, &messages);
                for (i, m) in messages.iter().enumerate() {
                    let want: [u8; 16] = Md5::digest(m).into();
                    assert_eq!(got[i], want, "{kernel:?}, {count} messages, lane {i}");
                }
            }
        }
    }

    #[test]
    fn the_best_kernel_is_one_this_cpu_runs() {
        assert!(Kernel::available().contains(&Kernel::best()));
        assert!(Kernel::available().contains(&Kernel::fastest_available()));
    }
}
