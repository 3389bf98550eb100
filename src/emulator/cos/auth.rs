//! The check of every COS request's `Authorization`: the key it names, its times and its
//! signature, recomputed by the emulator's own signer.

use axum::http::HeaderMap;

use super::*;
use crate::tencent::cos_sign;

/// Clock window for signatures that start in the future.
const MAX_SKEW_SECONDS: i64 = 300;

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

pub(super) fn verify(
    emu: &Emu,
    parts: &Parts,
    key: &str,
    params: &[(String, String)],
) -> Result<(), CosErr> {
    let denied = |message: &str| cos_err(StatusCode::FORBIDDEN, "AccessDenied", message);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| denied("Access Denied. The request carries no Authorization."))?;
    let parsed = cos_sign::parse_authorization(authorization)
        .map_err(|e| denied(&format!("Access Denied. {e}")))?;
    let now = emu.now();
    let secret_key = if parsed.secret_id == emu.secret_id {
        emu.secret_key.clone()
    } else {
        let cert = emu.db.cert(&parsed.secret_id)?.ok_or_else(|| {
            cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The Access Key Id you provided does not exist in our records.",
            )
        })?;
        let token = parts
            .headers
            .get("x-cos-security-token")
            .and_then(|v| v.to_str().ok());
        if token != Some(cert.token.as_str()) {
            return Err(cos_err(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The x-cos-security-token is missing or does not belong to this temporary SecretId.",
            ));
        }
        if cert.expires <= now {
            return Err(denied(
                "Request has expired: the temporary certificate ran out; apply for a new one.",
            ));
        }
        cert.secret_key
    };
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
    let mismatch = || {
        cos_err(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    };
    let mut signed_params = Vec::new();
    for name in &parsed.param_list {
        let value = params
            .iter()
            .find(|(n, _)| encoding::strict(n).to_lowercase() == *name)
            .ok_or_else(mismatch)?;
        signed_params.push(value.clone());
    }
    let mut signed_headers = Vec::new();
    let mut host_index = None;
    for name in &parsed.header_list {
        let value = header_value(&parts.headers, name).ok_or_else(mismatch)?;
        if name == "host" {
            host_index = Some(signed_headers.len());
        }
        signed_headers.push((name.clone(), value));
    }
    // Clients sign the host with or without the port; try what was sent, then the other form.
    let mut hosts = vec![None];
    if let Some(index) = host_index {
        let sent = signed_headers[index].1.clone();
        match sent.rsplit_once(':') {
            Some((bare, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                hosts.push(Some(bare.to_owned()));
            }
            _ => hosts.push(Some(format!("{sent}:{}", emu.local_addr.port()))),
        }
    }
    let param_refs: Vec<(&str, &str)> = signed_params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for host in hosts {
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
