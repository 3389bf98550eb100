//! `voddesk publish`, `suspend`, `restore` and `delete`: WeChat publishing from scripts.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::config::ServiceConfig;
use crate::engine::api::{PublishState, UserError};
use crate::engine::publish::{ReviewOutcome, format_elapsed};
use crate::engine::publisher::{MediaStatus, Publisher, is_forbidden, reconcile, refused};
use crate::store::{PendingReview, Store, unix_now};
use crate::tencent::clock::Clock;
use crate::tencent::vod::{VodClient, http_client};

/// Arguments of `voddesk publish`.
#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The VOD FileId of a finished video.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub file_id: String,
    /// Transcode template to publish (0 = the original); picked automatically when absent.
    #[arg(long)]
    pub definition: Option<i64>,
    /// Wait for WeChat's review to finish (it can take up to 4 hours). A review already
    /// running for the file, started with this data directory (here or in the app), is
    /// followed, not submitted again.
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
    #[arg(required = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub file_ids: Vec<String>,
}

/// Arguments of `voddesk delete`.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// VOD FileIds.
    #[arg(required = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub file_ids: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// A VOD client from the resolved service configuration.
///
/// # Errors
/// A usage error when no API key is configured or an endpoint is malformed.
pub fn vod_client(config: &ServiceConfig) -> Result<VodClient, CliError> {
    let credentials = config
        .credentials
        .clone()
        .ok_or_else(|| super::no_api_key(false))?;
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

/// `err` about `file_id`, naming the file once.
fn about(file_id: &str, err: &UserError) -> String {
    if err.message.contains(file_id) {
        err.to_string()
    } else {
        format!("{file_id}: {err}")
    }
}

fn failure(err: &UserError) -> CliError {
    CliError::failure(err.to_string())
}

/// A publisher over the resolved configuration (read once: the saved settings are a file).
fn publisher(global: &GlobalArgs) -> Result<Publisher, CliError> {
    let config = global.service_config();
    Ok(Publisher::new(vod_client(&config)?, config.sub_app_id))
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

/// The local database, for remembering reviews and keeping queue items in step; publishing
/// works without it, with a warning that ends with `without` (what is lost).
fn open_store(global: &GlobalArgs, without: &str) -> Option<Store> {
    match Store::open_in(&global.data_dir()) {
        Ok(store) => Some(store),
        Err(err) => {
            eprintln!("warning: cannot open the local database ({err:#}); {without}");
            None
        }
    }
}

/// Held while a run checks for a review and submits one, so that runs started together in
/// one data directory submit one review between them. `None` where there is no lock to take.
async fn submit_lock(global: &GlobalArgs) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(global.data_dir().join("publish.lock"))
        .ok()?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Some(file),
            // Another run's submission takes a request or two; past a minute it is stuck.
            Err(std::fs::TryLockError::WouldBlock)
                if started.elapsed() < Duration::from_secs(60) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => return None,
        }
    }
}

/// Records how a file's publication changed in the local database (best effort: the service
/// holds the truth, and the next `info` or refresh brings the queue back in step).
fn remember(store: Option<&Store>, file_id: &str, state: &PublishState) {
    if let Some(store) = store
        && let Err(err) = store.end_review(file_id, state)
    {
        eprintln!("warning: cannot record this in the local database: {err:#}");
    }
}

/// A review already running for the file (started by an earlier `publish` or by the app), and
/// where it stands now; `None` when there is none, it is for another definition, or the
/// service no longer knows its task.
async fn earlier_review(
    publisher: &Publisher,
    store: Option<&Store>,
    args: &PublishArgs,
) -> Result<Option<(PendingReview, ReviewOutcome)>, CliError> {
    let Some(pending) = store.and_then(|store| store.pending_review(&args.file_id).ok().flatten())
    else {
        return Ok(None);
    };
    if args.definition.is_some_and(|d| d != pending.definition) {
        return Ok(None);
    }
    match publisher.poll(&pending.task_id).await {
        Ok(outcome) => Ok(Some((pending, outcome))),
        Err(err) if err.retryable => Err(CliError::failure(format!(
            "{}: cannot check the review already running (task {}): {err}",
            args.file_id, pending.task_id
        ))),
        Err(err) => {
            tracing::info!(task = %pending.task_id, "the service no longer knows the task: {err}");
            Ok(None)
        }
    }
}

