//! `voddesk queue`: the persisted items listed (as text or JSON lines), and `queue resume`,
//! which continues interrupted and paused items through the same engine as `upload`.

use super::*;

/// `voddesk queue`.
#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// `resume`: continue every unfinished item.
    #[command(subcommand)]
    pub action: Option<QueueAction>,
    /// One JSON object per item and line.
    #[arg(long, global = true)]
    pub json: bool,
}

/// What to do with the queue.
#[derive(Debug, Clone, Subcommand)]
pub enum QueueAction {
    /// Resume every unfinished item and wait for them.
    Resume,
}

/// The state of a listed item: an upload under way when no engine works on the queue was
/// cut off (a crash, `kill -9`, a closed laptop) and is `interrupted` until resumed.
pub(super) fn listed_state_name(state: &ItemState, running: bool) -> &'static str {
    match state {
        ItemState::Applying | ItemState::Uploading { .. } | ItemState::Committing if !running => {
            "interrupted"
        }
        _ => state_name(state),
    }
}

pub(super) fn state_name(state: &ItemState) -> &'static str {
    match state {
        ItemState::Queued => "queued",
        ItemState::Applying => "applying",
        ItemState::Uploading { .. } => "uploading",
        ItemState::Committing => "committing",
        ItemState::Done { .. } => "done",
        ItemState::Paused => "paused",
        ItemState::Failed(_) => "failed",
        ItemState::Cancelled => "cancelled",
    }
}

/// Runs `voddesk queue` and `voddesk queue resume`.
///
/// # Errors
/// When the database cannot be read, or an item failed to resume.
pub fn run_queue(
    args: &QueueArgs,
    global: &GlobalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    match args.action {
        None => list_queue(args.json, global),
        Some(QueueAction::Resume) => resume_queue(args.json, global, runtime),
    }
}

/// The WeChat publication of a queue item as `voddesk queue` shows it: a state word and the
/// publishing URL when there is one.
pub(super) fn publication_words(state: &PublishState) -> (&'static str, Option<&str>) {
    match state {
        PublishState::NotPublished => ("not_published", None),
        PublishState::UnderReview { .. } => ("under_review", None),
        PublishState::Published { url, .. } => ("published", Some(url)),
        PublishState::Rejected(_) => ("rejected", None),
        PublishState::Suspended { url } => ("suspended", Some(url)),
        PublishState::Deleted => ("deleted_from_vod", None),
    }
}

pub(super) fn list_queue(json: bool, global: &GlobalArgs) -> Result<(), CliError> {
    let data_dir = global.data_dir();
    let store = Store::open_in(&data_dir)
        .map_err(|err| CliError::failure(format!("cannot open the upload queue: {err:#}")))?;
    let items = store
        .items()
        .map_err(|err| CliError::failure(format!("cannot read the upload queue: {err:#}")))?;
    let running = crate::engine::is_running(&data_dir);
    let mut interrupted = 0;
    for item in items {
        let listed = Listed::of(&store, &item, running);
        if listed.state == "interrupted" {
            interrupted += 1;
        }
        if json {
            out!("{}", listed.json(&item));
        } else {
            out!("{}", listed.text(&item));
        }
    }
    if interrupted > 0 && !json {
        let items = if interrupted == 1 {
            "item was"
        } else {
            "items were"
        };
        eprintln!(
            "note: {interrupted} {items} cut off mid-upload; `voddesk queue resume` (or the app) continues from the parts already sent"
        );
    }
    Ok(())
}

/// One item as `queue` lists it.
struct Listed {
    state: &'static str,
    file_id: Option<String>,
    media_url: Option<String>,
    cover_url: Option<String>,
    error: Option<String>,
    publication: PublishState,
    /// Bytes of the parts the server has.
    uploaded: u64,
}

