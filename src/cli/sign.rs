//! `voddesk sign`: client-upload signatures made locally, for admins and tests.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use super::{CliError, GlobalArgs};
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

/// Arguments of `voddesk sign-server`.
#[derive(Debug, Clone, Args)]
pub struct SignServerArgs {
    /// Where to listen; loopback by default, since anyone who can reach it may upload.
    #[arg(long, default_value = "127.0.0.1:8901")]
    pub addr: SocketAddr,
    /// Seconds each signature stays valid (at most 90 days).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub valid: i64,
    /// What the signature applies to the upload.
    #[command(flatten)]
    pub fields: SignFields,
    /// Hand out signatures usable more than once (one-time is the default: safer).
    #[arg(long)]
    pub reusable: bool,
}

/// Serves fresh signatures on `GET /signature` (and `GET /`) as
/// `{"signature": "...", "data": {"signature": "..."}, "expires_at": N}`, the shapes VodDesk
/// and the official web SDK samples accept.
///
/// # Errors
/// A usage error for bad options or an address that cannot be bound.
pub async fn serve(args: &SignServerArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let template = SignArgs {
        valid: args.valid,
        fields: args.fields.clone(),
        one_time: !args.reusable,
        now: None,
        random: None,
    };
    // Validate once up front so a bad option fails at start, not per request.
    params(&template, global)?;
    let state = Arc::new((template, global.clone()));
    let handler = |axum::extract::State(state): axum::extract::State<
        Arc<(SignArgs, GlobalArgs)>,
    >| async move {
        let (template, global) = state.as_ref();
        match params(template, global).and_then(|(params, key)| {
            params
                .sign(&key)
                .map(|signature| (signature, params.expire_time))
                .map_err(|err| CliError::usage(err.to_string()))
        }) {
            Ok((signature, expires_at)) => (
                axum::http::StatusCode::OK,
                axum::Json(serde_json::json!({
                    "code": 0,
                    "signature": signature,
                    "data": { "signature": signature },
                    "expires_at": expires_at,
                })),
            ),
            Err(err) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({ "code": 1, "message": err.message })),
            ),
        }
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(handler))
        .route("/signature", axum::routing::get(handler))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|err| CliError::failure(format!("cannot listen on {}: {err}", args.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|err| CliError::failure(err.to_string()))?;
    out!("listening on http://{local}/signature");
    if !local.ip().is_loopback() {
        eprintln!(
            "warning: {local} is reachable from other machines; anyone who reaches it can upload to your VOD account"
        );
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|err| CliError::failure(format!("the signature server stopped: {err}")))
}
