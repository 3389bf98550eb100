//! The one integration test binary (one link, as ripgrep does): each module is one area.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_sign;
mod protocol_vectors;
mod publish_e2e;
mod support;
mod wecom_e2e;
