//! Upload signatures: made locally from the API key, or fetched from the signature service.

use super::*;

/// A fresh upload signature for one request: made locally from the API key, or fetched from
/// the signature service. Never reused, so one-time signatures work.
pub(super) async fn signature(
    shared: &Shared,
    options: &ItemOptions,
) -> Result<String, TencentError> {
    if let Some(url) = &shared.service.signature_url {
        return sign_service::fetch(&shared.http, url, shared.service.signature_token.as_ref())
            .await;
    }
    let Some(credentials) = &shared.service.credentials else {
        return Err(TencentError::Malformed {
            service: "configuration",
            detail: "no API key and no signature service is set".into(),
        });
    };
    let now = shared.clock.now();
    let params = SignatureParams {
        secret_id: credentials.secret_id.clone(),
        current_time: now,
        expire_time: now + SIGNATURE_SECONDS,
        random: rand::random(),
        procedure: options.procedure.clone(),
        source_context: options.source_context.clone(),
        class_id: options.class_id,
        vod_sub_app_id: options.sub_app_id.or(shared.service.sub_app_id),
        storage_region: options.storage_region.clone(),
        ..SignatureParams::default()
    };
    params
        .sign(credentials.secret_key())
        .map_err(|err| TencentError::Malformed {
            service: "upload signature",
            detail: err.to_string(),
        })
}
