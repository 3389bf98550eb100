//! Upload signatures: made locally from the API key, or fetched from the signature service.

use super::*;

/// A fresh upload signature for one request: made locally from the API key, or fetched from
/// the signature service. Never reused, so one-time signatures work.
pub(super) async fn signature(
    shared: &Shared,
    options: &ItemOptions,
) -> Result<String, TencentError> {
    if let Some(url) = &shared.service.signature_url {
        return fetch_signature(&shared.http, url).await;
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

/// Fetches a signature: `{"signature": …}`, `{"data": {"signature": …}}` or plain text.
pub(super) async fn fetch_signature(
    http: &reqwest::Client,
    url: &str,
) -> Result<String, TencentError> {
    let response = http
        .get(url)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|err| TencentError::network("signature service", &err))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| TencentError::network("signature service", &err))?;
    if !status.is_success() {
        return Err(TencentError::Http {
            service: "signature service",
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
            request_id: String::new(),
        });
    }
    let parsed = serde_json::from_str::<serde_json::Value>(&text).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        v.get("signature")
            .or_else(|| v.get("data").and_then(|d| d.get("signature")))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    });
    let signature = from_json.unwrap_or_else(|| text.trim().trim_matches('"').to_owned());
    if ugc_sign::decode(&signature).is_err() {
        return Err(TencentError::Malformed {
            service: "signature service",
            detail: "the answer holds no upload signature".into(),
        });
    }
    Ok(signature)
}
