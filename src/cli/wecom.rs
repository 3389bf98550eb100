//! `voddesk wecom upload|get`: WeChat Work temporary media from scripts.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CliError, GlobalArgs};
use crate::engine::api::WeComMediaType;
use crate::tencent::vod::http_client;
use crate::wecom::WeComClient;

/// `voddesk wecom …`.
#[derive(Debug, Clone, Subcommand)]
pub enum WeComCommand {
    /// Upload a file as temporary media (valid 3 days).
    Upload(UploadArgs),
    /// Download temporary media.
    Get(GetArgs),
}

/// Arguments of `voddesk wecom upload`.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// The file.
    pub path: PathBuf,
    /// image, voice, video or file.
    #[arg(long = "type", value_parser = parse_type)]
    pub kind: WeComMediaType,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `voddesk wecom get`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The media_id from an upload.
    pub media_id: String,
    /// A file to write (replaced if it exists), a directory to write into under the server's
    /// (sanitised) name (`name (2).ext` when that is taken), or `-` for standard output.
    #[arg(long)]
    pub output: PathBuf,
}

fn parse_type(text: &str) -> Result<WeComMediaType, String> {
    WeComMediaType::parse(text)
        .ok_or_else(|| format!("{text:?} is not one of image, voice, video, file"))
}

fn client(global: &GlobalArgs) -> Result<WeComClient, CliError> {
    let config = global.service_config();
    let wecom = config.wecom.ok_or_else(|| {
        CliError::usage(
            "no WeCom application: set WECOM_CORP_ID and WECOM_CORP_SECRET (or pass --wecom-corp-id and --wecom-corp-secret)",
        )
    })?;
    let http = http_client().map_err(|err| CliError::failure(err.to_string()))?;
    Ok(WeComClient::new(
        http,
        &config.endpoints.wecom,
        &wecom.corp_id,
        &wecom.secret,
    ))
}

/// Runs `voddesk wecom …`.
///
/// # Errors
/// Usage, limit, network and service errors.
pub async fn run(command: &WeComCommand, global: &GlobalArgs) -> Result<(), CliError> {
    let client = client(global)?;
    match command {
        WeComCommand::Upload(args) => {
            let uploaded = client
                .upload(&args.path, args.kind)
                .await
                .map_err(|err| CliError::failure(err.to_string()))?;
            if args.json {
                let line = serde_json::to_string(&uploaded)
                    .map_err(|err| CliError::failure(err.to_string()))?;
                out!("{line}");
            } else {
                let expires = chrono::DateTime::from_timestamp(uploaded.expires_at, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                out!(
                    "{}: media_id {} (expires {expires})",
                    args.path.display(),
                    uploaded.media_id
                );
            }
            Ok(())
        }
        WeComCommand::Get(args) => {
            // A Ctrl-C drops the download, whose temporary file goes with it; the default
            // handler would end the process and leave that file behind.
            let mut interrupt = super::Interrupt::listen();
            let path = tokio::select! {
                got = client.download(&args.media_id, &args.output) => {
                    got.map_err(|err| CliError::failure(err.to_string()))?
                }
                () = interrupt.recv() => {
                    // A file is written aside and put in place only when whole; standard
                    // output or a device has had what arrived so far.
                    let written = if is_stream(&args.output) {
                        "what was written is incomplete"
                    } else {
                        "nothing was saved"
                    };
                    return Err(CliError::failure(format!(
                        "{}: stopped before the download finished; {written}",
                        args.media_id
                    )));
                }
            };
            // Where the bytes went is said only of a file: on standard output, a pipe or a
            // device (`--output /dev/stdout`) the line would be mixed into the data.
            if !is_stream(&path) {
                out!("{}", path.display());
            }
            Ok(())
        }
    }
}

/// Whether `output` is standard output (`-`), a pipe or a device rather than a file or a
/// folder (or a name not taken yet).
fn is_stream(output: &std::path::Path) -> bool {
    output == std::path::Path::new("-")
        || std::fs::metadata(output).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}