/// A review to follow or the one just submitted, how it stands when known, and whether it
/// was already running.
async fn start_or_follow(
    publisher: &Publisher,
    store: Option<&Store>,
    args: &PublishArgs,
    global: &GlobalArgs,
) -> Result<(PendingReview, Option<ReviewOutcome>, bool), CliError> {
    let file_id = args.file_id.as_str();
    let _lock = submit_lock(global).await;
    if let Some((review, outcome)) = earlier_review(publisher, store, args).await? {
        // A review of a file deleted since (elsewhere, too) will never publish anything.
        if matches!(outcome, ReviewOutcome::Pending)
            && matches!(publisher.status(file_id).await, Ok(MediaStatus::Deleted))
        {
            remember(store, file_id, &PublishState::Deleted);
            return Err(CliError::failure(format!(
                "{file_id}: no such media in VOD any more (it was deleted), so its review (task {}) cannot publish it",
                review.task_id
            )));
        }
        return Ok((review, Some(outcome), true));
    }
    let submitted = publisher
        .submit(file_id, args.definition)
        .await
        .map_err(|err| CliError::failure(about(file_id, &err)))?;
    let review = PendingReview {
        task_id: submitted.task_id,
        definition: submitted.definition,
        since: unix_now(),
    };
    if let Some(store) = store
        && let Err(err) = store.record_review(file_id, &review)
    {
        eprintln!(
            "warning: cannot remember the review in the local database ({err:#}); running publish again would start another"
        );
    }
    Ok((review, None, false))
}

/// Runs `voddesk publish`.
///
/// A review already running for the file is followed rather than started again, so running
/// the command a second time (or with `--wait` after a first run without) is safe.
///
/// # Errors
/// When the file cannot be published or the review refuses it.
pub async fn publish(args: &PublishArgs, global: &GlobalArgs) -> Result<(), CliError> {
    // Listening from the start: a Ctrl-C while the first requests run is not lost.
    let mut interrupt = super::Interrupt::listen();
    let publisher = publisher(global)?;
    let store = open_store(global, "this review will not be remembered");
    let store = store.as_ref();
    let file_id = args.file_id.as_str();
    let (review, mut outcome, followed) = tokio::select! {
        started = start_or_follow(&publisher, store, args, global) => started?,
        () = interrupt.recv() => {
            return Err(CliError::failure(format!(
                "{file_id}: stopped before the service answered; run `voddesk publish {file_id}` again (it follows a review already recorded rather than submitting another)"
            )));
        }
    };
    if matches!(outcome, Some(ReviewOutcome::Pending)) {
        outcome = None;
    }
    let task_id = review.task_id.as_str();
    let print_line = |state: &str, publish_result: Option<&str>, url: Option<&str>| {
        print_json(&PublishLine {
            file_id,
            task_id,
            state,
            publish_result,
            url,
        });
    };
    let running = format!(
        "under review for {} (task {task_id}, definition {})",
        format_elapsed(unix_now() - review.since),
        review.definition
    );
    let outcome = match outcome {
        Some(outcome) => outcome,
        None if !args.wait => {
            if args.json {
                print_line("under_review", None, None);
            } else if followed {
                out!(
                    "{file_id}: already {running}; not submitted again. It can take up to 4 hours; wait with `voddesk publish {file_id} --wait`."
                );
            } else {
                out!(
                    "{file_id}: submitted for WeChat review (task {task_id}, definition {}); it can take up to 4 hours. Wait with `voddesk publish {file_id} --wait`.",
                    review.definition
                );
            }
            return Ok(());
        }
        None => {
            if !args.json {
                if followed {
                    eprintln!("{file_id}: already {running}; waiting for it to end…");
                } else {
                    eprintln!(
                        "{file_id}: under review (definition {}); this can take up to 4 hours…",
                        review.definition
                    );
                }
            }
            let elapsed =
                Duration::from_secs(u64::try_from(unix_now() - review.since).unwrap_or(0));
            tokio::select! {
                outcome = publisher.wait_review(task_id, elapsed) => outcome.map_err(|err| failure(&err))?,
                () = interrupt.recv() => {
                    // Only the waiting stops: the review goes on at the service, and running
                    // publish again follows it.
                    if args.json {
                        print_line("under_review", None, None);
                    }
                    return Err(CliError::failure(format!(
                        "{file_id}: stopped waiting; the review (task {task_id}) goes on at the service. Run `voddesk publish {file_id} --wait` to follow it again."
                    )));
                }
            }
        }
    };
    report(&publisher, store, args, &review, outcome).await
}

