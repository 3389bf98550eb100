//! `voddesk sign`: client-upload signatures made locally, for admins and tests; and
//! `voddesk sign-server`: the team's signature service and its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CliError, GlobalArgs};
use crate::sign_server::tokens::{Constraints, TokenError, TokenInfo, TokenStore};
use crate::sign_server::{self, Defaults, ServerConfig, ServerError, TlsFiles};
use crate::tencent::clock::Clock;
use crate::tencent::ugc_sign::{MAX_VALIDITY_SECONDS, SignatureParams};

/// Options a signature carries to the upload (shared by `sign` and `sign-server`).
#[derive(Debug, Clone, Args)]
pub struct SignFields {
    /// Task flow to run after upload.
    #[arg(long)]
    pub procedure: Option<String>,
    /// Media category.
    #[arg(long, allow_negative_numbers = true)]
    pub class_id: Option<i64>,
    /// Text echoed in the upload callback (at most 250 characters).
    #[arg(long)]
    pub source_context: Option<String>,
}

/// Arguments of `voddesk sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// Seconds the signature stays valid (at most 90 days).
    #[arg(long, default_value_t = 86_400, allow_negative_numbers = true)]
    pub valid: i64,
    /// What the signature applies to the upload.
    #[command(flatten)]
    pub fields: SignFields,
    /// The signature may be used once only.
    #[arg(long)]
    pub one_time: bool,
    /// The current time, Unix seconds (for reproducible signatures).
    #[arg(long, allow_negative_numbers = true)]
    pub now: Option<i64>,
    /// The random number (0..=4294967295).
    #[arg(long, allow_negative_numbers = true)]
    pub random: Option<i64>,
}

/// Builds the signature parameters from the arguments.
///
/// # Errors
/// A usage error naming the rule broken.
pub fn params(args: &SignArgs, global: &GlobalArgs) -> Result<(SignatureParams, String), CliError> {
    let credentials = global.api_key().ok_or_else(|| super::no_api_key(false))?;
    if args.valid <= 0 || args.valid > MAX_VALIDITY_SECONDS {
        return Err(CliError::usage(format!(
            "--valid must be between 1 and {MAX_VALIDITY_SECONDS} seconds (90 days), not {}",
            args.valid
        )));
    }
    let now = args.now.unwrap_or_else(Clock::system_now);
    if now < 0 {
        return Err(CliError::usage(format!(
            "--now must not be negative, not {now}"
        )));
    }
    let random = match args.random {
        Some(random) => u32::try_from(random).map_err(|_| {
            CliError::usage(format!(
                "--random must be between 0 and 4294967295, not {random}"
            ))
        })?,
        None => rand::random(),
    };
    if let Some(class_id) = args.fields.class_id
        && class_id < 0
    {
        return Err(CliError::usage(format!(
            "--class-id must not be negative, not {class_id}"
        )));
    }
    let params = SignatureParams {
        secret_id: credentials.secret_id.clone(),
        current_time: now,
        expire_time: now + args.valid,
        random,
        procedure: args.fields.procedure.clone().filter(|p| !p.is_empty()),
        source_context: args.fields.source_context.clone(),
        one_time_valid: args.one_time,
        class_id: args.fields.class_id,
        vod_sub_app_id: global.sub_app_id(),
        ..SignatureParams::default()
    };
    params
        .validate()
        .map_err(|err| CliError::usage(err.to_string()))?;
    Ok((params, credentials.secret_key().to_owned()))
}

/// Prints a signature.
///
/// # Errors
/// A usage error naming the rule broken.
pub fn run(args: &SignArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let (params, secret_key) = params(args, global)?;
    let signature = params
        .sign(&secret_key)
        .map_err(|err| CliError::usage(err.to_string()))?;
    out!("{signature}");
    Ok(())
}

/// What `voddesk sign-server --help` ends with: who can get what.
pub const SIGN_SERVER_HELP: &str = "\
Who can get what:
  Only an editor who sends one of the tokens made with `sign-server token add` gets a
  signature (Authorization: Bearer TOKEN). A signature lets its holder upload to this VOD
  account, with the token's task flow, class and source context (else the defaults above),
  for --valid seconds at most; nobody gets the SecretKey. A revoked token is refused from its
  next request, without a restart. Each token gets --rate signatures a minute.
  Every request is written to DATA_DIR/sign-server/audit.jsonl (time, token name, address,
  outcome, what was signed; never a token or a signature).
  Beyond loopback the server needs TLS (--tls-cert/--tls-key) or --behind-proxy with a TLS
  reverse proxy in front (see the README).

