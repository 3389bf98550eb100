//! `voddesk emulator`: the embedded emulator as a standalone server, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::emulator::{self, EmulatorConfig, Faults};

/// Flags of `voddesk emulator` (the API key and WeCom CorpID come from the global
/// `--secret-id`, `--secret-key` and `--wecom-corp-id`).
#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Data directory for state and objects [default: DATA_DIR/emulator].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// WeCom application secret accepted by gettoken.
    #[arg(long)]
    pub wecom_secret: Option<String>,
    /// Listen on a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve https as well, on the same port, with a certificate made at start for localhost,
    /// 127.0.0.1 and ::1 (its PEM path is printed) — for clients that speak only https.
    #[arg(long)]
    pub tls: bool,
    /// Another name the https certificate is valid for (repeatable; implies --tls).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_name: Vec<String>,
    /// How long a WeChat publish review takes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub review_delay_ms: u64,
    /// Reviews end Rejected instead of Pass.
    #[arg(long)]
    pub reject_publish: bool,
    /// The account is not verified: publishing answers FailedOperation.NoPrivileges.
    #[arg(long)]
    pub unverified_account: bool,
    /// Lifetime of temporary upload certificates, seconds.
    #[arg(long, default_value_t = 1800)]
    pub cert_lifetime_secs: u64,
    /// Lifetime of WeCom access tokens, seconds.
    #[arg(long, default_value_t = 7200)]
    pub wecom_token_lifetime_secs: u64,
    /// Lifetime of WeCom temporary media, seconds.
    #[arg(long, default_value_t = 259_200)]
    pub wecom_media_lifetime_secs: u64,
    /// Seconds added to the emulator's clock.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_secs: i64,
    /// Share (0..1) of PutObject/UploadPart answered 500 InternalError.
    #[arg(long, default_value_t = 0.0)]
    pub upload_error_rate: f64,
    /// Share (0..1) of VOD API calls answered InternalError (HTTP 500).
    #[arg(long, default_value_t = 0.0)]
    pub api_error_rate: f64,
    /// Share (0..1) of PutObject/UploadPart connections dropped mid-body.
    #[arg(long, default_value_t = 0.0)]
    pub cut_rate: f64,
    /// Delay added to every request, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Limit on how fast each request body is read, bytes per second.
    #[arg(long)]
    pub bandwidth: Option<u64>,
    /// Requests per second allowed on the publishing actions.
    #[arg(long, default_value_t = 100)]
    pub publish_rate_limit: u32,
    /// Seed of the fault RNG.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Model a user's uplink in front of the emulator: its upstream bandwidth in Mbit/s,
    /// shared by all connections (with --link-rtt-ms and --link-window-kib).
    #[arg(long)]
    pub link_mbit: Option<f64>,
    /// The modelled link's round trip, milliseconds (half each way; a new connection waits
    /// one round trip before it carries data).
    #[arg(long, default_value_t = 40, requires = "link_mbit")]
    pub link_rtt_ms: u64,
    /// The modelled link's window per connection, KiB unacknowledged at most.
    #[arg(long, default_value_t = 4096, requires = "link_mbit")]
    pub link_window_kib: u64,
}

fn rate(name: &str, value: f64) -> Result<f64, CliError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(CliError::usage(format!(
            "--{name} must be between 0 and 1, not {value}"
        )))
    }
}

