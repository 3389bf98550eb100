//! Serving: the emulator's folders and database opened, the port bound (behind the link
//! relay when a link is modelled), plain HTTP or TLS on the same port, and the router that
//! sends each request to its service.

use super::*;

fn create_dir(path: &Path) -> Result<(), EmulatorError> {
    std::fs::create_dir_all(path).map_err(|source| EmulatorError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Starts the emulator on `config.addr`; returns the bound address and a handle.
///
/// # Errors
/// When the address is not loopback (without `allow_remote`), cannot be bound, or the data
/// directory or its database cannot be used.
pub async fn spawn(config: EmulatorConfig) -> Result<(SocketAddr, EmulatorHandle), EmulatorError> {
    if !config.allow_remote && !config.addr.ip().is_loopback() {
        return Err(EmulatorError::NotLoopback(config.addr));
    }
    let dirs = Dirs::create(&config.data_dir)?;
    let db = Db::open(&config.data_dir.join("emulator.db"))?;
    let tls = match &config.tls_names {
        Some(names) => Some(tls::make(names, &config.data_dir.join("tls"))?),
        None => None,
    };
    let tls_certificate = tls.as_ref().map(|tls| tls.cert_path.clone());
    let (listener, addr, relay) = listen(config.addr, config.link).await?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default();
    let emu = Arc::new(Emu {
        db,
        dirs,
        secret_id: config.secret_id,
        secret_key: config.secret_key,
        wecom_corp_id: config.wecom_corp_id,
        wecom_secret: config.wecom_secret,
        app_id: config.app_id,
        region: config.region,
        local_addr: addr,
        faults: RwLock::new(config.faults),
        dice: Mutex::new(Dice::new(config.seed)),
        counters: Mutex::new(Counters::default()),
        publish_window: Mutex::new(VecDeque::new()),
        http,
        link: relay.as_ref().map(|_| Arc::new(link::LinkStats::default())),
    });
    emu.db.fail_unfinished_pulls(emu.now_ms())?;
    let router = router(Arc::clone(&emu));
    let shutdown = CancellationToken::new();
    if let (Some((front, inner_addr, model)), Some(stats)) = (relay, emu.link.clone()) {
        tokio::spawn(link::relay(
            front,
            inner_addr,
            model,
            stats,
            shutdown.clone(),
        ));
    }
    let task = tokio::spawn(serve(
        listener,
        Arc::clone(&emu),
        router,
        tls,
        shutdown.clone(),
    ));
    Ok((
        addr,
        EmulatorHandle {
            emu,
            addr,
            tls_certificate,
            shutdown,
            task,
        },
    ))
}

impl Dirs {
    /// The emulator's folders under `data_dir`, made when missing.
    fn create(data_dir: &std::path::Path) -> Result<Self, EmulatorError> {
        let dirs = Self {
            objects: data_dir.join("objects"),
            parts: data_dir.join("parts"),
            tmp: data_dir.join("tmp"),
            wecom: data_dir.join("wecom"),
        };
        for dir in [&dirs.objects, &dirs.parts, &dirs.tmp, &dirs.wecom] {
            create_dir(dir)?;
        }
        Ok(dirs)
    }
}

/// A relay's ends: the listener clients reach, the emulator's own address and the link model.
type Relay = (tokio::net::TcpListener, SocketAddr, link::LinkModel);

/// Binds `addr`. With a link model the emulator listens on a loopback port of its own and
/// `addr` is the link's far end, so that every client connection crosses the link: then the
/// relay's ends come back too.
async fn listen(
    addr: SocketAddr,
    link: Option<link::LinkModel>,
) -> Result<(tokio::net::TcpListener, SocketAddr, Option<Relay>), EmulatorError> {
    let bind = |addr: SocketAddr| async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        Ok::<_, EmulatorError>((listener, bound))
    };
    let (front, front_addr) = bind(addr).await?;
    Ok(match link {
        Some(model) => {
            let (inner, inner_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            (inner, front_addr, Some((front, inner_addr, model)))
        }
        None => (front, front_addr, None),
    })
}

/// The receive buffer asked for a connection accepted under the bandwidth fault (Linux
/// doubles it, to 128 KiB). Connections already open when the fault is set keep theirs.
const SLOW_LINK_BUFFER: usize = 64 * 1024;

/// The accept loop. It is axum's `serve` by hand so that a handler can drop its connection
/// without answering (the cut fault), which `axum::serve` offers no way to do.
async fn serve(
    listener: tokio::net::TcpListener,
    emu: Arc<Emu>,
    router: Router,
    tls: Option<tls::Tls>,
    shutdown: CancellationToken,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("emulator accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        // A slow link (the bandwidth fault) keeps little in flight: what a network holds is
        // its rate times its round trip, tens of KiB at these rates. Left alone, loopback
        // lets the kernel buffer megabytes per connection, which no real upload sees, and
        // a client's progress display would look right here and wrong on a real link.
        if emu.faults().bandwidth.is_some_and(|rate| rate > 0) {
            let _ = socket2::SockRef::from(&stream).set_recv_buffer_size(SLOW_LINK_BUFFER);
        }
        let cut = CancellationToken::new();
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // With https on, a connection that opens with a TLS handshake is served over TLS,
            // any other as plain http: one port for both.
            let mut first = [0u8; 1];
            let handshake = match &tls {
                Some(_) => tokio::select! {
                    peeked = stream.peek(&mut first) => matches!(peeked, Ok(1..)) && first[0] == tls::HANDSHAKE,
                    () = shutdown.cancelled() => return,
                },
                None => false,
            };
            match tls {
                Some(tls) if handshake => {
                    let accepted = tokio::select! {
                        accepted = tls.acceptor.accept(stream) => accepted,
                        () = shutdown.cancelled() => return,
                    };
                    match accepted {
                        Ok(stream) => {
                            let service = connection_service(router, cut.clone(), true);
                            let connection =
                                builder.serve_connection(TokioIo::new(stream), service);
                            tokio::select! {
                                _ = connection => {}
                                () = cut.cancelled() => {}
                                () = shutdown.cancelled() => {}
                            }
                        }
                        Err(err) => tracing::debug!("emulator TLS handshake failed: {err}"),
                    }
                }
                _ => {
                    let service = connection_service(router, cut.clone(), false);
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        () = cut.cancelled() => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        });
    }
}

/// The service of one connection: the router, with the connection's cut token (and, over TLS,
/// the [`tls::Https`] mark) on every request.
fn connection_service(
    router: Router,
    cut: CancellationToken,
    https: bool,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnCut(cut.clone()));
        if https {
            request.extensions_mut().insert(tls::Https);
        }
        let mut router = router.clone();
        async move { tower_service::Service::call(&mut router, request).await }
    })
}

