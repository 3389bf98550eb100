//! `voddesk sign`: client-upload signatures made locally, for admins and tests.

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::tencent::clock::Clock;
use crate::tencent::ugc_sign::{MAX_VALIDITY_SECONDS, SignatureParams};

/// Arguments of `voddesk sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// Seconds the signature stays valid (at most 90 days).
    #[arg(long, default_value_t = 86_400, allow_negative_numbers = true)]
    pub valid: i64,
    /// Task flow to run after upload.
    #[arg(long)]
    pub procedure: Option<String>,
    /// Media category.
    #[arg(long, allow_negative_numbers = true)]
    pub class_id: Option<i64>,
    /// Text echoed in the upload callback (at most 250 characters).
    #[arg(long)]
    pub source_context: Option<String>,
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
    let credentials = global.credentials().ok_or_else(|| {
        CliError::usage(
            "no API key: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or pass --secret-id and --secret-key)",
        )
    })?;
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
    if let Some(class_id) = args.class_id
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
        procedure: args.procedure.clone().filter(|p| !p.is_empty()),
        source_context: args.source_context.clone(),
        one_time_valid: args.one_time,
        class_id: args.class_id,
        vod_sub_app_id: global.sub_app_id,
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
    println!("{signature}");
    Ok(())
}
