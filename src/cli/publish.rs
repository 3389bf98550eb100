//! `voddesk publish`, `suspend`, `restore` and `delete`: WeChat publishing from scripts.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::engine::publish::{self, ReviewOutcome};
use crate::tencent::clock::Clock;
use crate::tencent::error::TencentError;
use crate::tencent::models::{
    DeleteMediaRequest, DescribeMediaInfosRequest, DescribeTaskDetailRequest,
    ForbidMediaDistributionRequest, MediaInfo, WeChatMiniProgramPublishRequest,
};
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

/// Turns a service error into a message in plain words, with the RequestId.
#[must_use]
pub fn explain(err: &TencentError) -> CliError {
    let detail = match err.code().as_deref().and_then(publish::explain_code) {
        Some(text) => text.en,
        None => err.to_string(),
    };
    let message = match (err.request_id(), err.code()) {
        (Some(id), Some(code)) if !detail.contains(id) => {
            format!("{detail}\n  ({code}, RequestId {id})")
        }
        _ => detail,
    };
    CliError::failure(message)
}

async fn describe(client: &VodClient, file_id: &str) -> Result<MediaInfo, CliError> {
    let answer = client
        .call(&DescribeMediaInfosRequest {
            file_ids: vec![file_id.to_owned()],
            sub_app_id: None,
            filters: None,
        })
        .await
        .map_err(|err| explain(&err))?;
    answer
        .media_info_set
        .into_iter()
        .find(|m| m.file_id == file_id)
        .ok_or_else(|| {
            CliError::failure(format!(
                "file {file_id} does not exist in VOD (it may have been deleted) (RequestId {})",
                answer.request_id
            ))
        })
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
    let client = vod_client(global)?;
    let sub_app_id = global.sub_app_id;
    let info = describe(&client, &args.file_id).await?;
    let definition = match args.definition {
        Some(definition) => definition,
        None => publish::pick_definition(&info)
            .map_err(|err| CliError::failure(format!("{}: {err}", args.file_id)))?,
    };
    let submitted = client
        .call(&WeChatMiniProgramPublishRequest {
            file_id: args.file_id.clone(),
            sub_app_id,
            source_definition: Some(definition),
        })
        .await
        .map_err(|err| explain(&err))?;
    let task_id = submitted.task_id;
    if !args.wait {
        if args.json {
            print_json(&PublishLine {
                file_id: &args.file_id,
                task_id: &task_id,
                state: "under_review",
                publish_result: None,
                url: None,
            });
        } else {
            println!(
                "{}: submitted for WeChat review (task {task_id}, definition {definition}); it can take up to 4 hours. Check with `voddesk info {}`.",
                args.file_id, args.file_id
            );
        }
        return Ok(());
    }
    let started = Instant::now();
    let mut last_note = Instant::now();
    let outcome = loop {
        let detail = client
            .call(&DescribeTaskDetailRequest {
                task_id: task_id.clone(),
                sub_app_id,
            })
            .await
            .map_err(|err| explain(&err))?;
        match publish::review_outcome(&detail) {
            ReviewOutcome::Pending => {}
            outcome => break outcome,
        }
        if !args.json && last_note.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "{}: under review for {} min (can take up to 4 hours)…",
                args.file_id,
                started.elapsed().as_secs() / 60
            );
            last_note = Instant::now();
        }
        tokio::time::sleep(publish::poll_delay(started.elapsed())).await;
    };
    match outcome {
        ReviewOutcome::Passed => {
            let info = describe(&client, &args.file_id).await?;
            let url = publish::publish_url(&info, definition);
            if args.json {
                print_json(&PublishLine {
                    file_id: &args.file_id,
                    task_id: &task_id,
                    state: "published",
                    publish_result: Some("Pass"),
                    url: url.as_deref(),
                });
            } else {
                let url = url.unwrap_or_default();
                println!("{}: published to WeChat: {url}", args.file_id);
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
                print_json(&PublishLine {
                    file_id: &args.file_id,
                    task_id: &task_id,
                    state: "rejected",
                    publish_result: Some(&result),
                    url: None,
                });
            }
            Err(CliError::failure(format!("{}: {message}", args.file_id)))
        }
        ReviewOutcome::Pending => Err(CliError::failure("review still pending")),
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(err) => eprintln!("error: cannot write JSON: {err}"),
    }
}

/// Runs `voddesk suspend` (`forbid = true`) or `voddesk restore`.
///
/// # Errors
/// When the service refuses, or some ids do not exist.
pub async fn distribution(
    args: &DistributionArgs,
    global: &GlobalArgs,
    forbid: bool,
) -> Result<(), CliError> {
    let client = vod_client(global)?;
    let mut missing = Vec::new();
    // The service takes at most 20 ids per call.
    for chunk in args.file_ids.chunks(20) {
        let answer = client
            .call(&ForbidMediaDistributionRequest {
                file_ids: chunk.to_vec(),
                operation: if forbid { "forbid" } else { "recover" }.to_owned(),
                sub_app_id: global.sub_app_id,
            })
            .await
            .map_err(|err| explain(&err))?;
        missing.extend(answer.not_exist_file_id_set.iter().cloned());
        for id in chunk
            .iter()
            .filter(|id| !answer.not_exist_file_id_set.contains(id))
        {
            println!(
                "{id}: {}",
                if forbid {
                    "suspended (its URLs stop playing until restored)"
                } else {
                    "restored (its URLs play again)"
                }
            );
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "these files do not exist in VOD: {}",
            missing.join(", ")
        )))
    }
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
/// When not confirmed, or the service refuses.
pub async fn delete(args: &DeleteArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let client = vod_client(global)?;
    if !args.yes && !confirm(&args.file_ids)? {
        return Err(CliError::failure("nothing deleted"));
    }
    let mut failures = Vec::new();
    for id in &args.file_ids {
        match client
            .call(&DeleteMediaRequest {
                file_id: id.clone(),
                sub_app_id: global.sub_app_id,
                delete_parts: None,
            })
            .await
        {
            Ok(_) => println!("{id}: deleted for good"),
            Err(err) => {
                let explained = explain(&err);
                eprintln!("error: {id}: {}", explained.message);
                failures.push(id.clone());
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "could not delete: {}",
            failures.join(", ")
        )))
    }
}
