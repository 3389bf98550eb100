//! Giving up uploads: aborting multipart uploads on cancel, remove and restart, and the sweep
//! of those whose abort failed.

use super::*;

/// Aborts an item's multipart upload on the server, when it has one. Used by cancel, remove
/// and restarts; the session rows stay for the caller to delete. When the abort fails for a
/// reason that may pass (the network, the service), the upload is kept as a leftover for
/// [`sweep_leftovers`] to abort on a later start.
pub(super) async fn abort_session(shared: &Shared, item: &ItemRecord) -> Result<(), JobError> {
    let Some(record) = shared.store.session(item.id)? else {
        return Ok(());
    };
    let result = abort_upload(shared, &record, &item.options).await;
    if let Err(err) = &result
        && err.may_pass()
        && let Err(store) = shared.store.add_leftover(&record, &item.options)
    {
        tracing::warn!(
            item = item.id,
            "cannot remember an upload to abort: {store:#}"
        );
    }
    result
}

/// Aborts at most this many leftovers per sweep (a start with the service still down then
/// costs little).
const SWEEP_MAX: usize = 50;
/// Leftovers older than this are forgotten: VOD sessions last a day, and the service removes
/// what was never committed.
const LEFTOVER_DAYS: i64 = 7;

/// Aborts the multipart uploads that earlier aborts left on the server (see
/// [`abort_session`]); returns how many were removed from the server.
pub(crate) async fn sweep_leftovers(shared: &Shared) -> usize {
    let leftovers = match shared.store.leftovers() {
        Ok(leftovers) => leftovers,
        Err(err) => {
            tracing::warn!("cannot read the uploads left to abort: {err:#}");
            return 0;
        }
    };
    let mut removed = 0;
    for leftover in leftovers.into_iter().take(SWEEP_MAX) {
        if shared.clock.now() - leftover.created_at > LEFTOVER_DAYS * 86_400 {
            forget_leftover(shared, leftover.id);
            continue;
        }
        match abort_leftover(shared, &leftover).await {
            Ok(()) => removed += 1,
            Err(err) => {
                tracing::warn!(
                    "an upload left on the server could not be aborted{}: {}",
                    if err.may_pass() {
                        " (tried again on the next start)"
                    } else {
                        ""
                    },
                    err.into_user()
                );
            }
        }
    }
    if removed > 0 {
        tracing::info!("aborted {removed} upload(s) that an earlier abort left on the server");
    }
    removed
}

/// Aborts `record`'s multipart upload, when it has one, renewing the certificate of the
/// client-upload flow (with `options` in the signature).
pub(super) async fn abort_upload(
    shared: &Shared,
    record: &SessionRecord,
    options: &ItemOptions,
) -> Result<(), JobError> {
    let Some(upload_id) = record.upload_id.clone() else {
        return Ok(());
    };
    let credentials = match record.flow {
        UploadFlow::ServerApi => match record.certificate.clone() {
            Some(cert) if shared.clock.now() < record.cert_expires_at => cert,
            _ => {
                return Err(JobError::User(plain(
                    "The temporary certificate expired, so the unfinished upload cannot be aborted; the service removes it in time.",
                    false,
                )));
            }
        },
        UploadFlow::ClientUpload => renewed_for_abort(shared, record, options).await?,
    };
    let cos = CosClient::new(
        shared.http.clone(),
        CosTarget {
            bucket: record.bucket.clone(),
            region: record.region.clone(),
            endpoint: shared.service.endpoints.cos.clone(),
        },
        credentials,
        Arc::clone(&shared.clock),
    );
    let mut last = None;
    for attempt in 1..=shared.retry.max_attempts.min(5) {
        match cos.abort(&record.media_key, &upload_id).await {
            Ok(()) => return Ok(()),
            Err(err) if err.is_retryable() || err.class() == ErrorClass::ClockSkew => {
                last = Some(err);
                tokio::time::sleep(shared.retry.jittered_delay(attempt)).await;
            }
            Err(err) => {
                last = Some(err);
                break;
            }
        }
    }
    Err(JobError::Service {
        doing: "aborting the unfinished upload".into(),
        err: Box::new(last.unwrap_or(TencentError::Malformed {
            service: "COS",
            detail: "no answer".into(),
        })),
    })
}

