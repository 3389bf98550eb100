//! The VOD API 3.0 client: signed JSON POSTs with retries and clock correction.

use std::sync::Arc;
use std::time::Duration;

use super::Credentials;
use super::clock::Clock;
use super::error::{ErrorClass, TencentError};
use super::models::{self, Action, EnvelopeError};
use super::retry::RetryPolicy;
use super::tc3;

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://vod.tencentcloudapi.com";

/// The HTTP client every Tencent client shares: rustls, bounded connect and read times.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn http_client() -> Result<reqwest::Client, TencentError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("voddesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| TencentError::network("HTTP client", &err))
}

/// A VOD API 3.0 client bound to one endpoint, region and key.
#[derive(Debug, Clone)]
pub struct VodClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    host: String,
    region: String,
    credentials: Credentials,
    clock: Arc<Clock>,
    retry: RetryPolicy,
}

/// The `Host` header for a URL: the host, with the port when the URL names one.
#[must_use]
pub fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Whether `url` names this computer: `localhost`, 127.0.0.0/8 or `::1`.
#[must_use]
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What is wrong with an endpoint, in words, or `None` when it can be used: it must be an
/// absolute `https://` URL, or `http://` to this computer (signed requests and temporary tokens
/// must not cross a network in clear).
#[must_use]
pub fn endpoint_problem(endpoint: &str) -> Option<String> {
    let url = match reqwest::Url::parse(endpoint.trim()) {
        Ok(url) => url,
        Err(err) => return Some(format!("{endpoint:?} is not a URL ({err})")),
    };
    match url.scheme() {
        _ if url.host_str().is_none_or(str::is_empty) => {
            Some(format!("{endpoint:?} is not an http:// or https:// URL"))
        }
        "https" => None,
        "http" if is_loopback(&url) => None,
        "http" => Some(format!(
            "{endpoint:?} uses http:// for a host other than this computer, which would send signed requests and temporary tokens unencrypted: use https:// (http:// is accepted only for localhost, 127.0.0.1 and ::1)"
        )),
        _ => Some(format!("{endpoint:?} is not an http:// or https:// URL")),
    }
}

/// Parses an endpoint base URL: `https://`, or `http://` for loopback hosts only.
///
/// # Errors
/// When it is not an absolute https URL or a loopback http one ([`endpoint_problem`]).
pub fn parse_endpoint(endpoint: &str) -> Result<reqwest::Url, TencentError> {
    if let Some(problem) = endpoint_problem(endpoint) {
        return Err(TencentError::Malformed {
            service: "configuration",
            detail: format!("endpoint {problem}"),
        });
    }
    reqwest::Url::parse(endpoint.trim()).map_err(|err| TencentError::Malformed {
        service: "configuration",
        detail: format!("endpoint {endpoint:?} is not a URL: {err}"),
    })
}

impl VodClient {
    /// A client for `endpoint` (e.g. [`DEFAULT_ENDPOINT`] or an emulator's address).
    ///
    /// # Errors
    /// When the endpoint is not a URL.
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        region: &str,
        credentials: Credentials,
        clock: Arc<Clock>,
    ) -> Result<Self, TencentError> {
        let endpoint = parse_endpoint(endpoint)?;
        Ok(Self {
            host: host_header(&endpoint),
            http,
            endpoint,
            region: region.to_owned(),
            credentials,
            clock,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The region sent in `X-TC-Region`.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key this client signs with.
    #[must_use]
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The shared clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Calls one action, retrying transient errors and correcting the clock once on
    /// `AuthFailure.SignatureExpire`.
    ///
    /// # Errors
    /// The last error when retries are exhausted or the error is not transient.
    pub async fn call<A: Action>(&self, request: &A) -> Result<A::Response, TencentError> {
        let body = serde_json::to_vec(request).map_err(|err| TencentError::Malformed {
            service: "VOD API",
            detail: err.to_string(),
        })?;
        let mut attempt = 0;
        let mut clock_corrected = false;
        loop {
            attempt += 1;
            let (result, date) = self.call_once(request, &body).await;
            let err = match result {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            match err.class() {
                ErrorClass::ClockSkew if !clock_corrected => {
                    clock_corrected = true;
                    if let Some(date) = date {
                        self.clock.observe_date_header(&date);
                    }
                }
                ErrorClass::Retry if attempt < self.retry.max_attempts => {
                    let delay = self.retry.jittered_delay(attempt);
                    tracing::debug!(action = A::NAME, attempt, ?delay, "retrying: {err}");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(err),
            }
        }
    }

    async fn call_once<A: Action>(
        &self,
        request_model: &A,
        body: &[u8],
    ) -> (Result<A::Response, TencentError>, Option<String>) {
        let signed = tc3::build_request(
            &tc3::RequestParams {
                action: A::NAME,
                version: tc3::VOD_VERSION,
                service: tc3::VOD_SERVICE,
                region: &self.region,
                host: &self.host,
                timestamp: self.clock.now(),
                language: None,
            },
            &self.credentials,
            body,
        );
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .timeout(Duration::from_secs(60))
            .body(body.to_vec());
        for (name, value) in &signed.headers {
            // reqwest derives Host from the URL; setting it again would duplicate it.
            if *name != "Host" {
                request = request.header(*name, value);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return (Err(TencentError::network("VOD API", &err)), None),
        };
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(date) = &date {
            self.clock.observe_date_header(date);
        }
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => return (Err(TencentError::network("VOD API", &err)), date),
        };
        if !status.is_success() {
            // An error envelope keeps its code and RequestId, whatever the status.
            if let Err(EnvelopeError::Api(api)) = models::parse_response::<A::Response>(&bytes) {
                return (Err(TencentError::Api(api)), date);
            }
            return (
                Err(TencentError::Http {
                    service: "VOD API",
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
                    request_id: String::new(),
                }),
                date,
            );
        }
        let result = models::read_answer(request_model, &bytes).map_err(|err| match err {
            EnvelopeError::Api(api) => TencentError::Api(api),
            EnvelopeError::Malformed(detail) => TencentError::Malformed {
                service: "VOD API",
                detail: format!("{}: {detail}", A::NAME),
            },
            EnvelopeError::Missing { field, request_id } => TencentError::MissingField {
                service: "VOD API",
                action: A::NAME,
                field,
                request_id,
            },
        });
        (result, date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_this_computer() {
        for fine in [
            "https://vod.tencentcloudapi.com",
            "http://127.0.0.1:40151",
            "http://127.8.9.10",
            "http://localhost:8080/",
            "http://LOCALHOST",
            "http://[::1]:9000",
        ] {
            assert_eq!(endpoint_problem(fine), None, "{fine}");
        }
        for refused in [
            "http://vod.tencentcloudapi.com",
            "http://10.0.0.1:80",
            "http://[::2]",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "ftp://127.0.0.1",
            "vod.tencentcloudapi.com",
            "https://",
        ] {
            assert!(endpoint_problem(refused).is_some(), "{refused}");
        }
        let problem = endpoint_problem("http://vod.example.com").unwrap();
        assert!(problem.contains("https://"), "{problem}");
        assert!(parse_endpoint("http://vod.example.com").is_err());
    }
}
