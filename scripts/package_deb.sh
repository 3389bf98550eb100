#!/usr/bin/env bash
# Builds the Debian package and checks it as an installer would meet it: the desktop entry
# validates, the package holds the binary, the menu entry and the icon at their places, and it
# depends on the CJK font. Installs cargo-deb (pinned) and desktop-file-utils when missing.
#
#   bash scripts/package_deb.sh            # build (release, ~20 min cold) and check
#   bash scripts/package_deb.sh --no-build # package the release binary already built
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
say() { printf '== %s\n' "$*"; }
fail() { printf 'package_deb: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v desktop-file-validate >/dev/null 2>&1; then
  say "installing desktop-file-utils"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends desktop-file-utils >/dev/null
fi
if [ "$(cargo deb --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DEB_VERSION" ]; then
  say "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

say "desktop entry"
desktop-file-validate packaging/voddesk.desktop

say "building the package"
if [ "${1:-}" = "--no-build" ]; then
  [ -x target/release/voddesk ] || fail "no target/release/voddesk: run without --no-build"
  deb=$(cargo deb --no-build 2>&1 | tail -1)
else
  deb=$(cargo deb 2>&1 | tail -1)
fi
[ -f "$deb" ] || fail "cargo deb made no package (last line: $deb)"
echo "$deb"

say "file list"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for want in ./usr/bin/voddesk ./usr/share/applications/voddesk.desktop \
  ./usr/share/icons/hicolor/scalable/apps/voddesk.svg; do
  grep -qxF "$want" <<<"$files" || fail "the package lacks $want"
  echo "ok $want"
done

say "control"
control=$(dpkg-deb -f "$deb")
echo "$control" | grep -E '^(Package|Version|Architecture|Depends|Recommends):'
# The CJK font, and the libraries the window opens at run time (a bare system lacks them).
for dep in fonts-noto-cjk libx11-6 libxkbcommon-x11-0 'libvulkan1 | libegl1'; do
  grep -q "^Depends:.*$dep" <<<"$control" || fail "the package does not depend on $dep"
done

say "the packaged binary runs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
"$tmp/usr/bin/voddesk" --version
desktop-file-validate "$tmp/usr/share/applications/voddesk.desktop"
say "package ok: $deb"
