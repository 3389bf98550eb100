//! https for clients that speak nothing else (Tencent's command-line tool, tccli): a
//! certificate made at start for `localhost`, `127.0.0.1`, `::1` and any names asked for,
//! written as PEM into the data directory so that a client can be told to trust it. The same
//! port serves both: a connection whose first byte opens a TLS handshake is served over TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::EmulatorError;

/// The first byte of a TLS record carrying a handshake.
pub(crate) const HANDSHAKE: u8 = 0x16;

/// Marks a request that came over TLS, so that the URLs the emulator hands out say `https`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Https;

/// The server side of TLS, and where its certificate is.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) cert_path: PathBuf,
}

fn failed(detail: impl std::fmt::Display, path: &Path) -> EmulatorError {
    EmulatorError::Tls {
        detail: detail.to_string(),
        path: path.to_owned(),
    }
}

/// Makes a certificate for the loopback names and `names`, writes it to `dir/emulator-cert.pem`
/// and builds the acceptor. The private key stays in memory.
pub(crate) fn make(names: &[String], dir: &Path) -> Result<Tls, EmulatorError> {
    let cert_path = dir.join("emulator-cert.pem");
    let mut alt_names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    for name in names {
        let name = name.trim().to_owned();
        if !name.is_empty() && !alt_names.contains(&name) {
            alt_names.push(name);
        }
    }
    let certified =
        rcgen::generate_simple_self_signed(alt_names).map_err(|err| failed(err, &cert_path))?;
    std::fs::create_dir_all(dir).map_err(|err| failed(err, dir))?;
    std::fs::write(&cert_path, certified.cert.pem()).map_err(|err| failed(err, &cert_path))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| failed(err, &cert_path))?
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .map_err(|err| failed(err, &cert_path))?;
    // HTTP/1.1 only, as over plain http: the emulator reads the Host header, which HTTP/2
    // replaces with :authority.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert_path,
    })
}