impl Listed {
    fn of(store: &Store, item: &ItemRecord, running: bool) -> Self {
        let (file_id, media_url, cover_url) = match &item.state {
            ItemState::Done {
                file_id,
                media_url,
                cover_url,
                ..
            } => (
                Some(file_id.clone()),
                Some(media_url.clone()),
                cover_url.clone(),
            ),
            _ => (None, None, None),
        };
        let error = match &item.state {
            ItemState::Failed(err) => Some(err.to_string()),
            _ => None,
        };
        let publication = if file_id.is_some() {
            store.publication(item.id).unwrap_or_default()
        } else {
            PublishState::NotPublished
        };
        let uploaded = store
            .parts(item.id)
            .map(|parts| parts.iter().map(|p| p.size).sum())
            .unwrap_or(0);
        Self {
            state: listed_state_name(&item.state, running),
            file_id,
            media_url,
            cover_url,
            error,
            publication,
            uploaded,
        }
    }

    /// The `--json` line.
    fn json(&self, item: &ItemRecord) -> serde_json::Value {
        let (publish, publish_url) = publication_words(&self.publication);
        serde_json::json!({
            "id": item.id,
            "path": item.path.display().to_string(),
            "size": item.size,
            "state": self.state,
            "uploaded_bytes": if self.file_id.is_some() { item.size } else { self.uploaded },
            "file_id": self.file_id,
            "media_url": self.media_url,
            "cover_url": self.cover_url,
            "error": self.error,
            "publish": publish,
            "publish_url": publish_url,
        })
    }

    /// The tab-separated line: id, state, size, path, then the FileId, the error and the
    /// publication when there are.
    fn text(&self, item: &ItemRecord) -> String {
        let mut line = format!(
            "{}\t{}\t{}\t{}",
            item.id,
            self.state,
            item.size,
            // A tab or a newline in a name would break the columns a script splits on.
            item.path
                .display()
                .to_string()
                .replace('\t', "\\t")
                .replace('\n', "\\n")
        );
        if let Some(file_id) = &self.file_id {
            line.push('\t');
            line.push_str(file_id);
        }
        if let Some(error) = &self.error {
            line.push('\t');
            line.push_str(error);
        }
        if !matches!(self.publication, PublishState::NotPublished) {
            let (publish, publish_url) = publication_words(&self.publication);
            line.push('\t');
            line.push_str(match self.publication {
                PublishState::Deleted => "deleted from VOD",
                PublishState::UnderReview { .. } => "under review",
                _ => publish,
            });
            if let Some(url) = publish_url {
                line.push_str(": ");
                line.push_str(url);
            }
        }
        line
    }
}

pub(super) fn resume_queue(
    json: bool,
    global: &GlobalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let mut config = engine_config(global, None)?;
    config.auto_resume = true;
    let data_dir = config.service.data_dir.clone();
    let mut engine = start(config, runtime)?;
    let ok = runtime.block_on(async {
        let mut tracker = Tracker::new();
        let Some(Event::Loaded(loaded)) = engine.recv().await else {
            return Err(CliError::failure("the upload engine did not start"));
        };
        let mut order = Vec::new();
        for snapshot in &loaded {
            // Unfinished: queued (interrupted), paused, or failed for a reason that may pass.
            let command = match &snapshot.state {
                ItemState::Queued => None,
                ItemState::Paused => Some(Command::Resume(snapshot.id)),
                ItemState::Failed(err) if err.retryable => Some(Command::Retry(snapshot.id)),
                _ => continue,
            };
            if let Some(command) = command {
                let _ = engine.send(command).await;
            }
            let shown = snapshot.path.display().to_string();
            tracker.names.insert(snapshot.id, shown.clone());
            tracker.sizes.insert(snapshot.id, snapshot.size);
            order.push((shown, Some(snapshot.id), None));
        }
        // The engine may say Idle before it has taken the Resume and Retry commands (nothing
        // was queued at start): only an Idle after it moved one of these items ends the wait.
        let mut moved = false;
        while !tracker.all_ended() {
            let Some(event) = engine.recv().await else {
                break;
            };
            match &event {
                Event::Idle if moved || order.is_empty() => break,
                Event::StateChanged { id, .. } if tracker.names.contains_key(id) => moved = true,
                _ => {}
            }
            tracker.event(&event);
        }
        let _ = engine.shutdown().await;
        if order.is_empty() && !json {
            eprintln!("nothing to resume");
        }
        let store = Store::open_in(&data_dir).ok();
        Ok(print_results(&mut tracker, &order, store.as_ref(), json))
    })?;
    if ok {
        Ok(())
    } else {
        Err(CliError::failure_quiet())
    }
}
