//! The `voddesk` binary: parse the command line, build the one tokio runtime, dispatch.

use std::process::ExitCode;

/// jemalloc keeps freed memory for reuse. With glibc's allocator the emulator faulted in fresh
/// pages for almost every request body hyper read (16,000 page faults, each with a page
/// clearing, per 512 MiB received), and the client for its read buffers.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    quiet_vulkan_device_select();
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

/// Mesa's Vulkan device-select layer asks the Wayland compositor for the default GPU whenever
/// the app enables Wayland surfaces (wgpu enables every kind), and without a session
/// (`XDG_RUNTIME_DIR` unset: Xvfb, `ssh -X`, a root shell) libwayland prints "error:
/// XDG_RUNTIME_DIR is invalid or not set in the environment." four times on start. With no
/// Wayland session there is no compositor to ask, so the layer is turned off; on a desktop
/// session (either variable set), or when the user set `NODEVICE_SELECT`, nothing changes.
fn quiet_vulkan_device_select() {
    let session = std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some();
    if !session && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: the first statement of `main`, before the runtime or anything else has
        // started a thread, so nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}
