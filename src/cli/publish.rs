//! `voddesk publish`, `suspend`, `restore` and `delete`: WeChat publishing from scripts.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::engine::api::UserError;
use crate::engine::publish::ReviewOutcome;
use crate::engine::publisher::Publisher;
use crate::tencent::clock::Clock;
use crate::tencent::vod::{VodClient, http_client};

/// Arguments of `voddesk publish`.
#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The VOD FileId of a finished video.
    pub file_id: String,
    /// Transcode template to publish (0 = the original); picked automatically when absent.
    #[arg(long)]
    pub definition: Option<i64>,
    /// Wait for WeChat's review to finish (it can take up to 4 hours).
    #[arg(long)]
    pub wait: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `voddesk suspend` and `voddesk restore`.
#[derive(Debug, Clone, Args)]
pub struct DistributionArgs {
    /// VOD FileIds.
    #[arg(required = true)]
    pub file_ids: Vec<String>,
}

/// Arguments of `voddesk delete`.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// VOD FileIds.
    #[arg(required = true)]
    pub file_ids: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// A VOD client from the global flags and environment.
///
/// # Errors
/// A usage error when no API key is configured or an endpoint is malformed.
pub fn vod_client(global: &GlobalArgs) -> Result<VodClient, CliError> {
    let config = global.service_config();
    let credentials = config.credentials.ok_or_else(|| {
        CliError::usage(
            "no API key: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or pass --secret-id and --secret-key)",
        )
    })?;
    let http = http_client().map_err(|err| CliError::failure(err.to_string()))?;
    VodClient::new(
        http,
        &config.endpoints.vod,
        &config.region,
        credentials,
        Arc::new(Clock::new()),
    )
    .map_err(|err| CliError::usage(err.to_string()))
}

fn failure(err: &UserError) -> CliError {
    CliError::failure(err.to_string())
}

fn publisher(global: &GlobalArgs) -> Result<Publisher, CliError> {
    Ok(Publisher::new(vod_client(global)?, global.sub_app_id))
}

/// The result line of `publish --json`.
#[derive(Debug, serde::Serialize)]
struct PublishLine<'a> {
    file_id: &'a str,
    task_id: &'a str,
    state: &'a str,
    publish_result: Option<&'a str>,
    url: Option<&'a str>,
}

/// Runs `voddesk publish`.
///
/// # Errors
/// When the file cannot be published or the review refuses it.
pub async fn publish(args: &PublishArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let publisher = publisher(global)?;
    let submitted = publisher
        .submit(&args.file_id, args.definition)
        .await
        .map_err(|err| CliError::failure(format!("{}: {err}", args.file_id)))?;
    let task_id = submitted.task_id.as_str();
    let print_line = |state: &str, publish_result: Option<&str>, url: Option<&str>| {
        print_json(&PublishLine {
            file_id: &args.file_id,
            task_id,
            state,
            publish_result,
            url,
        });
    };
    if !args.wait {
        if args.json {
            print_line("under_review", None, None);
        } else {
            out!(
                "{}: submitted for WeChat review (task {task_id}, definition {}); it can take up to 4 hours. Check with `voddesk info {}`.",
                args.file_id,
                submitted.definition,
                args.file_id
            );
        }
        return Ok(());
    }
    if !args.json {
        eprintln!(
            "{}: under review (definition {}); this can take up to 4 hours…",
            args.file_id, submitted.definition
        );
    }
    let outcome = tokio::select! {
        outcome = publisher.wait_review(task_id, Duration::ZERO) => outcome.map_err(|err| failure(&err))?,
        _ = tokio::signal::ctrl_c() => {
            // Only the waiting stops: the review goes on at the service. Say where it is, so
            // that a script keeps the task id and nobody submits the file again.
            if args.json {
                print_line("under_review", None, None);
            }
            return Err(CliError::failure(format!(
                "{}: stopped waiting; the review (task {task_id}) goes on at the service. Check with `voddesk info {}` (running publish again would start a new review).",
                args.file_id, args.file_id
            )));
        }
    };
    match outcome {
        ReviewOutcome::Passed => {
            let url = publisher
                .published_url(&args.file_id, submitted.definition)
                .await
                .map_err(|err| failure(&err))?;
            if args.json {
                print_line("published", Some("Pass"), Some(&url));
            } else {
                out!("{}: published to WeChat: {url}", args.file_id);
                if std::io::stdout().is_terminal()
                    && let Ok(matrix) = crate::qr::QrMatrix::encode(&url)
                {
                    print!("{}", matrix.to_terminal());
                }
            }
            Ok(())
        }
        ReviewOutcome::Refused { result, message } => {
            if args.json {
                print_line("rejected", Some(&result), None);
            }
            Err(CliError::failure(format!("{}: {message}", args.file_id)))
        }
        ReviewOutcome::Pending => Err(CliError::failure("the review is still pending")),
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => out!("{line}"),
        Err(err) => eprintln!("error: cannot write JSON: {err}"),
    }
}

/// Runs `action` on each file, printing `done` for each success and the error for each
/// failure; fails after all were tried when any failed.
async fn each_file<F, Fut>(file_ids: &[String], done: &str, mut action: F) -> Result<(), CliError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(), UserError>>,
{
    let mut failed = 0;
    for id in file_ids {
        match action(id.clone()).await {
            Ok(()) => out!("{id}: {done}"),
            Err(err) => {
                eprintln!("error: {id}: {err}");
                failed += 1;
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "{failed} of {} files failed",
            file_ids.len()
        )))
    }
}

/// Runs `voddesk suspend` (`suspend = true`) or `voddesk restore`.
///
/// # Errors
/// When the service refuses one of the files (the others are still done).
pub async fn distribution(
    args: &DistributionArgs,
    global: &GlobalArgs,
    suspend: bool,
) -> Result<(), CliError> {
    let publisher = publisher(global)?;
    let done = if suspend {
        "suspended (its URLs stop playing until restored)"
    } else {
        "restored (its URLs play again)"
    };
    each_file(&args.file_ids, done, |id| {
        let publisher = publisher.clone();
        async move { publisher.set_suspended(&id, suspend).await }
    })
    .await
}

fn confirm(file_ids: &[String]) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "delete cannot be undone; pass --yes to confirm when not running interactively",
        ));
    }
    eprint!(
        "Delete {} from VOD for good? Its URLs stop working and this cannot be undone. [y/N] ",
        file_ids.join(", ")
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| CliError::failure(format!("cannot read the answer: {err}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

/// Runs `voddesk delete`.
///
/// # Errors
/// When not confirmed, or the service refuses one of the files.
pub async fn delete(args: &DeleteArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let publisher = publisher(global)?;
    if !args.yes && !confirm(&args.file_ids)? {
        return Err(CliError::failure("nothing deleted"));
    }
    each_file(&args.file_ids, "deleted for good", |id| {
        let publisher = publisher.clone();
        async move { publisher.delete(&id).await }
    })
    .await
}
