//! The background worker: commands in, events out.
//!
//! See [`api`] for the contract the desktop app and the CLI use.

pub mod api;
pub mod publish;
pub mod publisher;
