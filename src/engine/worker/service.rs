//! Service calls the app asks for that are not queue items: testing a key before it is saved,
//! and fetching WeChat Work media back. Each runs as a task of its own and answers with one
//! event, so the worker never waits on the network and the app never builds an HTTP client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Worker;
use crate::engine::api::{ConnectionProbe, ConnectionReport, Event, UserError};
use crate::engine::errors;
use crate::engine::job::JobMsg;
use crate::wecom::{WeComClient, WeComError};

/// How long a connection test waits for an answer.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

impl Worker {
    /// Answers [`crate::engine::api::Command::TestConnection`] from a task of its own.
    pub(super) fn test_connection(&self, probe: ConnectionProbe) {
        let shared = Arc::clone(&self.shared);
        let tx = self.job_tx.clone();
        tokio::spawn(async move {
            let endpoint = probe
                .endpoint
                .clone()
                .unwrap_or_else(|| shared.service.endpoints.vod.clone());
            let credentials = probe
                .credentials
                .clone()
                .or_else(|| shared.service.credentials.clone());
            let result = match credentials {
                None => Err(UserError {
                    message: "There is no API key to test: enter a SecretId and SecretKey first."
                        .to_owned(),
                    code: Some("VodDesk.NoKey".to_owned()),
                    request_id: None,
                    retryable: false,
                }),
                Some(credentials) => probe_call(&shared, &endpoint, &probe, credentials).await,
            };
            let _ = tx
                .send(JobMsg::Event(Event::ConnectionTested(result)))
                .await;
        });
    }

    /// Answers [`crate::engine::api::Command::SaveWeComCopy`] from a task of its own.
    pub(super) fn save_wecom_copy(&self, media_id: String, target: PathBuf) {
        let primary = self.shared.wecom.clone();
        let fallback = self.config.wecom_fallback.clone().map(|(endpoint, app)| {
            WeComClient::new(
                self.shared.http.clone(),
                &endpoint,
                &app.corp_id,
                &app.secret,
            )
        });
        let tx = self.job_tx.clone();
        tokio::spawn(async move {
            let result = match primary {
                None => Err(WeComError::Malformed(
                    "no WeChat Work application is set up".to_owned(),
                )),
                Some(client) => match (client.download(&media_id, &target).await, fallback) {
                    (Err(WeComError::Service { errcode: 40007, .. }), Some(demo)) => {
                        demo.download(&media_id, &target).await
                    }
                    (result, _) => result,
                },
            };
            let result = result.map_err(|err| copy_error(&err));
            let _ = tx
                .send(JobMsg::Event(Event::CopySaved { media_id, result }))
                .await;
        });
    }
}

async fn probe_call(
    shared: &crate::engine::job::Shared,
    endpoint: &str,
    probe: &ConnectionProbe,
    credentials: crate::tencent::Credentials,
) -> Result<ConnectionReport, UserError> {
    use crate::tencent::{models::SearchMediaRequest, retry::RetryPolicy, vod::VodClient};
    let client = VodClient::new(
        shared.http.clone(),
        endpoint,
        &probe.region,
        credentials,
        Arc::clone(&shared.clock),
    )
    .map_err(|err| errors::user_error("testing the connection", &err))?
    .with_retry(RetryPolicy::none());
    let request = SearchMediaRequest {
        sub_app_id: probe.sub_app_id,
        limit: Some(1),
        ..SearchMediaRequest::default()
    };
    match tokio::time::timeout(TEST_TIMEOUT, client.call(&request)).await {
        Err(_) => Err(UserError {
            message: format!(
                "No answer from {endpoint} within {} seconds.",
                TEST_TIMEOUT.as_secs()
            ),
            code: Some("VodDesk.Timeout".to_owned()),
            request_id: None,
            retryable: true,
        }),
        Ok(Err(err)) => Err(errors::user_error("testing the connection", &err)),
        Ok(Ok(found)) => Ok(ConnectionReport {
            endpoint: endpoint.to_owned(),
            total: found.total_count,
            request_id: found.request_id,
        }),
    }
}

/// A failed copy in plain words, with WeCom's errcode as the code.
fn copy_error(err: &WeComError) -> UserError {
    let code = match err {
        WeComError::Service { errcode, .. } => Some(errcode.to_string()),
        _ => None,
    };
    UserError {
        message: format!("The copy could not be saved: {err}."),
        code,
        request_id: None,
        retryable: matches!(err, WeComError::Network(_)),
    }
}
