//! `voddesk upload`, `voddesk queue [resume]`: the upload engine from the command line.
//!
//! The same engine and queue database as the desktop app: re-running `upload` on a file whose
//! upload was interrupted resumes it.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};

use super::{CliError, GlobalArgs};
use crate::config::ServiceConfig;
use crate::engine::api::{
    Command, Destination, Event, ItemId, ItemOptions, ItemState, MAX_PARALLEL_PARTS, NewItem,
    Progress, PublishState, StallReason, UploadFlow, UserError,
};
use crate::engine::{Engine, EngineConfig, EngineHandle, validate};
use crate::store::{ItemRecord, Store};

mod queue;
mod results;

pub use queue::{QueueArgs, run_queue};
use results::print_results;

/// Which upload flow to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowArg {
    /// ApplyUploadUGC → COS → CommitUploadUGC with an upload signature (the default).
    Client,
    /// ApplyUpload → COS → CommitUpload with the API key.
    Server,
}

/// `voddesk upload`.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// Files and folders (folders are searched recursively for supported media).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Cover image (default: an image with the same name beside each file).
    #[arg(long)]
    pub cover: Option<PathBuf>,
    /// Task flow to run after upload.
    #[arg(long)]
    pub procedure: Option<String>,
    /// Category id.
    #[arg(long)]
    pub class_id: Option<i64>,
    /// Up to 250 characters, echoed in the upload callback.
    #[arg(long)]
    pub source_context: Option<String>,
    /// Expiry time, RFC 3339 (e.g. 2030-01-01T00:00:00Z).
    #[arg(long)]
    pub expire_time: Option<String>,
    /// Media name (default: the file name without extension).
    #[arg(long)]
    pub media_name: Option<String>,
    /// Storage region, e.g. ap-chongqing.
    #[arg(long)]
    pub storage_region: Option<String>,
    /// Part size in bytes, or with a unit: 8M or 8MiB (MiB), 8MB (10^6 bytes); at least
    /// 1 MiB. When absent each part is sized to the measured link (about a second of it).
    #[arg(long, value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// The most parts (and small files) in flight at once, 1 to 32. Below that cap, how
    /// many go at once follows the measured link.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Upload flow.
    #[arg(long, value_enum)]
    pub flow: Option<FlowArg>,
    /// One JSON object per file and line on stdout; progress as JSON lines on stderr.
    #[arg(long)]
    pub json: bool,
}

/// The engine as the app would run it: the saved settings' defaults and tuning, under the
/// service configuration of flags and environment. `flow` is the one asked for on the
/// command line: the server API flow needs the API key even where a signature service is
/// named.
fn engine_config(global: &GlobalArgs, flow: Option<FlowArg>) -> Result<EngineConfig, CliError> {
    let service: ServiceConfig = global.service_config();
    if service.credentials.is_none() {
        if flow == Some(FlowArg::Server) {
            return Err(super::no_api_key(false));
        }
        if service.signature_url.is_none() {
            return Err(super::no_api_key(true));
        }
    }
    let saved = global.saved_settings();
    Ok(EngineConfig {
        tuning: saved.tuning(),
        default_flow: saved.flow,
        defaults: saved.item_defaults(),
        ..EngineConfig::new(service)
    })
}

fn start(
    config: EngineConfig,
    runtime: &tokio::runtime::Runtime,
) -> Result<EngineHandle, CliError> {
    Engine::start(config, runtime.handle(), Arc::new(|| {}))
        .map_err(|err| CliError::failure(format!("cannot open the upload queue: {err:#}")))
}

/// What became of one file.
enum Outcome {
    Done(ItemState),
    Failed(UserError),
    Cancelled,
}

/// Follows items to their end, printing progress on a terminal.
struct Tracker {
    names: HashMap<ItemId, String>,
    sizes: HashMap<ItemId, u64>,
    outcomes: BTreeMap<ItemId, Outcome>,
    tty: bool,
    progress_shown: bool,
    /// Progress as JSON lines on stderr (with `--json`), at most once a second an item.
    json: bool,
    last_json: HashMap<ItemId, (std::time::Instant, bool)>,
}

