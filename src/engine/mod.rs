//! The background worker: commands in, events out.
//!
//! [`Engine::start`] spawns the worker on a runtime handle and returns an [`EngineHandle`]: a
//! bounded command sender usable with `try_send` from a UI thread, and an event receiver that
//! is drained without blocking ([`EngineHandle::try_recv`]) or awaited
//! ([`EngineHandle::recv`]). After events are sent the `notify` callback runs (the desktop app
//! passes `ctx.request_repaint`). See [`api`] for the contract.
//!
//! Inside: the worker task ([`worker`]) owns the queue and the state machine; each running item
//! is a job task ([`job`]) with its own cancellation token; [`planner`] cuts files into parts;
//! [`validate`] refuses bad input before anything is sent; [`errors`] puts errors in plain
//! words. Everything is persisted in [`crate::store`] as it happens.

pub mod api;
pub mod budget;
pub mod errors;
mod job;
pub mod planner;
pub mod publish;
pub mod publisher;
pub mod validate;
mod worker;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use self::api::{Command, EngineTuning, Event, ItemOptions, UploadFlow};
use crate::config::ServiceConfig;
use crate::store::{Store, StoreError};
use crate::tencent::clock::Clock;
use crate::tencent::error::TencentError;
use crate::tencent::retry::RetryPolicy;
use crate::tencent::throttle::RateLimiter;

pub use self::job::RESUME_WINDOW_SECONDS;

/// Commands waiting for the worker; a UI that sends faster gets `Full` from `try_send`.
pub const COMMAND_CAPACITY: usize = 256;
/// Events waiting for the UI. Progress is dropped when full; transitions wait for room.
pub const EVENT_CAPACITY: usize = 4096;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Credentials, endpoints, data directory.
    pub service: ServiceConfig,
    /// Files and parts in parallel, bandwidth.
    pub tuning: EngineTuning,
    /// The flow of items that do not choose one.
    pub default_flow: UploadFlow,
    /// Settings' defaults for options an item leaves unset.
    pub defaults: ItemOptions,
    /// Whether queued and interrupted items start on their own (the app: yes; `voddesk
    /// upload`: no, it starts only the files it is given).
    pub auto_resume: bool,
    /// Retries of transient errors.
    pub retry: RetryPolicy,
    /// A second WeChat Work application (endpoint and credentials) asked for media the first
    /// does not know (40007) when a copy is saved: the demo emulator's, in demo mode with the
    /// user's own application, which still holds what was sent before it was set up.
    pub wecom_fallback: Option<(String, crate::config::WeComCredentials)>,
}

impl EngineConfig {
    /// Defaults for `service`: client-upload flow, auto-resume on.
    #[must_use]
    pub fn new(service: ServiceConfig) -> Self {
        Self {
            service,
            tuning: EngineTuning::default(),
            default_flow: UploadFlow::default(),
            defaults: ItemOptions::default(),
            auto_resume: true,
            retry: RetryPolicy::default(),
            wecom_fallback: None,
        }
    }
}

/// Why the engine cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Another engine (the app, or another `voddesk upload`) works on this data directory.
    #[error(
        "another VodDesk (the app or a `voddesk upload`) is working on the queue in {}; let it finish or close it, then try again",
        .0.display()
    )]
    Busy(std::path::PathBuf),
    /// The queue database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client.
    #[error(transparent)]
    Http(Box<TencentError>),
}

impl From<TencentError> for EngineError {
    fn from(err: TencentError) -> Self {
        Self::Http(Box::new(err))
    }
}

/// Data directories whose lock an engine of this process holds.
static HELD: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// How long a start waits for an engine of this same process that is winding down (its handle
/// dropped, its jobs still stopping) to let go of the directory.
const WIND_DOWN: std::time::Duration = std::time::Duration::from_secs(10);

/// The data directory's `engine.lock`, held by the worker until its jobs have stopped. The
/// system releases it when the process dies, even by `kill -9`.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: std::fs::File,
    key: std::path::PathBuf,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Ok(mut held) = HELD.lock() {
            held.retain(|dir| dir != &self.key);
        }
    }
}

/// Whether an engine (the app's, or a command line's `upload` or `queue resume`) works on the
/// queue of data directory `dir` now, i.e. another process holds its `engine.lock`. `false`
/// where there is no lock file or the file system has no locks.
#[must_use]
pub fn is_running(dir: &std::path::Path) -> bool {
    let Ok(file) = std::fs::File::open(dir.join("engine.lock")) else {
        return false;
    };
    // Taken here, the lock goes again with `file`.
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// Who holds a data directory's queue, as its `engine.lock` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The holding process.
    pub pid: u32,
    /// What it runs: `app` (the desktop app) or a command line's subcommand (`upload`,
    /// `queue`); `None` when it did not say.
    pub role: Option<String>,
}

/// The subcommands whose name may be written into `engine.lock` (never anything else of the
/// command line, which may carry a secret).
const HOLDER_ROLES: &[&str] = &[
    "upload", "queue", "publish", "suspend", "restore", "delete", "info",
];

/// Writes this process's id and role into the lock file it now holds, so that another
/// process refused the queue can say who has it.
fn record_holder(file: &std::fs::File) {
    use std::io::Write as _;
    let role = match std::env::args().nth(1) {
        None => "app",
        Some(arg) => HOLDER_ROLES
            .iter()
            .copied()
            .find(|role| *role == arg)
            .unwrap_or("voddesk"),
    };
    let mut file = file;
    let written = file
        .set_len(0)
        .and_then(|()| write!(file, "pid={}\nrole={role}\n", std::process::id()));
    if let Err(err) = written {
        tracing::debug!(%err, "cannot note the holder in engine.lock");
    }
}

