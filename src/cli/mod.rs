//! The `voddesk` command line: flags, environment variables and subcommands.
//!
//! Exit codes: 0 success, 1 a failure the message explains, 2 bad usage. Errors are one or two
//! lines on stderr in plain words.

/// `println!` for results. When the reader has gone (`voddesk queue --json | head -1`), the
/// program ends quietly, as other command-line tools do, instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_out(format_args!($($arg)*))
    };
}

pub mod emulator;
mod info;
mod publish;
mod sign;
mod upload;
mod wecom;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Endpoints, ServiceConfig, WeComCredentials, default_data_dir};
use crate::settings::Settings;
use crate::settings::credentials::CredentialStore;
use crate::tencent::Credentials;
use crate::tencent::sign_service::SignatureToken;
use upload::QueueArgs;

/// Exit code of a failure the message explains.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of bad usage.
pub const EXIT_USAGE: u8 = 2;

/// VodDesk: upload manager for Tencent Cloud VOD and WeChat publishing.
#[derive(Debug, Parser)]
#[command(name = "voddesk", version, about, long_about = None)]
pub struct Cli {
    /// Service settings shared by every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; without one, the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags that mirror the environment variables of the product specification.
///
/// Every command takes them; their own heading keeps them apart from the command's options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Service settings (every command; flag or environment)")]
pub struct GlobalArgs {
    /// API SecretId.
    #[arg(
        long,
        env = "TENCENTCLOUD_SECRET_ID",
        global = true,
        hide_env_values = true
    )]
    pub secret_id: Option<String>,
    /// API SecretKey.
    #[arg(
        long,
        env = "TENCENTCLOUD_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// STS session token for temporary credentials.
    #[arg(
        long,
        env = "TENCENTCLOUD_SESSION_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub session_token: Option<String>,
    /// Region for API calls.
    #[arg(long, env = "TENCENTCLOUD_REGION", global = true)]
    pub region: Option<String>,
    /// Base URL of the VOD API 3.0.
    #[arg(long, env = "VODDESK_VOD_ENDPOINT", global = true)]
    pub vod_endpoint: Option<String>,
    /// When set, COS requests go to {this}/{key}.
    #[arg(long, env = "VODDESK_COS_ENDPOINT", global = true)]
    pub cos_endpoint: Option<String>,
    /// Base URL of the client-upload API.
    #[arg(long, env = "VODDESK_UGC_ENDPOINT", global = true)]
    pub ugc_endpoint: Option<String>,
    /// Base URL of the WeCom API.
    #[arg(long, env = "VODDESK_WECOM_ENDPOINT", global = true)]
    pub wecom_endpoint: Option<String>,
    /// Signature service; when set, uploads use signature mode.
    #[arg(long, env = "VODDESK_SIGNATURE_URL", global = true)]
    pub signature_url: Option<String>,
    /// This computer's token for the signature service (Authorization: Bearer).
    #[arg(
        long,
        env = "VODDESK_SIGNATURE_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub signature_token: Option<String>,
    /// VOD sub-application id (empty: none).
    #[arg(long, env = "VODDESK_SUB_APP_ID", global = true, value_parser = sub_app_id_value)]
    pub sub_app_id: Option<String>,
    /// WeCom CorpID.
    #[arg(long, env = "WECOM_CORP_ID", global = true)]
    pub wecom_corp_id: Option<String>,
    /// WeCom application secret.
    #[arg(long, env = "WECOM_CORP_SECRET", global = true, hide_env_values = true)]
    pub wecom_corp_secret: Option<String>,
    /// Queue database, logs, emulator data in demo mode.
    #[arg(long, env = "VODDESK_DATA_DIR", global = true, value_parser = data_dir_value)]
    pub data_dir: Option<PathBuf>,
}

/// A sub-application id is a number; an empty one (`VODDESK_SUB_APP_ID=` in a script or a
/// CI file) means none, as an unset variable does.
fn sub_app_id_value(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.parse::<u64>().is_ok() {
        Ok(value.to_owned())
    } else {
        Err("a sub-application id is a number, such as 1500012345".to_owned())
    }
}

