//! The team's signature service behind `voddesk sign-server`: `GET /signature` hands a fresh
//! upload signature to an editor who shows a token of theirs (`Authorization: Bearer`).
//!
//! Tokens are kept hashed ([`tokens`]) and read on every request, so a revocation counts at
//! once; each has its own rate ([`rate`]) and every request is written to the audit log
//! ([`audit`]). Beyond loopback the service speaks TLS (rustls) or sits behind a TLS reverse
//! proxy; it never runs open. The edges are bounded: header bytes and count, one request's
//! wait for its headers, each connection's lifetime, the connections at once.

pub mod audit;
pub mod rate;
pub mod tokens;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::tencent::Credentials;
use crate::tencent::clock::Clock;
use crate::tencent::ugc_sign::SignatureParams;
use audit::{AuditLog, Entry, Outcome};
use rate::RateLimiter;
use tokens::{Presented, TokenError, TokenInfo, TokenStore};

/// The server's directory inside the data directory: tokens and audit log.
pub const DIR: &str = "sign-server";
/// The default per-token rate, signatures a minute.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;

/// Header bytes a request may have (hyper's read buffer; its floor is 8 KiB).
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Headers a request may have.
const MAX_HEADERS: usize = 48;
/// How long a connection may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay open, however busy: a signature takes milliseconds.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 256;
/// The longest `X-Forwarded-For` kept in the audit log.
const MAX_FORWARDED_CHARS: usize = 200;

/// The server's directory for a data directory.
#[must_use]
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}

/// Creates `dir` readable by the user alone.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// What signatures carry unless a token says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// Task flow.
    pub procedure: Option<String>,
    /// Media category.
    pub class_id: Option<i64>,
    /// Text echoed in the upload callback.
    pub source_context: Option<String>,
    /// Seconds each signature stays valid (a token's own validity may only be shorter).
    pub valid: i64,
    /// Signatures usable once only.
    pub one_time: bool,
    /// VOD sub-application.
    pub sub_app_id: Option<u64>,
}

/// The certificate chain and key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The data directory; the server keeps its files in [`DIR`] inside it.
    pub data_dir: PathBuf,
    /// The API key that signs.
    pub credentials: Credentials,
    /// What signatures carry.
    pub defaults: Defaults,
    /// Signatures a minute per token.
    pub rate_per_minute: u32,
    /// TLS, when given.
    pub tls: Option<TlsFiles>,
    /// A TLS reverse proxy is in front: plain HTTP beyond loopback is allowed, and the
    /// proxy's `X-Forwarded-For` goes into the audit log.
    pub behind_proxy: bool,
}

/// Why the server cannot start. None of them carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No live token: no one could use it.
    #[error(
        "no tokens: nobody could get a signature. Add one per editor with `voddesk sign-server token add NAME` (it prints the token to give them), then start the server again"
    )]
    NoTokens,
    /// Beyond loopback in clear text.
    #[error(
        "{addr} is reachable from other machines, and tokens and signatures would cross the network in clear text. Either give a certificate (--tls-cert FILE --tls-key FILE), or put a TLS reverse proxy in front and pass --behind-proxy (the README shows one)"
    )]
    Exposed {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The token table.
    #[error(transparent)]
    Tokens(#[from] TokenError),
    /// The audit log.
    #[error("cannot open the audit log ({detail}): {path}")]
    Audit {
        /// What went wrong.
        detail: String,
        /// The file.
        path: String,
    },
    /// The certificate or key.
    #[error("cannot use the TLS {what} ({detail}): {path}")]
    Tls {
        /// `certificate` or `key`.
        what: &'static str,
        /// What went wrong.
        detail: String,
        /// The file.
        path: String,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    tls: bool,
    audit_path: PathBuf,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://ADDR/signature`.
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/signature", self.addr)
    }

    /// The audit log's path.
    #[must_use]
    pub fn audit_path(&self) -> &Path {
        &self.audit_path
    }

    /// Stops accepting, ends open connections and waits for the accept loop.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

struct State {
    tokens: Arc<TokenStore>,
    limiter: RateLimiter,
    audit: AuditLog,
    credentials: Credentials,
    defaults: Defaults,
    behind_proxy: bool,
}

/// Checks the configuration, opens the tokens and the audit log, binds and serves until the
/// handle is shut down.
///
/// # Errors
/// See [`ServerError`]: refused before anything listens.
pub async fn spawn(config: ServerConfig) -> Result<ServerHandle, ServerError> {
    if !config.addr.ip().is_loopback() && config.tls.is_none() && !config.behind_proxy {
        return Err(ServerError::Exposed { addr: config.addr });
    }
    let dir = dir(&config.data_dir);
    let tokens = Arc::new(TokenStore::open(&dir)?);
    if tokens.live_count()? == 0 {
        return Err(ServerError::NoTokens);
    }
    let audit = AuditLog::open(&dir).map_err(|err| ServerError::Audit {
        detail: err.to_string(),
        path: dir.join(audit::AUDIT_FILE).display().to_string(),
    })?;
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.addr,
        source,
    })?;
    let audit_path = audit.path().to_path_buf();
    let state = Arc::new(State {
        tokens,
        limiter: RateLimiter::new(config.rate_per_minute),
        audit,
        credentials: config.credentials,
        defaults: config.defaults,
        behind_proxy: config.behind_proxy,
    });
    let shutdown = CancellationToken::new();
    let tls = acceptor.is_some();
    let task = tokio::spawn(serve(listener, state, acceptor, shutdown.clone()));
    Ok(ServerHandle {
        addr,
        tls,
        audit_path,
        shutdown,
        task,
    })
}

fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, ServerError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error = |detail: String| ServerError::Tls {
        what: "certificate",
        detail,
        path: files.cert.display().to_string(),
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|err| cert_error(err.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("the file holds no PEM certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| ServerError::Tls {
        what: "key",
        detail: err.to_string(),
        path: files.key.display().to_string(),
    })?;
    // The provider named here, not the process default: the crate is built with ring only.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|err| ServerError::Tls {
            what: "key",
            detail: format!("it does not fit the certificate or is not supported: {err}"),
            path: files.key.display().to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEADER_BYTES);
    let http = Arc::new(http);
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    eprintln!("warning: the signature server cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Full: closing at once costs less than queueing a flood.
            drop(stream);
            continue;
        };
        let state = Arc::clone(&state);
        let http = Arc::clone(&http);
        let acceptor = acceptor.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                async move {
                    // The head alone: a signature request has no body to read.
                    let (head, _body) = hyper::Request::into_parts(request);
                    Ok::<_, Infallible>(handle(&state, remote, &head).await)
                }
            });
            let connection = async {
                match acceptor {
                    Some(acceptor) => {
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection) => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
}

type Answer = Response<Full<Bytes>>;
type Head = hyper::http::request::Parts;

fn json(status: StatusCode, body: &serde_json::Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // A signature is for one upload; no cache or proxy should keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refusal(status: StatusCode, error: &str, message: &str) -> Answer {
    json(
        status,
        &serde_json::json!({ "code": status.as_u16(), "error": error, "message": message }),
    )
}

fn unauthorized(message: &str) -> Answer {
    let mut response = refusal(StatusCode::UNAUTHORIZED, "unauthorized", message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"voddesk-sign-server\""),
    );
    response
}

