//! `voddesk info FILE_ID...`: what VOD says of media (`DescribeMediaInfos`).

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::engine::api::PublishState;
use crate::engine::errors::user_error;
use crate::engine::publish::{ReviewOutcome, format_elapsed};
use crate::engine::publisher::{MediaStatus, Publisher, derive_publish_state, reconcile, refused};
use crate::store::{Store, unix_now};
use crate::tencent::models::{DescribeMediaInfosRequest, MediaInfo};

/// `voddesk info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// The media's FileIds.
    #[arg(required = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub file_ids: Vec<String>,
    /// One JSON object per file and line.
    #[arg(long)]
    pub json: bool,
}

/// The publishing URL of a media, when a review passed (also while suspended).
fn publish_url(info: &MediaInfo) -> Option<String> {
    match crate::engine::publisher::derive_publish_state(info) {
        PublishState::Published { url, .. } | PublishState::Suspended { url } => Some(url),
        _ => None,
    }
}

/// Brings the local record of `info`'s file in step with the service (as the app's refresh
/// does) and says what the service's data cannot: a review still running, or how the last one
/// ended when it refused the file.
async fn local_review(store: &Store, publisher: &Publisher, info: &MediaInfo) -> Option<String> {
    let file_id = info.file_id.as_str();
    let derived = derive_publish_state(info);
    // A review still running comes first: what the service shows may be an earlier
    // publication of the same file.
    if let Some(pending) = store.pending_review(file_id).ok().flatten() {
        match publisher.poll(&pending.task_id).await {
            Ok(ReviewOutcome::Pending) => {
                return Some(format!(
                    "under review for {} (task {})",
                    format_elapsed(unix_now() - pending.since),
                    pending.task_id
                ));
            }
            Ok(ReviewOutcome::Refused { result, message }) => {
                let _ = store.end_review(file_id, &refused(&result, &message));
                return Some(message);
            }
            Ok(ReviewOutcome::Passed) if matches!(derived, PublishState::NotPublished) => {
                return Some(format!(
                    "review passed (task {}); run `voddesk publish {file_id}` for the URL",
                    pending.task_id
                ));
            }
            Ok(ReviewOutcome::Passed) => {
                let _ = store.end_review(file_id, &derived);
            }
            Err(err) => {
                return Some(format!(
                    "under review (task {}); its state cannot be read now: {err}",
                    pending.task_id
                ));
            }
        }
    }
    // No review running: the service's data is the truth for the queue's items of the file.
    let status = MediaStatus::Present {
        info: Box::new(info.clone()),
    };
    let mut refused = None;
    for (item, current) in store.publications_of_file(file_id).ok()? {
        let next = reconcile(&current, &status);
        if next != current {
            let _ = store.set_publication(item, &next);
        }
        if let PublishState::Rejected(err) = next {
            refused = Some(err.message);
        }
    }
    refused
}

/// Runs `voddesk info`.
///
/// # Errors
/// No credentials, a service error, or an unknown or deleted FileId (after the others print).
pub fn run(
    args: &InfoArgs,
    global: &GlobalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let service = global.service_config();
    let client = super::publish::vod_client(&service)?;
    let store = crate::store::Store::open_in(&global.data_dir()).ok();
    let publisher = Publisher::new(client.clone(), service.sub_app_id);
    let mut ok = true;
    for chunk in args.file_ids.chunks(20) {
        let request = DescribeMediaInfosRequest {
            file_ids: chunk.to_vec(),
            sub_app_id: service.sub_app_id,
            filters: None,
        };
        let response = runtime.block_on(client.call(&request)).map_err(|err| {
            CliError::failure(user_error("describing the media", &err).to_string())
        })?;
        for file_id in chunk {
            if response.not_exist_file_id_set.contains(file_id) {
                if let Some(store) = &store {
                    let _ = store.end_review(file_id, &PublishState::Deleted);
                }
                eprintln!(
                    "error: {file_id}: no such media in VOD (it was deleted, or the FileId is wrong)"
                );
                ok = false;
                continue;
            }
            let Some(info) = response
                .media_info_set
                .iter()
                .find(|m| &m.file_id == file_id)
            else {
                eprintln!("error: {file_id}: VOD returned nothing for this FileId");
                ok = false;
                continue;
            };
            let basic = info.basic_info.clone().unwrap_or_default();
            let publish = publish_url(info);
            let review = store
                .as_ref()
                .and_then(|store| runtime.block_on(local_review(store, &publisher, info)));
            if args.json {
                out!(
                    "{}",
                    serde_json::json!({
                        "file_id": file_id,
                        "name": basic.name,
                        "status": basic.status,
                        "media_url": basic.media_url,
                        "cover_url": Some(basic.cover_url).filter(|u| !u.is_empty()),
                        "publish_url": publish,
                    })
                );
            } else {
                let mut line = format!(
                    "{file_id}\t{}\t{}\t{}",
                    basic.status, basic.name, basic.media_url
                );
                if let Some(url) = publish {
                    line.push_str(&format!("\tpublished: {url}"));
                }
                if let Some(review) = review {
                    line.push('\t');
                    line.push_str(&review);
                }
                out!("{line}");
            }
        }
    }
    if ok {
        Ok(())
    } else {
        Err(CliError::failure_quiet())
    }
}