Tokens:
  voddesk sign-server token add NAME [--procedure P] [--class-id N] [--source-context S] [--valid SECONDS]
  voddesk sign-server token list [--json]
  voddesk sign-server token revoke NAME";

/// Arguments of `voddesk sign-server`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SignServerArgs {
    /// Manage the editors' tokens instead of serving.
    #[command(subcommand)]
    pub command: Option<SignServerCommand>,
    /// Where to listen. Beyond loopback, TLS or --behind-proxy is required.
    #[arg(long, default_value = "127.0.0.1:8901")]
    pub addr: SocketAddr,
    /// The certificate chain (PEM) for HTTPS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A TLS reverse proxy is in front: plain HTTP beyond loopback is allowed, and the
    /// proxy's X-Forwarded-For goes into the audit log.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub behind_proxy: bool,
    /// Signatures a minute per token (N or N/min).
    #[arg(long, value_name = "N/min", default_value = "60", value_parser = rate_value)]
    pub rate: u32,
    /// Seconds each signature stays valid (at most 90 days); a token's --valid may shorten it.
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub valid: i64,
    /// What the signature applies to the upload, unless the token says otherwise.
    #[command(flatten)]
    pub fields: SignFields,
    /// Hand out signatures usable more than once (one-time is the default: safer).
    #[arg(long)]
    pub reusable: bool,
}

