//! Prints the aggregate throughput of every MD5 kernel this CPU runs, for 1, 4, 8, 12 and 16
//! messages hashed side by side (see `voddesk::tencent::md5x`).
//!
//! Run: `cargo bench --bench md5_lanes` (release build). The upload benchmark,
//! `scripts/bench_upload.sh`, shows what the kernels are worth end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use voddesk::tencent::md5x::{Kernel, compress_lanes};

/// Bytes per message per timed run (a part's chunk is 512 KiB).
const MESSAGE: usize = 512 * 1024;
const RUNS: usize = 9;

fn main() {
    let data: Vec<Vec<u8>> = (0..16u32)
        .map(|m| {
            (0..MESSAGE as u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) ^ m) as u8)
                .collect()
        })
        .collect();
    println!("kernel     messages   GB/s (median of {RUNS})");
    for kernel in Kernel::available() {
        for count in [1usize, 4, 8, 12, 16] {
            let inputs: Vec<&[u8]> = data[..count].iter().map(Vec::as_slice).collect();
            let mut rates = Vec::new();
            for _ in 0..RUNS {
                let mut chains = vec![[0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]; count];
                let start = Instant::now();
                compress_lanes(kernel, &mut chains, &inputs, MESSAGE / 64);
                let seconds = start.elapsed().as_secs_f64();
                std::hint::black_box(&chains);
                rates.push((count * MESSAGE) as f64 / seconds / 1e9);
            }
            rates.sort_by(f64::total_cmp);
            println!(
                "{:<10} {count:>8}   {:.2}",
                format!("{kernel:?}"),
                rates[RUNS / 2]
            );
        }
    }
}
