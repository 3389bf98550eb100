//! What `upload` and `queue resume` print when their items have ended: a line for each file
//! uploaded, an error for each that was not, and how to retry.

use super::*;

/// Prints what became of each file of `order`, in that order: its line on stdout when it
/// uploaded (with `--json`, a JSON object), an error on stderr when it did not, and how to
/// retry when a failure may pass. Returns whether every file uploaded.
pub(super) fn print_results(
    tracker: &mut Tracker,
    order: &[(String, Option<ItemId>, Option<String>)],
    store: Option<&Store>,
    json: bool,
) -> bool {
    tracker.clear_line();
    let mut ok = true;
    let mut retryable = false;
    for (path, id, rejected) in order {
        if let Some(reason) = rejected {
            eprintln!("error: {path}: not uploaded: {reason}");
            ok = false;
            continue;
        }
        let Some(id) = id else {
            continue;
        };
        match tracker.outcomes.get(id) {
            Some(Outcome::Done(ItemState::Done {
                file_id,
                media_url,
                cover_url,
                ..
            })) => {
                let sizes = sizes(tracker, store, *id);
                print_uploaded(path, file_id, media_url, cover_url.as_deref(), sizes, json);
            }
            Some(Outcome::Failed(err)) => {
                eprintln!("error: {path}: {err}");
                retryable |= err.retryable;
                ok = false;
            }
            Some(Outcome::Cancelled) => {
                eprintln!("error: {path}: cancelled");
                ok = false;
            }
            Some(Outcome::Done(_)) | None => {
                eprintln!(
                    "error: {path}: the upload stopped before it finished; run the command again to resume it"
                );
                ok = false;
            }
        }
    }
    if retryable {
        // The messages are the app's, whose Retry button is, here, this command.
        eprintln!(
            "note: to retry, run `voddesk queue resume` (or the same upload again): the parts already sent are reused as long as the file is unchanged"
        );
    }
    ok
}

/// An uploaded item's size and the bytes of it that were already uploaded before this run
/// (resumed): from the queue's record when there is one, else the size the engine announced.
fn sizes(tracker: &Tracker, store: Option<&Store>, id: ItemId) -> (u64, u64) {
    let record: Option<ItemRecord> = store.and_then(|s| s.item(id).ok().flatten());
    let size = record
        .as_ref()
        .map_or_else(|| tracker.sizes.get(&id).copied().unwrap_or(0), |r| r.size);
    let resumed = record.map_or(0, |r| r.resumed_bytes);
    (size, resumed)
}

/// An uploaded file's line on stdout: path, FileId, media URL and cover URL separated by
/// tabs, with a note when part of it was resumed; with `--json`, one JSON object.
fn print_uploaded(
    path: &str,
    file_id: &str,
    media_url: &str,
    cover_url: Option<&str>,
    (size, resumed): (u64, u64),
    json: bool,
) {
    if json {
        out!(
            "{}",
            serde_json::json!({
                "path": path,
                "file_id": file_id,
                "media_url": media_url,
                "cover_url": cover_url,
                "size": size,
                "resumed_bytes": resumed,
            })
        );
    } else {
        let mut line = format!("{path}\t{file_id}\t{media_url}");
        if let Some(cover) = cover_url {
            line.push('\t');
            line.push_str(cover);
        }
        if resumed > 0 {
            line.push_str(&format!(
                "\t(resumed, {resumed} bytes were already uploaded)"
            ));
        }
        out!("{line}");
    }
}
