//! The client of a team's signature service (`voddesk sign-server`, or one of the customer's
//! own): `GET URL`, with `Authorization: Bearer TOKEN` when this computer has a token. The
//! answer is `{"signature": …}`, `{"data": {"signature": …}}` or the signature as plain text.

use std::time::Duration;

use super::error::TencentError;
use super::ugc_sign;

/// The service, as error messages name it.
pub const SERVICE: &str = "signature service";
/// How long to wait for a signature.
const TIMEOUT: Duration = Duration::from_secs(15);

/// This computer's token for the signature service. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureToken(String);

impl SignatureToken {
    /// A token; `None` when it is empty.
    #[must_use]
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }

    /// The token itself, for the `Authorization` header.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SignatureToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureToken(<redacted>)")
    }
}

/// Fetches one fresh signature.
///
/// # Errors
/// [`TencentError::SignatureRefused`] for 401, 403 and 429 (with the service's
/// `Retry-After`), the network, other statuses, and an answer without a signature.
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
    token: Option<&SignatureToken>,
) -> Result<String, TencentError> {
    let mut request = http.get(url).timeout(TIMEOUT);
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    let response = request
        .send()
        .await
        .map_err(|err| TencentError::network(SERVICE, &err))?;
    let status = response.status();
    if matches!(status.as_u16(), 401 | 403 | 429) {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        return Err(TencentError::SignatureRefused {
            status: status.as_u16(),
            retry_after,
        });
    }
    let text = response
        .text()
        .await
        .map_err(|err| TencentError::network(SERVICE, &err))?;
    if !status.is_success() {
        return Err(TencentError::Http {
            service: SERVICE,
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
            service: SERVICE,
            detail: "the answer holds no upload signature".into(),
        });
    }
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug() {
        let token = SignatureToken::new(" vds_secret ");
        assert_eq!(
            token.as_ref().map(SignatureToken::expose),
            Some("vds_secret")
        );
        assert!(!format!("{token:?}").contains("secret"));
        assert_eq!(SignatureToken::new("  "), None);
    }
}