/// Who holds the queue of data directory `dir`, when another process holds it and said so.
#[must_use]
pub fn lock_holder(dir: &std::path::Path) -> Option<LockHolder> {
    if !is_running(dir) {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("engine.lock")).ok()?;
    let mut pid = None;
    let mut role = None;
    for line in text.lines() {
        match line.split_once('=') {
            Some(("pid", value)) => pid = value.trim().parse().ok(),
            Some(("role", value)) => role = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    Some(LockHolder { pid: pid?, role })
}

/// Takes the data directory's lock: at once when free, after a wait when an engine of this
/// process is still winding down on it, never when another process has it. `None` where the
/// file system has no locks.
fn lock_data_dir(dir: &std::path::Path) -> Result<Option<DirLock>, EngineError> {
    let open = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("engine.lock"))
    });
    // Without the file, the database open that follows says what is wrong with the directory.
    let Ok(file) = open else {
        return Ok(None);
    };
    let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => {
                if let Ok(mut held) = HELD.lock() {
                    held.push(key.clone());
                }
                record_holder(&file);
                return Ok(Some(DirLock { _file: file, key }));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let ours = HELD.lock().is_ok_and(|held| held.contains(&key));
                if !ours || started.elapsed() > WIND_DOWN {
                    return Err(EngineError::Busy(dir.to_path_buf()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(err)) => {
                tracing::warn!(%err, "the data directory cannot be locked; going on without");
                return Ok(None);
            }
        }
    }
}

/// The engine's entry point.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Opens the queue database in the data directory and spawns the worker on `runtime`.
    ///
    /// The worker first sends [`Event::Loaded`]; with `auto_resume` it continues unfinished
    /// items. `notify` is called after events are sent. One engine at a time works on a data
    /// directory (the app, or one `voddesk upload`): two would both take up the same
    /// unfinished uploads.
    ///
    /// # Errors
    /// When another engine has the data directory, the database cannot be opened or the HTTP
    /// client cannot be built.
    pub fn start(
        config: EngineConfig,
        runtime: &tokio::runtime::Handle,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<EngineHandle, EngineError> {
        let lock = lock_data_dir(&config.service.data_dir)?;
        let store = Arc::new(Store::open_in(&config.service.data_dir)?);
        let http = crate::tencent::vod::http_client()?;
        let shared = Arc::new(job::Shared {
            store,
            clock: Arc::new(Clock::new()),
            limiter: Arc::new(RateLimiter::new(config.tuning.bandwidth_limit)),
            service: config.service.clone(),
            retry: config.retry,
            budget: budget::Budget::new(config.tuning.parallel_parts.max(1)),
            apply_pace: budget::Pacer::per_second(budget::API_CALLS_PER_SECOND),
            commit_pace: budget::Pacer::per_second(budget::API_CALLS_PER_SECOND),
            wecom: config.service.wecom.as_ref().map(|wecom| {
                Arc::new(crate::wecom::WeComClient::new(
                    http.clone(),
                    &config.service.endpoints.wecom,
                    &wecom.corp_id,
                    &wecom.secret,
                ))
            }),
            http,
        });
        let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
        // Jobs report state changes and progress here; sized so a burst of part completions
        // does not stall the jobs.
        let (job_tx, job_rx) = mpsc::channel(1024);
        let root = CancellationToken::new();
        let worker =
            worker::Worker::new(shared, config, event_tx, notify, job_tx, root.clone(), lock);
        let task = runtime.spawn(worker.run(command_rx, job_rx));
        Ok(EngineHandle {
            commands: command_tx,
            events: event_rx,
            task,
            _guard: root.drop_guard(),
        })
    }
}

/// Why a command was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The command queue is full; try again on the next frame.
    #[error("the engine is busy; try again")]
    Full,
    /// The worker has stopped.
    #[error("the engine has stopped")]
    Closed,
}

/// The running engine. Dropping it stops every job at once (as a crash would, but cleanly:
/// finished parts are on disk), so keep it for as long as uploads should run.
#[derive(Debug)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    task: tokio::task::JoinHandle<()>,
    _guard: DropGuard,
}

impl EngineHandle {
    /// Sends a command without waiting (for UI threads).
    ///
    /// # Errors
    /// [`SendError::Full`] when the queue is full, [`SendError::Closed`] after shutdown.
    pub fn try_send(&self, command: Command) -> Result<(), SendError> {
        self.commands.try_send(command).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// Sends a command, waiting for room.
    ///
    /// # Errors
    /// [`SendError::Closed`] after shutdown.
    pub async fn send(&self, command: Command) -> Result<(), SendError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| SendError::Closed)
    }

    /// A clone of the command sender, for other threads.
    #[must_use]
    pub fn sender(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// The next event, without waiting; `None` when there is none now (or the worker ended).
    pub fn try_recv(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The next event; `None` once the worker has ended.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Asks the worker to stop (running items continue on the next start), drains the events
    /// that are left, and waits for it to end.
    pub async fn shutdown(mut self) -> Vec<Event> {
        let _ = self.commands.send(Command::Shutdown).await;
        let mut rest = Vec::new();
        while let Some(event) = self.events.recv().await {
            rest.push(event);
        }
        let _ = (&mut self.task).await;
        rest
    }
}