impl Tracker {
    fn new() -> Self {
        Self {
            names: HashMap::new(),
            sizes: HashMap::new(),
            outcomes: BTreeMap::new(),
            tty: std::io::stderr().is_terminal(),
            progress_shown: false,
            json: false,
            last_json: HashMap::new(),
        }
    }

    fn clear_line(&mut self) {
        if self.progress_shown {
            eprint!("\r\x1b[K");
            self.progress_shown = false;
        }
    }

    fn progress(&mut self, id: ItemId, progress: &Progress) {
        if self.json {
            self.json_progress(id, progress);
            return;
        }
        if !self.tty {
            return;
        }
        let Some(name) = self.names.get(&id) else {
            return;
        };
        let percent = if progress.bytes_total > 0 {
            progress.bytes_done as f64 * 100.0 / progress.bytes_total as f64
        } else {
            0.0
        };
        let mut line = format!(
            "{name}: {percent:.1}% of {:.1} MiB",
            progress.bytes_total as f64 / 1_048_576.0,
        );
        // What is on its way is not progress yet: a pause or crash may send it again.
        if progress.in_flight >= 1 << 20 {
            line.push_str(&format!(
                " (+{:.1} MiB on the way)",
                progress.in_flight as f64 / 1_048_576.0
            ));
        }
        // No speed yet (the first half second), or none for the last 10 s: said by leaving
        // it out, as the app does, rather than as 0.
        if progress.speed >= 1.0 {
            line.push_str(&format!(", {:.1} MiB/s", progress.speed / 1_048_576.0));
        }
        if let Some(eta) = progress.eta {
            line.push_str(&format!(", {} s left", eta.as_secs()));
        }
        if let Some(stall) = &progress.stalled {
            line.push_str(&format!(" ({})", stall_words(stall)));
        }
        eprint!("\r\x1b[K{line}");
        let _ = std::io::stderr().flush();
        self.progress_shown = true;
    }

    /// A JSON progress line on stderr: acknowledged bytes, bytes on their way apart.
    fn json_progress(&mut self, id: ItemId, progress: &Progress) {
        let Some(name) = self.names.get(&id) else {
            return;
        };
        let now = std::time::Instant::now();
        let finished = progress.bytes_done == progress.bytes_total;
        // Once a second, and the end once.
        let due = match self.last_json.get(&id) {
            None => true,
            Some((_, true)) => false,
            Some((at, false)) => {
                finished || now.duration_since(*at) >= std::time::Duration::from_secs(1)
            }
        };
        if !due {
            return;
        }
        self.last_json.insert(id, (now, finished));
        eprintln!(
            "{}",
            serde_json::json!({
                "progress": name,
                "bytes_done": progress.bytes_done,
                "in_flight_bytes": progress.in_flight,
                "bytes_total": progress.bytes_total,
                "speed": (progress.speed >= 1.0).then_some(progress.speed.round()),
                "eta_secs": progress.eta.map(|eta| eta.as_secs()),
            })
        );
    }

    /// Handles an event about a tracked item; returns whether every tracked item has ended.
    fn event(&mut self, event: &Event) {
        match event {
            Event::StateChanged { id, state } if self.names.contains_key(id) => match state {
                ItemState::Done { .. } => {
                    self.outcomes.insert(*id, Outcome::Done(state.clone()));
                }
                ItemState::Failed(err) => {
                    self.outcomes.insert(*id, Outcome::Failed(err.clone()));
                }
                ItemState::Cancelled => {
                    self.outcomes.insert(*id, Outcome::Cancelled);
                }
                _ => {
                    self.outcomes.remove(id);
                }
            },
            Event::Progress { id, progress } => self.progress(*id, progress),
            Event::Notice { id, message } if self.names.contains_key(id) => {
                self.clear_line();
                eprintln!("note: {message}");
            }
            _ => {}
        }
    }

    fn all_ended(&self) -> bool {
        self.names.keys().all(|id| self.outcomes.contains_key(id))
    }
}

