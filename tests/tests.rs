//! The one integration test binary (one link, as ripgrep does): each module is one area.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_sign;
mod cli_upload;
mod conformance;
mod e2e_support;
mod emulator_cli;
mod emulator_cos;
mod emulator_support;
mod emulator_ugc;
mod emulator_vod;
mod emulator_wecom;
mod engine_link;
mod engine_publish;
mod engine_upload;
mod engine_wecom;
mod gui_app;
mod gui_demo;
mod gui_publish;
mod gui_settings;
mod gui_snapshot;
mod gui_support;
mod gui_truth;
mod layers;
mod protocol_tolerance;
mod protocol_vectors;
mod publish_e2e;
mod sign_server;
mod support;
mod wecom_download;
mod wecom_e2e;
mod wecom_fake;