/// A data directory; an empty one (`VODDESK_DATA_DIR=`) means the default, as unset does.
#[allow(clippy::unnecessary_wraps)] // clap's value parsers return a Result
fn data_dir_value(value: &str) -> Result<PathBuf, String> {
    Ok(if value.trim().is_empty() {
        PathBuf::new()
    } else {
        PathBuf::from(value)
    })
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl GlobalArgs {
    /// The API key from flags or environment, when both halves are there.
    #[must_use]
    pub fn credentials(&self) -> Option<Credentials> {
        let id = non_empty(self.secret_id.as_ref())?;
        let key = non_empty(self.secret_key.as_ref())?;
        Some(Credentials::new(id, key).with_token(non_empty(self.session_token.as_ref())))
    }

    /// The sub-application id from flags or environment.
    #[must_use]
    pub fn sub_app_id(&self) -> Option<u64> {
        non_empty(self.sub_app_id.as_ref()).and_then(|id| id.parse().ok())
    }

    /// The data directory: flag or environment, else the platform's.
    #[must_use]
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or_else(default_data_dir)
    }

    /// The app's saved settings in the data directory (defaults when there are none).
    #[must_use]
    pub fn saved_settings(&self) -> Settings {
        Settings::load(&self.data_dir()).unwrap_or_else(|err| {
            eprintln!("note: {err}");
            Settings::default()
        })
    }

    /// The API key: flags or environment, else the one the app saved.
    #[must_use]
    pub fn api_key(&self) -> Option<Credentials> {
        self.credentials().or_else(|| saved_key(&self.data_dir()))
    }

    /// The signature service's token: flag or environment, else the one the app saved.
    #[must_use]
    pub fn signature_token(&self) -> Option<SignatureToken> {
        self.signature_token
            .as_deref()
            .and_then(SignatureToken::new)
            .or_else(|| {
                saved(&self.data_dir(), CredentialStore::load_signature_token)
                    .and_then(|(token, _)| SignatureToken::new(&token))
            })
    }

    /// The resolved service configuration: flags and environment over the app's saved
    /// settings (and saved API key) over defaults.
    #[must_use]
    pub fn service_config(&self) -> ServiceConfig {
        let saved = self.saved_settings();
        let endpoints = saved.endpoints();
        let signature_url = non_empty(self.signature_url.as_ref())
            .or_else(|| non_empty(Some(&saved.signature_url)));
        // Asked only in signature mode: the keyring is not woken up for nothing.
        let signature_token = signature_url.as_ref().and_then(|_| self.signature_token());
        ServiceConfig {
            credentials: self.api_key(),
            region: non_empty(self.region.as_ref())
                .or_else(|| non_empty(Some(&saved.region)))
                .unwrap_or_else(|| crate::tencent::DEFAULT_REGION.to_owned()),
            endpoints: Endpoints {
                vod: non_empty(self.vod_endpoint.as_ref()).unwrap_or(endpoints.vod),
                cos: non_empty(self.cos_endpoint.as_ref()).or(endpoints.cos),
                ugc: non_empty(self.ugc_endpoint.as_ref()).unwrap_or(endpoints.ugc),
                wecom: non_empty(self.wecom_endpoint.as_ref()).unwrap_or(endpoints.wecom),
            },
            signature_url,
            signature_token,
            sub_app_id: self.sub_app_id().or(saved.sub_app_id),
            wecom: match (
                non_empty(self.wecom_corp_id.as_ref()),
                non_empty(self.wecom_corp_secret.as_ref()),
            ) {
                (Some(corp_id), Some(secret)) => Some(WeComCredentials { corp_id, secret }),
                _ => None,
            },
            data_dir: self.data_dir(),
        }
    }
}

