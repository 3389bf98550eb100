//! The one integration test binary (one link, as ripgrep does): each module is one area.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_upload;
mod conformance;
mod emulator_cli;
mod emulator_cos;
mod emulator_support;
mod emulator_ugc;
mod emulator_vod;
mod emulator_wecom;
mod engine_upload;
mod protocol_vectors;
mod support;