/// Fresh credentials for aborting a client-upload session: the client-upload flow keeps no
/// certificate at rest, so the session is applied for again (a few tries) to get one.
async fn renewed_for_abort(
    shared: &Shared,
    record: &SessionRecord,
    options: &ItemOptions,
) -> Result<Credentials, JobError> {
    let ugc = UgcClient::new(shared.http.clone(), &shared.service.endpoints.ugc)
        .map(|client| client.with_clock(Arc::clone(&shared.clock)))
        .map_err(|err| JobError::Service {
            doing: "connecting to the client-upload service".into(),
            err: Box::new(err),
        })?;
    let mut last = None;
    let mut data = None;
    for attempt in 1..=shared.retry.max_attempts.min(4) {
        let result = async {
            let request = ApplyRequest {
                signature: signature(shared, options).await?,
                vod_session_key: Some(record.vod_session_key.clone()),
                ..ApplyRequest::default()
            };
            ugc.apply(&request).await
        }
        .await;
        match result {
            Ok(ok) => {
                data = Some(ok);
                break;
            }
            Err(err) if err.is_retryable() => {
                last = Some(err);
                tokio::time::sleep(shared.retry.jittered_delay(attempt)).await;
            }
            Err(err) => {
                last = Some(err);
                break;
            }
        }
    }
    let Some(data) = data else {
        return Err(JobError::Service {
            doing: "renewing credentials to abort the upload".into(),
            err: Box::new(last.unwrap_or(TencentError::Malformed {
                service: "client upload",
                detail: "no answer".into(),
            })),
        });
    };
    let cert = data.temp_certificate;
    Ok(Credentials::new(cert.secret_id, cert.secret_key).with_token(Some(cert.token)))
}

/// Aborts `leftover`'s multipart upload and forgets it, unless the abort failed for a
/// reason that may pass (then a later sweep tries again).
pub(super) async fn abort_leftover(shared: &Shared, leftover: &Leftover) -> Result<(), JobError> {
    let result = abort_upload(shared, &leftover.session, &leftover.options).await;
    if result.as_ref().is_ok() || result.as_ref().is_err_and(|err| !err.may_pass()) {
        forget_leftover(shared, leftover.id);
    }
    result
}

/// [`abort_leftover`] in the background, for an upload given up without anyone waiting.
pub(crate) fn abort_leftover_later(shared: Arc<Shared>, leftover: Leftover) {
    tokio::spawn(async move {
        if let Err(err) = abort_leftover(&shared, &leftover).await {
            tracing::warn!(
                "an upload given up could not be aborted: {}",
                err.into_user()
            );
        }
    });
}

pub(super) fn forget_leftover(shared: &Shared, id: i64) {
    if let Err(err) = shared.store.delete_leftover(id) {
        tracing::warn!("cannot forget an upload left to abort: {err:#}");
    }
}

/// Gives up an item's upload for a cancel or a remove: the store marks it first (see
/// [`Store::retire_session`]), then the multipart upload is aborted. The error is in plain
/// words.
pub(crate) async fn retire_item(
    shared: &Shared,
    item: &ItemRecord,
    retire: Retire,
) -> Result<(), UserError> {
    let leftover = match shared.store.retire_session(item.id, &item.options, retire) {
        Ok(leftover) => leftover,
        Err(err) => {
            // The session is still stored: abort it directly, as a best effort.
            tracing::warn!(item = item.id, "cannot mark a cancelled upload: {err:#}");
            return abort_session(shared, item).await.map_err(user_abort_error);
        }
    };
    match leftover {
        Some(leftover) => abort_leftover(shared, &leftover)
            .await
            .map_err(user_abort_error),
        None => Ok(()),
    }
}

pub(super) fn user_abort_error(err: JobError) -> UserError {
    let later = err.may_pass();
    let mut user = err.into_user();
    if later {
        user.message
            .push_str(" VodDesk tries to remove it again when it next starts.");
    }
    user
}