fn router(emu: Arc<Emu>) -> Router {
    Router::new()
        .route("/v3/index.php", any(ugc::handle))
        .route("/cgi-bin/{*rest}", any(wecom::handle))
        .route("/wechat/{file_id}", get(page::wechat_page))
        .route("/play/{file_id}/{*name}", get(page::play))
        .route("/_voddesk/link", get(link_counts))
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(Arc::clone(&emu), common))
        .with_state(emu)
}

/// `GET /_voddesk/link`: what the modelled link carried (404 without one), for benchmarks
/// that count the bytes sent twice from another process.
async fn link_counts(State(emu): State<Arc<Emu>>) -> Response {
    match &emu.link {
        Some(stats) => {
            let body_bytes = lock(&emu.counters).body_bytes;
            let counts = stats.snapshot();
            axum::Json(serde_json::json!({
                "up_bytes": counts.up_bytes,
                "down_bytes": counts.down_bytes,
                "connections": counts.connections,
                "cos_body_bytes": body_bytes,
            }))
            .into_response()
        }
        None => files::plain(axum::http::StatusCode::NOT_FOUND, "no link model"),
    }
}

/// `POST /` is the VOD API; everything else (including `GET /?uploads`) is COS.
async fn dispatch(State(emu): State<Arc<Emu>>, request: Request) -> Response {
    let is_root = request.uri().path() == "/";
    let lists_uploads = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "uploads" || p.starts_with("uploads="))
    });
    if is_root && !lists_uploads && request.method() == Method::POST {
        vod::handle(emu, request).await
    } else {
        cos::handle(emu, request).await
    }
}

/// Latency and outage faults before, `Date` (on the emulator's clock) after every request.
async fn common(State(emu): State<Arc<Emu>>, request: Request, next: Next) -> Response {
    let faults = emu.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let mut response = if faults.outage {
        files::plain(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable",
        )
    } else {
        next.run(request).await
    };
    if let Ok(date) = HeaderValue::from_str(&http_date(emu.now())) {
        response.headers_mut().insert(header::DATE, date);
    }
    response
}