/// Ctrl-C, listened for from the moment this is made: one pressed while the first requests
/// run is not lost (nor does it end the process before the command can say where things stand).
pub struct Interrupt {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    /// Starts listening.
    #[must_use]
    pub fn listen() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    /// The next Ctrl-C.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// No API key anywhere: the command cannot run as invoked (exit 2, like other usage
/// errors), whichever command it is. `or_signature_service` adds the way uploads have.
#[must_use]
pub fn no_api_key(or_signature_service: bool) -> CliError {
    CliError::usage(format!(
        "no API key: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or pass --secret-id and --secret-key), or save one in the app's settings{}",
        if or_signature_service {
            ", or name a signature service with VODDESK_SIGNATURE_URL"
        } else {
            ""
        }
    ))
}

impl GlobalArgs {
    /// Refuses an address that is not an `https://` URL (or `http://` to this computer)
    /// before anything is sent: a typo would otherwise read as the service failing, and an
    /// `http://` host elsewhere would get signed requests and temporary tokens in clear. The
    /// addresses saved by the app are checked too, since they are used when no flag is given.
    ///
    /// # Errors
    /// A usage error naming the variable.
    pub fn check_endpoints(&self) -> Result<(), CliError> {
        let saved = self.saved_settings();
        let endpoints = saved.endpoints();
        let saved_signature = non_empty(Some(&saved.signature_url));
        let given = [
            (
                "VODDESK_VOD_ENDPOINT",
                &self.vod_endpoint,
                Some(endpoints.vod),
            ),
            ("VODDESK_COS_ENDPOINT", &self.cos_endpoint, endpoints.cos),
            (
                "VODDESK_UGC_ENDPOINT",
                &self.ugc_endpoint,
                Some(endpoints.ugc),
            ),
            (
                "VODDESK_WECOM_ENDPOINT",
                &self.wecom_endpoint,
                Some(endpoints.wecom),
            ),
            (
                "VODDESK_SIGNATURE_URL",
                &self.signature_url,
                saved_signature,
            ),
        ];
        for (name, flag, saved) in given {
            let (value, source) = match non_empty(flag.as_ref()) {
                Some(value) => (value, "(or its flag) is"),
                None => match saved.and_then(|s| non_empty(Some(&s))) {
                    Some(value) => (value, "is unset, and the app's saved setting is"),
                    None => continue,
                },
            };
            if let Some(problem) = crate::tencent::vod::endpoint_problem(&value) {
                return Err(CliError::usage(format!(
                    "{name} {source} not usable: {problem}. Nothing was sent."
                )));
            }
        }
        Ok(())
    }
}

/// The API key the app saved (OS keyring, or its 0600 file).
fn saved_key(data_dir: &std::path::Path) -> Option<Credentials> {
    saved(data_dir, CredentialStore::load).map(|(key, _)| key)
}

/// What the app saved in its secret store. The keyring may talk to a D-Bus service that never
/// answers on a headless machine: asked on a thread of its own, for at most two seconds, then
/// the 0600 file alone.
fn saved<T: Send + 'static>(
    data_dir: &std::path::Path,
    load: fn(&CredentialStore) -> Result<Option<T>, String>,
) -> Option<T> {
    let store = CredentialStore::new(data_dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let asked = std::thread::Builder::new()
        .name("saved-key".into())
        .spawn(move || {
            let _ = tx.send(load(&store));
        });
    let answer = match asked {
        Ok(_) => rx.recv_timeout(std::time::Duration::from_secs(2)).ok(),
        Err(_) => None,
    };
    let answer = answer.or_else(|| Some(load(&CredentialStore::file_only(data_dir))))?;
    match answer {
        Ok(found) => found,
        Err(err) => {
            eprintln!("note: {err}");
            None
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a client-upload signature locally (HMAC-SHA1, Base64).
    Sign(sign::SignArgs),
    /// Serve client-upload signatures to editors with a token (loopback by default).
    #[command(after_help = sign::SIGN_SERVER_HELP)]
    SignServer(sign::SignServerArgs),
    /// Publish a finished video to WeChat (Mini Program) and optionally wait for the review.
    Publish(publish::PublishArgs),
    /// Suspend distribution: the files' URLs stop playing until restored.
    Suspend(publish::DistributionArgs),
    /// Restore distribution of suspended files.
    Restore(publish::DistributionArgs),
    /// Delete files from VOD for good (asks first unless --yes).
    Delete(publish::DeleteArgs),
    /// WeChat Work temporary media.
    #[command(subcommand)]
    Wecom(wecom::WeComCommand),
    /// Upload files (and folders) to VOD through the queue; interrupted uploads resume.
    Upload(upload::UploadArgs),
    /// List the persisted queue; `queue resume` continues unfinished items.
    Queue(upload::QueueArgs),
    /// Show what VOD holds for FileIds (DescribeMediaInfos).
    Info(info::InfoArgs),
    /// Run the embedded emulator of the cloud APIs until Ctrl-C.
    Emulator(Box<emulator::EmulatorArgs>),
}

/// An error that ends the command with a message and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// One or two lines in plain words.
    pub message: String,
    /// [`EXIT_FAILURE`] or [`EXIT_USAGE`].
    pub code: u8,
}

impl CliError {
    /// Bad usage (exit 2).
    #[must_use]
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    /// A failure (exit 1).
    #[must_use]
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }

    /// A failure whose messages were already printed (exit 1, nothing more to say).
    #[must_use]
    pub fn failure_quiet() -> Self {
        Self::failure(String::new())
    }
}

/// Writes one line of results to stdout; see `out!`.
pub(crate) fn write_out(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        // 128 + SIGPIPE: what a tool killed by the closed pipe would end with.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(err) => {
            eprintln!("error: the results could not be written ({err})");
            std::process::exit(i32::from(EXIT_FAILURE));
        }
    }
}