/// `voddesk sign-server token …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SignServerCommand {
    /// The editors' tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `voddesk sign-server token add|list|revoke`.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Make a token for an editor and print it once (only its hash is kept).
    Add(TokenAddArgs),
    /// List the tokens: names, created, last used, uses (never the tokens).
    List {
        /// One JSON object per token, one line each.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an editor's token; a running server refuses it from its next request.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// Arguments of `voddesk sign-server token add`.
#[derive(Debug, Clone, Args)]
pub struct TokenAddArgs {
    /// Who the token is for (letters, digits, . _ - @).
    pub name: String,
    /// What this token's signatures apply, over the server's defaults.
    #[command(flatten)]
    pub fields: SignFields,
    /// The longest validity of this token's signatures, in seconds.
    #[arg(long, allow_negative_numbers = true)]
    pub valid: Option<i64>,
}

fn rate_value(value: &str) -> Result<u32, String> {
    let number = value.trim();
    let number = number
        .strip_suffix("/min")
        .or_else(|| number.strip_suffix("/m"))
        .unwrap_or(number);
    match number.trim().parse::<u32>() {
        Ok(rate) if rate > 0 => Ok(rate),
        _ => Err("a rate is a number of signatures a minute, such as 60 or 60/min".to_owned()),
    }
}

/// Runs `voddesk sign-server`: manages tokens, or serves until Ctrl-C.
///
/// # Errors
/// A usage error for bad options, a failure for what stops the server.
pub async fn serve(args: &SignServerArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if let Some(SignServerCommand::Token(command)) = &args.command {
        return token(command, global);
    }
    let template = SignArgs {
        valid: args.valid,
        fields: args.fields.clone(),
        one_time: !args.reusable,
        now: None,
        random: None,
    };
    // Validate once up front so a bad option fails at start, not per request.
    let (params, _) = params(&template, global)?;
    let credentials = global.api_key().ok_or_else(|| super::no_api_key(false))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let config = ServerConfig {
        addr: args.addr,
        data_dir: global.data_dir(),
        credentials,
        defaults: Defaults {
            procedure: params.procedure,
            class_id: params.class_id,
            source_context: params.source_context,
            valid: args.valid,
            one_time: !args.reusable,
            sub_app_id: params.vod_sub_app_id,
        },
        rate_per_minute: args.rate,
        tls,
        behind_proxy: args.behind_proxy,
    };
    let handle = sign_server::spawn(config).await.map_err(|err| match err {
        ServerError::NoTokens | ServerError::Exposed { .. } => CliError::usage(err.to_string()),
        _ => CliError::failure(err.to_string()),
    })?;
    out!("listening on {}", handle.url());
    eprintln!(
        "{} signatures a minute per token; audit log: {}",
        args.rate,
        handle.audit_path().display()
    );
    let mut interrupt = super::Interrupt::listen();
    interrupt.recv().await;
    handle.shutdown().await;
    Ok(())
}

fn store(global: &GlobalArgs) -> Result<TokenStore, CliError> {
    TokenStore::open(&sign_server::dir(&global.data_dir()))
        .map_err(|err| CliError::failure(err.to_string()))
}

fn token(command: &TokenCommand, global: &GlobalArgs) -> Result<(), CliError> {
    let now = Clock::system_now();
    match command {
        TokenCommand::Add(args) => token_add(args, global, now),
        TokenCommand::List { json } => token_list(*json, global),
        TokenCommand::Revoke { name } => {
            let revoked = store(global)?
                .revoke(name, now)
                .map_err(|err| CliError::failure(err.to_string()))?;
            if !revoked {
                return Err(CliError::failure(format!(
                    "no live token is named {name:?} (`voddesk sign-server token list` shows them)"
                )));
            }
            eprintln!("revoked the token of {name}: the server refuses it from its next request");
            Ok(())
        }
    }
}

/// `token add`: the constraints checked, the token made and printed once (only its hash is
/// kept).
fn token_add(args: &TokenAddArgs, global: &GlobalArgs, now: i64) -> Result<(), CliError> {
    if let Some(valid) = args.valid
        && !(1..=MAX_VALIDITY_SECONDS).contains(&valid)
    {
        return Err(CliError::usage(format!(
            "--valid must be between 1 and {MAX_VALIDITY_SECONDS} seconds (90 days), not {valid}"
        )));
    }
    let fields = &args.fields;
    if let Some(class_id) = fields.class_id
        && class_id < 0
    {
        return Err(CliError::usage(format!(
            "--class-id must not be negative, not {class_id}"
        )));
    }
    // The service's own rules (source context length), checked now rather than at
    // every request.
    SignatureParams {
        current_time: 1,
        expire_time: 2,
        source_context: fields.source_context.clone(),
        ..SignatureParams::default()
    }
    .validate()
    .map_err(|err| CliError::usage(err.to_string()))?;
    let constraints = Constraints {
        procedure: fields.procedure.clone().filter(|p| !p.is_empty()),
        class_id: fields.class_id,
        source_context: fields.source_context.clone(),
        valid: args.valid,
    };
    let token = store(global)?
        .add(&args.name, &constraints, now)
        .map_err(|err| match err {
            TokenError::BadName(_) | TokenError::NameTaken(_) => CliError::usage(err.to_string()),
            _ => CliError::failure(err.to_string()),
        })?;
    out!("{token}");
    eprintln!(
        "token for {} added: give it to them now, it is not shown again (they set VODDESK_SIGNATURE_TOKEN or enter it in the app's settings)",
        args.name
    );
    Ok(())
}

/// `token list`: names, when made and last used, uses and state; never a token.
fn token_list(json: bool, global: &GlobalArgs) -> Result<(), CliError> {
    let list = store(global)?
        .list()
        .map_err(|err| CliError::failure(err.to_string()))?;
    if json {
        for info in &list {
            out!("{}", token_json(info));
        }
    } else if list.is_empty() {
        eprintln!("no tokens; add one with `voddesk sign-server token add NAME`");
    } else {
        out!(
            "{:<24} {:<20} {:<20} {:>6}  STATE",
            "NAME",
            "CREATED",
            "LAST USED",
            "USES"
        );
        for info in &list {
            let state = info
                .revoked
                .map_or_else(|| "live".to_owned(), |at| format!("revoked {}", time(at)));
            out!(
                "{:<24} {:<20} {:<20} {:>6}  {state}",
                info.name,
                time(info.created),
                info.last_used.map_or_else(|| "never".to_owned(), time),
                info.uses
            );
        }
    }
    Ok(())
}

fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |at| at.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

fn rfc3339(unix: Option<i64>) -> serde_json::Value {
    unix.and_then(|at| chrono::DateTime::from_timestamp(at, 0))
        .map_or(serde_json::Value::Null, |at| {
            serde_json::Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        })
}

fn token_json(info: &TokenInfo) -> serde_json::Value {
    serde_json::json!({
        "name": info.name,
        "created": rfc3339(Some(info.created)),
        "last_used": rfc3339(info.last_used),
        "uses": info.uses,
        "revoked": rfc3339(info.revoked),
        "procedure": info.constraints.procedure,
        "class_id": info.constraints.class_id,
        "source_context": info.constraints.source_context,
        "valid": info.constraints.valid,
    })
}