/// Says how the review ended, and records it: published (with its URL, and its QR code on a
/// terminal) or refused (with why).
async fn report(
    publisher: &Publisher,
    store: Option<&Store>,
    args: &PublishArgs,
    review: &PendingReview,
    outcome: ReviewOutcome,
) -> Result<(), CliError> {
    let file_id = args.file_id.as_str();
    let print_line = |state: &str, publish_result: Option<&str>, url: Option<&str>| {
        print_json(&PublishLine {
            file_id,
            task_id: &review.task_id,
            state,
            publish_result,
            url,
        });
    };
    match outcome {
        ReviewOutcome::Passed => {
            let url = publisher
                .published_url(file_id, review.definition)
                .await
                .map_err(|err| failure(&err))?;
            remember(
                store,
                file_id,
                &PublishState::Published {
                    url: url.clone(),
                    definition: review.definition,
                },
            );
            if args.json {
                print_line("published", Some("Pass"), Some(&url));
            } else {
                out!("{file_id}: published to WeChat: {url}");
                if std::io::stdout().is_terminal()
                    && let Ok(matrix) = crate::qr::QrMatrix::encode(&url)
                {
                    print!("{}", matrix.to_terminal());
                }
            }
            Ok(())
        }
        ReviewOutcome::Refused { result, message } => {
            remember(store, file_id, &refused(&result, &message));
            if args.json {
                print_line("rejected", Some(&result), None);
            }
            Err(CliError::failure(format!("{file_id}: {message}")))
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

/// Runs `action` on each file, printing what it says of each success and the error of each
/// failure; fails after all were tried when any failed.
async fn each_file<F, Fut>(file_ids: &[String], mut action: F) -> Result<(), CliError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<String, UserError>>,
{
    let mut failed = 0;
    for id in file_ids {
        match action(id.clone()).await {
            Ok(done) => out!("{id}: {done}"),
            Err(err) => {
                eprintln!("error: {}", about(id, &err));
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        _ if file_ids.len() == 1 => Err(CliError::failure_quiet()),
        _ => Err(CliError::failure(format!(
            "{failed} of {} files failed",
            file_ids.len()
        ))),
    }
}

/// Brings the queue items holding `file_id` in step with what the service now says.
fn reconcile_local(store: Option<&Store>, file_id: &str, status: &MediaStatus) {
    let Some(store) = store else {
        return;
    };
    let Ok(items) = store.publications_of_file(file_id) else {
        return;
    };
    for (item, current) in items {
        let next = reconcile(&current, status);
        if next != current
            && let Err(err) = store.set_publication(item, &next)
        {
            eprintln!("warning: cannot record this in the local database: {err:#}");
        }
    }
}

fn is_suspended(status: &MediaStatus) -> bool {
    matches!(status, MediaStatus::Present { info } if is_forbidden(info))
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
    let store = open_store(global, "the queue will not show the change");
    let store = store.as_ref();
    each_file(&args.file_ids, |id| {
        let publisher = publisher.clone();
        async move {
            let before = publisher.status(&id).await?;
            if matches!(before, MediaStatus::Deleted) {
                reconcile_local(store, &id, &before);
                return Err(UserError {
                    message: format!(
                        "no media with FileId {id} in VOD (it was deleted, or the FileId is wrong)"
                    ),
                    code: Some("ResourceNotFound.FileNotExist".into()),
                    request_id: None,
                    retryable: false,
                });
            }
            if is_suspended(&before) == suspend {
                reconcile_local(store, &id, &before);
                return Ok(if suspend {
                    "already suspended; nothing changed".to_owned()
                } else {
                    "not suspended; nothing changed".to_owned()
                });
            }
            publisher.set_suspended(&id, suspend).await?;
            if let Ok(after) = publisher.status(&id).await {
                reconcile_local(store, &id, &after);
            }
            Ok(if suspend {
                "suspended (its URLs stop playing until restored)".to_owned()
            } else {
                "restored (its URLs play again)".to_owned()
            })
        }
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
    let store = open_store(global, "the queue will not show the deletion");
    let store = store.as_ref();
    each_file(&args.file_ids, |id| {
        let publisher = publisher.clone();
        async move {
            publisher.delete(&id).await?;
            remember(store, &id, &PublishState::Deleted);
            Ok("deleted for good".to_owned())
        }
    })
    .await
}