/// Parses the command line; usage errors print one line and exit 2.
///
/// # Errors
/// The exit code to end with when parsing printed help, a version or a usage error.
pub fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                let _ = err.print();
                return Err(ExitCode::SUCCESS);
            }
            eprintln!("{}", usage_line(&err.render().to_string()));
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// Clap's usage error on one line: its `error:` line, with what the lines under it name
/// (the missing arguments, for one), without the usage and help hints.
fn usage_line(rendered: &str) -> String {
    let mut lines = rendered
        .lines()
        .skip_while(|line| !line.starts_with("error:"));
    let Some(first) = lines.next() else {
        return "error: bad usage; see voddesk --help".to_owned();
    };
    let mut line = first.trim_end().to_owned();
    for more in lines.take_while(|line| !line.trim().is_empty()) {
        line.push(' ');
        line.push_str(more.trim());
    }
    line
}

/// Runs a subcommand on `runtime`.
pub fn run(command: Command, global: &GlobalArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let talks_to_services = !matches!(
        command,
        Command::Sign(_) | Command::Emulator(_) | Command::Queue(QueueArgs { action: None, .. })
    );
    let result = match command {
        _ if talks_to_services && let Err(err) = global.check_endpoints() => Err(err),
        Command::Sign(args) => sign::run(&args, global),
        Command::SignServer(args) => runtime.block_on(sign::serve(&args, global)),
        Command::Publish(args) => runtime.block_on(publish::publish(&args, global)),
        Command::Suspend(args) => runtime.block_on(publish::distribution(&args, global, true)),
        Command::Restore(args) => runtime.block_on(publish::distribution(&args, global, false)),
        Command::Delete(args) => runtime.block_on(publish::delete(&args, global)),
        Command::Wecom(command) => runtime.block_on(wecom::run(&command, global)),
        Command::Upload(args) => upload::run_upload(&args, global, runtime),
        Command::Queue(args) => upload::run_queue(&args, global, runtime),
        Command::Info(args) => info::run(&args, global, runtime),
        Command::Emulator(args) => emulator::run(&args, global, runtime),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.message.is_empty() {
                eprintln!("error: {}", err.message);
            }
            ExitCode::from(err.code)
        }
    }
}