/// The token of `Authorization: Bearer TOKEN`.
fn bearer(request: &Head) -> Option<&str> {
    let value = request.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a request says it carries a body: a signature request has none.
fn has_body(request: &Head) -> bool {
    let headers = &request.headers;
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

async fn handle(state: &State, remote: SocketAddr, request: &Head) -> Answer {
    let forwarded_for = state
        .behind_proxy
        .then(|| request.headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .map(|value| value.chars().take(MAX_FORWARDED_CHARS).collect());
    let mut entry = Entry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        token: None,
        remote: remote.to_string(),
        forwarded_for,
        outcome: Outcome::BadRequest,
        status: 0,
        procedure: None,
        class_id: None,
        source_context: None,
        expires_at: None,
    };
    let answer = answer(state, request, &mut entry).await;
    entry.status = answer.status().as_u16();
    state.audit.write(&entry);
    answer
}

async fn answer(state: &State, request: &Head, entry: &mut Entry) -> Answer {
    if let Some(refused) = misdirected(request) {
        return refused;
    }
    let info = match authorized(state, request, entry).await {
        Ok(info) => info,
        Err(refused) => return refused,
    };
    entry.token = Some(info.name.clone());
    if let Err(wait) = state.limiter.take(&info.name, Instant::now()) {
        entry.outcome = Outcome::RateLimited;
        return rate_limited(wait);
    }
    let params = signature_params(state, &info, Clock::system_now());
    let signature = match params.sign(state.credentials.secret_key()) {
        Ok(signature) => signature,
        Err(err) => return server_error(entry, &err.to_string()),
    };
    let store = Arc::clone(&state.tokens);
    let name = info.name.clone();
    let now = params.current_time;
    if let Ok(Err(err)) = tokio::task::spawn_blocking(move || store.record_use(&name, now)).await {
        eprintln!("warning: cannot count a use of token {}: {err}", info.name);
    }
    entry.outcome = Outcome::Signed;
    entry.procedure.clone_from(&params.procedure);
    entry.class_id = params.class_id;
    entry.source_context.clone_from(&params.source_context);
    entry.expires_at = Some(params.expire_time);
    json(
        StatusCode::OK,
        &serde_json::json!({
            "code": 0,
            "signature": signature,
            "data": { "signature": signature },
            "expires_at": params.expire_time,
        }),
    )
}

/// The refusal of anything but `GET /signature` without a body.
fn misdirected(request: &Head) -> Option<Answer> {
    if !matches!(request.uri.path(), "/" | "/signature") {
        return Some(refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            "this service answers GET /signature only",
        ));
    }
    if request.method != Method::GET {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this service answers GET /signature only",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return Some(response);
    }
    if has_body(request) {
        return Some(refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_not_allowed",
            "a signature request has no body",
        ));
    }
    None
}

/// The live token `request` carries, or the 401 (with the audit outcome set) when it carries
/// none, an unknown one or a revoked one. The token store is read on every request, so a
/// revocation counts at once.
async fn authorized(state: &State, request: &Head, entry: &mut Entry) -> Result<TokenInfo, Answer> {
    let Some(token) = bearer(request) else {
        entry.outcome = Outcome::MissingToken;
        return Err(unauthorized(
            "this service needs a token: send Authorization: Bearer TOKEN (ask your admin for one)",
        ));
    };
    let store = Arc::clone(&state.tokens);
    let token = token.to_owned();
    // SQLite may wait for another process's write (a revoke): off the async threads.
    let checked = tokio::task::spawn_blocking(move || store.check(&token)).await;
    match checked {
        Ok(Ok(Presented::Valid(info))) => Ok(info),
        Ok(Ok(Presented::Revoked(name))) => {
            entry.token = Some(name);
            entry.outcome = Outcome::RevokedToken;
            Err(unauthorized(
                "this token was revoked: ask your admin for a new one",
            ))
        }
        Ok(Ok(Presented::Unknown)) => {
            entry.outcome = Outcome::UnknownToken;
            Err(unauthorized(
                "unknown token: ask your admin for a valid one",
            ))
        }
        Ok(Err(err)) => Err(server_error(entry, &err.to_string())),
        Err(err) => Err(server_error(entry, &err.to_string())),
    }
}

/// 429 with `Retry-After`: the token asked for more than its rate.
fn rate_limited(wait: std::time::Duration) -> Answer {
    let mut response = refusal(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!(
            "too many signatures for this token; try again in {} s",
            wait.as_secs()
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn server_error(entry: &mut Entry, detail: &str) -> Answer {
    entry.outcome = Outcome::Error;
    eprintln!("error: the signature server cannot answer a request: {detail}");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the signature service cannot sign right now; the admin finds why in its output",
    )
}

/// The signature for a token: its own fields over the server's defaults, its validity no
/// longer than the server's.
fn signature_params(state: &State, info: &TokenInfo, now: i64) -> SignatureParams {
    let defaults = &state.defaults;
    let own = &info.constraints;
    let valid = own
        .valid
        .map_or(defaults.valid, |cap| cap.min(defaults.valid));
    SignatureParams {
        secret_id: state.credentials.secret_id.clone(),
        current_time: now,
        expire_time: now + valid,
        random: rand::random(),
        procedure: own
            .procedure
            .clone()
            .or_else(|| defaults.procedure.clone())
            .filter(|p| !p.is_empty()),
        source_context: own
            .source_context
            .clone()
            .or_else(|| defaults.source_context.clone()),
        one_time_valid: defaults.one_time,
        class_id: own.class_id.or(defaults.class_id),
        vod_sub_app_id: defaults.sub_app_id,
        ..SignatureParams::default()
    }
}
