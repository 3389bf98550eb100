#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need when it is missing, then
# runs the Rust tests and the conformance suite (Tencent's own Python SDKs and wechatpy against
# the embedded emulator). Safe to run again; it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n== %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
# fonts-noto-cjk: the GUI tests render Chinese; mesa-vulkan-drivers: the wgpu software renderer
# for GUI snapshots; xvfb, xauth: a display for the real-window smoke test.
need_pkgs=()
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_pkgs+=(fonts-noto-cjk)
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_pkgs+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need_pkgs+=(libvulkan1)
dpkg -s xvfb >/dev/null 2>&1 || need_pkgs+=(xvfb xauth)
# jemalloc (the allocator) is built from C with make.
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v cc >/dev/null 2>&1 || need_pkgs+=(gcc libc6-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- Python SDKs for the conformance suite -----------------------------------------------------
# Exact versions (tests/conformance/requirements.txt), not whatever is newest that day: the suite
# checks the emulator against these SDKs, and a new release must be taken on purpose. A venv
# whose versions differ from the pins is brought in line.
venv="$root/.venv-sdk"
requirements="$root/tests/conformance/requirements.txt"
pinned() {
  local have
  have=$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null) || return 1
  [ -z "$(grep -v '^#' "$requirements" | grep -vxF -f <(printf '%s\n' "$have"))" ]
}
if [ ! -x "$venv/bin/python" ] || ! pinned; then
  say "installing the pinned SDKs of $requirements into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
fi
export VODDESK_SDK_PYTHON="$venv/bin/python"

# --- Rust tests ----------------------------------------------------------------------------------
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
say "cargo nextest run"
cargo nextest run --no-fail-fast --failure-output immediate-final "$@"
