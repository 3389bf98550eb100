//! The `voddesk` binary: parse the command line, build the one tokio runtime, dispatch.

use std::process::ExitCode;

/// jemalloc keeps freed memory for reuse. With glibc's allocator the emulator faulted in fresh
/// pages for almost every request body hyper read (16,000 page faults, each with a page
/// clearing, per 512 MiB received), and the client for its read buffers.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match voddesk::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("voddesk-worker")
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(voddesk::cli::EXIT_FAILURE);
        }
    };
    match cli.command {
        Some(command) => voddesk::cli::run(command, &cli.global, &runtime),
        None => voddesk::gui::run(runtime.handle()),
    }
}
