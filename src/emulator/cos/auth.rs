//! The check of every COS request's `Authorization`: the key it names, its times and its
//! signature, recomputed by the emulator's own signer.

use axum::http::HeaderMap;

use super::*;
use crate::emulator::KeyRefusal;
use crate::tencent::cos_sign::{self, ParsedAuthorization};

/// Clock window for signatures that start in the future.
const MAX_SKEW_SECONDS: i64 = 300;

/// Names and values, as signed.
type Pairs = Vec<(String, String)>;

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Checks the request's `Authorization` against the signature the emulator computes itself:
/// the key must exist (a temporary one with its token, unexpired), the times must hold, and
/// the signed parameters and headers must be the ones sent.
pub(super) fn verify(
    emu: &Emu,
    parts: &Parts,
    key: &str,
    params: &[(String, String)],
) -> Result<(), CosErr> {
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| denied("Access Denied. The request carries no Authorization."))?;
    let parsed = cos_sign::parse_authorization(authorization)
        .map_err(|e| denied(&format!("Access Denied. {e}")))?;
    let now = emu.now();
    let secret_key = secret_key_of(emu, parts, &parsed.secret_id, now)?;
    check_times(&parsed, now)?;
    let signed_params = signed_params(&parsed, params)?;
    let (signed_headers, host_index) = signed_headers(&parsed, &parts.headers)?;
    let param_refs: Vec<(&str, &str)> = signed_params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for host in host_forms(emu, &signed_headers, host_index) {
        let mut headers = signed_headers.clone();
        if let (Some(index), Some(host)) = (host_index, host) {
            headers[index].1 = host;
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        // The emulator's own implementation, apart from the client's signer.
        let expected = crate::emulator::signature::cos_signature(
            &secret_key,
            &format!("{};{}", parsed.key_time.start, parsed.key_time.end),
            parts.method.as_str(),
            key,
            &param_refs,
            &header_refs,
        );
        if crate::emulator::signature::cos_verify(&parsed.signature, &expected) {
            return Ok(());
        }
    }
    Err(mismatch())
}

fn denied(message: &str) -> CosErr {
    cos_err(StatusCode::FORBIDDEN, "AccessDenied", message)
}

fn mismatch() -> CosErr {
    cos_err(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
}

/// The secret key behind `secret_id` (see [`Emu::secret_key_of`]), with
/// `x-cos-security-token` as the token.
fn secret_key_of(emu: &Emu, parts: &Parts, secret_id: &str, now: i64) -> Result<String, CosErr> {
    let token = parts
        .headers
        .get("x-cos-security-token")
        .and_then(|v| v.to_str().ok());
    emu.secret_key_of(secret_id, token, now)?
        .map_err(|refusal| match refusal {
            KeyRefusal::Unknown => cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The Access Key Id you provided does not exist in our records.",
            ),
            KeyRefusal::WrongToken => cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The x-cos-security-token is missing or does not belong to this temporary SecretId.",
            ),
            KeyRefusal::Expired => denied(
                "Request has expired: the temporary certificate ran out; apply for a new one.",
            ),
        })
}

/// The signature's and the key's time ranges must include `now`, give or take the skew.
fn check_times(parsed: &ParsedAuthorization, now: i64) -> Result<(), CosErr> {
    if parsed.sign_time.end < now || parsed.key_time.end < now {
        return Err(denied("Request has expired"));
    }
    if parsed.sign_time.start > now + MAX_SKEW_SECONDS {
        return Err(cos_err(
            StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        ));
    }
    Ok(())
}

/// The query parameters the signature names, as sent; one it names but the request lacks is
/// a mismatch.
fn signed_params(
    parsed: &ParsedAuthorization,
    params: &[(String, String)],
) -> Result<Pairs, CosErr> {
    parsed
        .param_list
        .iter()
        .map(|name| {
            params
                .iter()
                .find(|(n, _)| encoding::strict(n).to_lowercase() == *name)
                .cloned()
                .ok_or_else(mismatch)
        })
        .collect()
}

/// The headers the signature names, as sent, and where `host` is among them.
fn signed_headers(
    parsed: &ParsedAuthorization,
    headers: &HeaderMap,
) -> Result<(Pairs, Option<usize>), CosErr> {
    let mut signed = Vec::new();
    let mut host_index = None;
    for name in &parsed.header_list {
        let value = header_value(headers, name).ok_or_else(mismatch)?;
        if name == "host" {
            host_index = Some(signed.len());
        }
        signed.push((name.clone(), value));
    }
    Ok((signed, host_index))
}

/// Clients sign the host with or without the port: what was sent (`None`), then the other form.
fn host_forms(
    emu: &Emu,
    signed_headers: &[(String, String)],
    host_index: Option<usize>,
) -> Vec<Option<String>> {
    let mut hosts = vec![None];
    if let Some(index) = host_index {
        let sent = &signed_headers[index].1;
        match sent.rsplit_once(':') {
            Some((bare, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                hosts.push(Some(bare.to_owned()));
            }
            _ => hosts.push(Some(format!("{sent}:{}", emu.local_addr.port()))),
        }
    }
    hosts
}