/// The configuration the flags describe.
///
/// # Errors
/// Bad usage: a rate outside 0..1, or only half of a key pair.
pub fn config(args: &EmulatorArgs, global: &GlobalArgs) -> Result<EmulatorConfig, CliError> {
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| global.service_config().data_dir.join("emulator"));
    let defaults = EmulatorConfig::with_data_dir(data_dir);
    let (secret_id, secret_key) = match (&global.secret_id, &global.secret_key) {
        (Some(id), Some(key)) => (id.trim().to_owned(), key.trim().to_owned()),
        (None, None) => (defaults.secret_id.clone(), defaults.secret_key.clone()),
        _ => {
            return Err(CliError::usage(
                "give both --secret-id and --secret-key, or neither for the demo key",
            ));
        }
    };
    let mut config = EmulatorConfig {
        tls_names: (args.tls || !args.tls_name.is_empty()).then(|| args.tls_name.clone()),
        addr: args.addr,
        allow_remote: args.allow_remote,
        seed: args.seed,
        secret_id,
        secret_key,
        wecom_corp_id: global
            .wecom_corp_id
            .as_ref()
            .map_or(defaults.wecom_corp_id.clone(), |c| c.trim().to_owned()),
        wecom_secret: args
            .wecom_secret
            .as_ref()
            .or(global.wecom_corp_secret.as_ref())
            .map_or(defaults.wecom_secret.clone(), |s| s.trim().to_owned()),
        ..defaults
    };
    config.faults = Faults {
        review_delay: Duration::from_millis(args.review_delay_ms),
        reject_publish: args.reject_publish,
        unverified_account: args.unverified_account,
        cert_lifetime: Duration::from_secs(args.cert_lifetime_secs),
        wecom_token_lifetime: Duration::from_secs(args.wecom_token_lifetime_secs),
        wecom_media_lifetime: Duration::from_secs(args.wecom_media_lifetime_secs),
        clock_offset_secs: args.clock_offset_secs,
        upload_error_rate: rate("upload-error-rate", args.upload_error_rate)?,
        api_error_rate: rate("api-error-rate", args.api_error_rate)?,
        cut_rate: rate("cut-rate", args.cut_rate)?,
        latency: Duration::from_millis(args.latency_ms),
        bandwidth: args.bandwidth.filter(|b| *b > 0),
        publish_rate_limit: args.publish_rate_limit,
        outage: false,
    };
    config.link = match args.link_mbit {
        None => None,
        Some(mbit) if mbit > 0.0 && mbit.is_finite() && args.link_window_kib > 0 => Some(
            emulator::link::LinkModel::new(mbit, args.link_rtt_ms, args.link_window_kib),
        ),
        Some(mbit) => {
            return Err(CliError::usage(format!(
                "--link-mbit must be above 0 and --link-window-kib at least 1 (got {mbit} Mbit/s, {} KiB)",
                args.link_window_kib
            )));
        }
    };
    Ok(config)
}

/// A secret to print: in full when it is the emulator's own (a flag or the demo default),
/// not at all when it came from the environment, where it may be a real key (not even a few
/// of its characters: of a short secret, those would be most of it).
fn shown(value: &str, env: &str) -> String {
    if std::env::var(env).is_ok_and(|v| v.trim() == value) {
        format!("******** (from {env}; not shown)")
    } else {
        value.to_owned()
    }
}

/// Runs the emulator until Ctrl-C.
///
/// # Errors
/// Bad flags, or the emulator cannot start.
pub fn run(
    args: &EmulatorArgs,
    global: &GlobalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let config = config(args, global)?;
    let data_dir = config.data_dir.clone();
    let (secret_id, secret_key) = (config.secret_id.clone(), config.secret_key.clone());
    let (corp_id, corp_secret) = (config.wecom_corp_id.clone(), config.wecom_secret.clone());
    let link = config.link;
    runtime.block_on(async move {
        let (addr, handle) = emulator::spawn(config).await.map_err(|err| match err {
            emulator::EmulatorError::NotLoopback(_) => CliError::usage(format!("{err:#}")),
            _ => CliError::failure(format!("{err:#}")),
        })?;
        println!("listening on http://{addr}");
        if let Some(cert) = handle.tls_certificate() {
            // The same port answers https; a client trusts the certificate it was made with.
            println!(
                "listening on https://{addr} (certificate: {})",
                cert.display()
            );
        }
        println!("SecretId: {secret_id}");
        println!(
            "SecretKey: {}",
            shown(&secret_key, "TENCENTCLOUD_SECRET_KEY")
        );
        println!("WeCom CorpID: {corp_id}");
        println!("WeCom secret: {}", shown(&corp_secret, "WECOM_CORP_SECRET"));
        println!("data: {}", data_dir.display());
        if let Some(link) = link {
            println!(
                "link: {} Mbit/s shared, {} ms round trip, {} KiB window per connection (GET http://{addr}/_voddesk/link counts what it carried)",
                link.bits_per_second / 1e6,
                link.rtt.as_millis(),
                link.window / 1024
            );
        }
        println!(
            "use: VODDESK_VOD_ENDPOINT=http://{addr} VODDESK_COS_ENDPOINT=http://{addr} VODDESK_UGC_ENDPOINT=http://{addr} VODDESK_WECOM_ENDPOINT=http://{addr}"
        );
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })
}