/// A size in bytes: a whole number, optionally followed by a unit: K, M, G, KiB, MiB or GiB
/// (powers of 1024), or KB, MB or GB (powers of 1000), in either case.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 8388608, 8M or 8MiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit; use bytes, K, M, G, KiB, MiB, GiB, KB, MB or GB"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn options_from(args: &UploadArgs) -> ItemOptions {
    ItemOptions {
        media_name: args.media_name.clone(),
        cover: args.cover.clone(),
        procedure: args.procedure.clone(),
        class_id: args.class_id,
        expire_time: args.expire_time.clone(),
        source_context: args.source_context.clone(),
        storage_region: args.storage_region.clone(),
        sub_app_id: None,
        part_size: args.part_size,
        flow: args.flow.map(|f| match f {
            FlowArg::Client => UploadFlow::ClientUpload,
            FlowArg::Server => UploadFlow::ServerApi,
        }),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Runs `voddesk upload`.
///
/// # Errors
/// Bad usage, no credentials, or any file that did not upload (after the others finished).
pub fn run_upload(
    args: &UploadArgs,
    global: &GlobalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let config = upload_config(args, global)?;
    let data_dir = config.service.data_dir.clone();
    let files = files_to_send(args)?;
    let options = options_from(args);
    // Options wrong for every file are bad usage, said once.
    validate::check_options(&options).map_err(CliError::usage)?;
    let mut engine = start(config, runtime)?;
    let ok = runtime.block_on(async {
        let mut tracker = Tracker::new();
        tracker.json = args.json;
        let mut interrupt = super::Interrupt::listen();
        let Some(Event::Loaded(loaded)) = engine.recv().await else {
            return Err(CliError::failure("the upload engine did not start"));
        };
        let existing: HashMap<PathBuf, ItemId> = loaded
            .iter()
            .filter(|s| !matches!(s.state, ItemState::Done { .. } | ItemState::Cancelled))
            .map(|s| (s.path.clone(), s.id))
            .collect();
        // The engine gets each file by its absolute path, as the app gives it (so that an
        // item the app queued is found again); the results name it as it was given. A file
        // named twice was already left out by `expand_paths`.
        let sent: Vec<PathBuf> = files.iter().map(|path| absolute(path)).collect();
        let items: Vec<NewItem> = sent
            .iter()
            .map(|path| NewItem {
                path: path.clone(),
                destination: Destination::Vod,
                options: options.clone(),
            })
            .collect();
        let _ = engine.send(Command::Add(items)).await;
        let order = claim(&mut engine, &mut tracker, &files, &sent, &existing).await;
        follow(engine, &mut tracker, &mut interrupt).await;
        let store = Store::open_in(&data_dir).ok();
        Ok(print_results(
            &mut tracker,
            &order,
            store.as_ref(),
            args.json,
        ))
    })?;
    if ok {
        Ok(())
    } else {
        Err(CliError::failure_quiet())
    }
}

/// The engine's configuration for `upload`: `--concurrency` checked and set as the cap, and
/// no resuming of other items (`queue resume` does that).
fn upload_config(args: &UploadArgs, global: &GlobalArgs) -> Result<EngineConfig, CliError> {
    if let Some(concurrency) = args.concurrency
        && !(1..=MAX_PARALLEL_PARTS).contains(&concurrency)
    {
        return Err(CliError::usage(format!(
            "--concurrency (the most parts in flight at once) must be from 1 to {MAX_PARALLEL_PARTS}; leave it out to follow the link"
        )));
    }
    let mut config = engine_config(global, args.flow)?;
    config.auto_resume = false;
    if let Some(concurrency) = args.concurrency {
        config.tuning.parallel_parts = concurrency;
    }
    Ok(config)
}

/// The media files the paths name (folders walked), with a note for each left out and for
/// each no larger than `--part-size`.
fn files_to_send(args: &UploadArgs) -> Result<Vec<PathBuf>, CliError> {
    let (files, skipped) = validate::expand_paths(&args.paths);
    for (path, reason) in &skipped {
        eprintln!("note: skipped {}: {reason}", path.display());
    }
    if files.is_empty() {
        return Err(CliError::failure("no supported media files were given"));
    }
    if let Some(part) = args.part_size {
        for file in &files {
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            if size > 0 && size <= part {
                eprintln!(
                    "note: {} ({:.1} MiB) is not larger than --part-size ({:.1} MiB): it is sent in one request",
                    file.display(),
                    size as f64 / 1_048_576.0,
                    part as f64 / 1_048_576.0
                );
            }
        }
    }
    Ok(files)
}

/// The engine's answer for each file, in order: rejected (with why), added, or an unfinished
/// item resumed; as `(name as given, item, reason)`. Events of other kinds that come
/// meanwhile go to the tracker after.
async fn claim(
    engine: &mut EngineHandle,
    tracker: &mut Tracker,
    files: &[PathBuf],
    sent: &[PathBuf],
    existing: &HashMap<PathBuf, ItemId>,
) -> Vec<(String, Option<ItemId>, Option<String>)> {
    let mut order: Vec<(String, Option<ItemId>, Option<String>)> = Vec::new();
    let mut waiting: Vec<(&PathBuf, &PathBuf)> = files.iter().zip(sent).collect();
    let mut early: Vec<Event> = Vec::new();
    while !waiting.is_empty() {
        let Some(event) = engine.recv().await else {
            break;
        };
        let (given, path) = waiting[0];
        let shown = given.display().to_string();
        match &event {
            Event::Rejected { path: rejected, .. } if rejected == path => {
                if let Event::Rejected { reason, .. } = event {
                    order.push((shown, None, Some(reason)));
                }
                waiting.remove(0);
            }
            Event::Added(snapshot) if &snapshot.path == path => {
                tracker.names.insert(snapshot.id, shown.clone());
                tracker.sizes.insert(snapshot.id, snapshot.size);
                order.push((shown, Some(snapshot.id), None));
                waiting.remove(0);
            }
            // An unfinished item queued again answers with its state. Nothing else runs in
            // this process before it is claimed, so an unclaimed id is this file's.
            Event::StateChanged { id, .. }
                if existing.get(path) == Some(id) || !tracker.names.contains_key(id) =>
            {
                tracker.names.insert(*id, shown.clone());
                order.push((shown, Some(*id), None));
                waiting.remove(0);
                early.push(event);
            }
            _ => early.push(event),
        }
    }
    for event in &early {
        tracker.event(event);
    }
    order
}

/// Follows the items until each has ended, or until Ctrl-C: then the engine stops like a
/// pause (parts about to finish finish, at most 3 s), and a second Ctrl-C quits at once.
async fn follow(mut engine: EngineHandle, tracker: &mut Tracker, interrupt: &mut super::Interrupt) {
    let mut interrupted = false;
    while !tracker.all_ended() {
        tokio::select! {
            event = engine.recv() => match event {
                Some(event) => tracker.event(&event),
                None => break,
            },
            () = interrupt.recv() => {
                interrupted = true;
                break;
            }
        }
    }
    if interrupted {
        tracker.clear_line();
        eprintln!(
            "note: stopping: parts about to finish may finish (at most 3 s); Ctrl-C again quits at once"
        );
    }
    let rest = tokio::select! {
        rest = engine.shutdown() => rest,
        () = interrupt.recv(), if interrupted => Vec::new(),
    };
    for event in &rest {
        tracker.event(event);
    }
}

/// Why progress stalled, in a few words for the progress line.
fn stall_words(stall: &StallReason) -> String {
    match stall {
        StallReason::Offline => "offline, waiting for the network".to_owned(),
        StallReason::Retrying { attempt, reason } => {
            // The first sentence of the reason is enough on one line.
            let short = reason.split(" (").next().unwrap_or(reason);
            format!("retrying, attempt {attempt}: {short}")
        }
        StallReason::WaitingForCredentials => "renewing credentials".to_owned(),
        StallReason::RateLimited => "the service asked to slow down".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_bytes_and_the_usual_units() {
        assert_eq!(parse_size("8388608"), Ok(8 << 20));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8mib"), Ok(8 << 20));
        assert_eq!(parse_size("16MB"), Ok(16_000_000));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert!(parse_size("2.5M").unwrap_err().contains("unknown unit"));
        assert!(parse_size("MiB").unwrap_err().contains("not a size"));
        assert!(parse_size("8XB").unwrap_err().contains("unknown unit"));
        assert!(
            parse_size("99999999999999G")
                .unwrap_err()
                .contains("too large")
        );
    }
}
