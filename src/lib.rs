//! VodDesk: a desktop upload manager for Tencent Cloud VOD and WeChat publishing.
//!
//! Editors queue video and audio files (with covers); a background tokio worker uploads them
//! resumably to VOD; staff publish finished videos to WeChat and manage the publication. A
//! headless CLI drives the same engine, and an embedded emulator of the cloud APIs lets all of
//! it run with no account and no network.
//!
//! # Layout
//!
//! | module | role |
//! |---|---|
//! | [`tencent`] | sans-IO protocol code (TC3, COS q-sign, upload signatures, CRC-64, models, XML) and the async VOD/COS/client-upload clients |
//! | [`wecom`] | WeChat Work (WeCom) temporary media client |
//! | [`model`] | the queue's plain data (ids, destinations, options, item and publication states), kept by the store and carried by the engine's contract |
//! | [`engine`] | the background worker: commands in, events out; job state machine, multipart driver, retries |
//! | [`store`] | SQLite persistence: migrations, one module per table |
//! | [`emulator`] | an axum server that imitates VOD, COS, client upload and WeCom on loopback |
//! | [`sign_server`] | the team's signature service: per-editor hashed tokens, rates, audit log, TLS |
//! | [`settings`] | what the user saved, read by both front ends: `settings.json`, its environment overrides, and the secrets (keyring or 0600 files) |
//! | [`cli`] | the `voddesk` subcommands over the engine |
//! | [`gui`] | the eframe desktop application |
//! | [`config`] | settings, credentials and the environment variables that override them |
//! | [`qr`] | QR codes for publishing URLs, as pixels or terminal text |

pub mod cli;
pub mod config;
pub mod emulator;
pub mod engine;
pub mod gui;
pub mod model;
pub mod qr;
pub mod settings;
pub mod sign_server;
pub mod store;
pub mod tencent;
pub mod wecom;
