#!/usr/bin/env bash
# Uploads on a modelled user's link: voddesk against Tencent's vod-python-sdk on the same link
# in the same run. The link is the emulator's (`voddesk emulator --link-mbit N --link-rtt-ms
# N --link-window-kib N`): one upstream bandwidth shared by every connection, half the round
# trip each way, and at most a window of bytes unacknowledged per connection.
#
#   scripts/bench_link.sh [CASE...]    CASE: big, clips, kill, pause (default: all four)
#
#   big    one 256 MiB file, 400 Mbit/s, RTT 40 ms, 4 MiB window: share of the link used
#   clips  100 clips of 1 MiB, same link: share of the link used
#   kill   96 MiB, 50 Mbit/s, RTT 40 ms, 512 KiB window: `kill -9` 9 s in, then the same
#          command again to the end: bytes sent twice
#   pause  the same with Ctrl-C (SIGINT) 9 s in: how long the stop took, bytes sent twice
#
# "Share of the link": the file's bytes over the time the upload took (process start to
# exit), over the link's bandwidth. "Sent twice": the COS body bytes the emulator received in
# all, less the file's size (what was thrown away and sent again). BIG_MIB, CLIPS, KILL_AT
# change the sizes and the moment of the kill; VODDESK_BIN names a binary to measure instead
# of building. Needs the release build and .venv-sdk (as scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(big clips kill pause)
big_mib=${BIG_MIB:-256}
clips=${CLIPS:-100}
kill_at=${KILL_AT:-9}

python=${VODDESK_SDK_PYTHON:-$root/.venv-sdk/bin/python}
if [ ! -x "$python" ] || ! "$python" -c 'import qcloud_vod' 2>/dev/null; then
  echo "needs vod-python-sdk in .venv-sdk: run scripts/test.sh once (or set VODDESK_SDK_PYTHON)" >&2
  exit 2
fi
# VODDESK_BIN names a binary to measure instead of building this tree's (e.g. the build of an
# earlier commit, for before/after figures).
if [ -n "${VODDESK_BIN:-}" ]; then
  bin=$(realpath "$VODDESK_BIN")
else
  cargo build --release --quiet
  bin="$root/target/release/voddesk"
fi
work=$(mktemp -d /tmp/voddesk-link.XXXXXX)
emu_pid=""
stop_emulator() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  emu_pid=""
  rm -rf "$work/emu"
}
trap 'stop_emulator; rm -rf "$work"' EXIT

# start_emulator MBIT RTT_MS WINDOW_KIB
start_emulator() {
  env -u TENCENTCLOUD_SECRET_ID -u TENCENTCLOUD_SECRET_KEY \
    "$bin" emulator --addr 127.0.0.1:0 --data "$work/emu" \
    --link-mbit "$1" --link-rtt-ms "$2" --link-window-kib "$3" \
    >"$work/emu.out" 2>"$work/emu.err" &
  emu_pid=$!
  for _ in $(seq 1 200); do
    grep -q '^SecretKey:' "$work/emu.out" 2>/dev/null && break
    sleep 0.05
  done
  base=$(sed -n 's/^listening on //p' "$work/emu.out")
  secret_id=$(sed -n 's/^SecretId: //p' "$work/emu.out")
  secret_key=$(sed -n 's/^SecretKey: //p' "$work/emu.out")
  if [ -z "$base" ]; then
    echo "the emulator did not start:" >&2; cat "$work/emu.out" "$work/emu.err" >&2; exit 1
  fi
}
# The COS body bytes the emulator has received so far.
body_bytes() {
  curl -s "$base/_voddesk/link" | sed -n 's/.*"cos_body_bytes":\([0-9]*\).*/\1/p'
}

# `env … "$bin"` rather than a shell function, so that `$!` of a run in the background is the
# uploader itself and a signal reaches it (a function would run in a subshell).
voddesk_env() {
  venv=(TENCENTCLOUD_SECRET_ID="$secret_id" TENCENTCLOUD_SECRET_KEY="$secret_key"
    VODDESK_VOD_ENDPOINT="$base" VODDESK_COS_ENDPOINT="$base" VODDESK_UGC_ENDPOINT="$base"
    VODDESK_DATA_DIR="$work/voddesk-data")
}
voddesk() {
  voddesk_env
  env "${venv[@]}" "$bin" upload "$@"
}

cat >"$work/sdk.py" <<'PY'
import sys, time, urllib.parse
sys.path.insert(0, sys.argv[4])
from routing import route_sdks
import qcloud_vod.vod_upload_client as vuc
from qcloud_vod.model import VodUploadRequest

base, secret_id, secret_key = sys.argv[1:4]
split = urllib.parse.urlsplit(base)
# Addresses only: the SDK itself is unmodified and uses its defaults.
route_sdks(split.netloc, split.scheme)
client = vuc.VodUploadClient(secret_id, secret_key)
for path in sys.argv[5:]:
    request = VodUploadRequest()
    request.MediaFilePath = path
    client.upload("ap-guangzhou", request)
PY
sdk() {
  "$python" "$work/sdk.py" "$base" "$secret_id" "$secret_key" "$root/tests/conformance" "$@" >/dev/null
}

now() { date +%s.%N; }
# share BYTES SECONDS MBIT: percent of the link
share() { echo "$1 * 8 * 100 / ($2 * $3 * 1000000)" | bc -l; }
mib() { echo "$1 / 1048576" | bc -l; }

report=()
say() { printf '%s\n' "$1" >&2; report+=("$1"); }

case_big() {
  local file="$work/big.mp4" size t0 t1 v s
  head -c $((big_mib << 20)) /dev/urandom >"$file"
  size=$(stat -c %s "$file")
  start_emulator 400 40 4096
  t0=$(now); voddesk "$file" --json >/dev/null 2>&1; t1=$(now)
  v=$(echo "$t1 - $t0" | bc -l)
  stop_emulator
  start_emulator 400 40 4096
  t0=$(now); sdk "$file"; t1=$(now)
  s=$(echo "$t1 - $t0" | bc -l)
  stop_emulator
  rm -rf "$work/voddesk-data"
  say "$(printf 'big   %d MiB, 400 Mbit/s, 40 ms, 4 MiB window: voddesk %.2f s = %.0f %% of the link; vod-python-sdk %.2f s = %.0f %%' \
    "$big_mib" "$v" "$(share "$size" "$v" 400)" "$s" "$(share "$size" "$s" 400)")"
}

case_clips() {
  local dir="$work/clips" t0 t1 v s total=0
  mkdir -p "$dir"
  for i in $(seq -w 1 "$clips"); do head -c $((1 << 20)) /dev/urandom >"$dir/clip$i.mp4"; done
  total=$((clips << 20))
  start_emulator 400 40 4096
  t0=$(now); voddesk "$dir" --json >/dev/null 2>&1; t1=$(now)
  v=$(echo "$t1 - $t0" | bc -l)
  stop_emulator
  start_emulator 400 40 4096
  t0=$(now); sdk "$dir"/*.mp4; t1=$(now)
  s=$(echo "$t1 - $t0" | bc -l)
  stop_emulator
  rm -rf "$work/voddesk-data"
  say "$(printf 'clips %d x 1 MiB, 400 Mbit/s, 40 ms, 4 MiB window: voddesk %.2f s = %.0f %% of the link; vod-python-sdk %.2f s = %.0f %%' \
    "$clips" "$v" "$(share "$total" "$v" 400)" "$s" "$(share "$total" "$s" 400)")"
}

# interrupted SIGNAL: voddesk, then vod-python-sdk, each stopped KILL_AT s in and run again.
interrupted() {
  local signal=$1 file="$work/office.mp4" size pid t0 t1 stop_s kept extra sdk_extra
  head -c $((96 << 20)) /dev/urandom >"$file"
  size=$(stat -c %s "$file")
  start_emulator 50 40 512
  voddesk_env
  env "${venv[@]}" "$bin" upload "$file" --json >/dev/null 2>"$work/first.err" &
  pid=$!
  sleep "$kill_at"
  t0=$(now); kill "-$signal" "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; t1=$(now)
  stop_s=$(echo "$t1 - $t0" | bc -l)
  kept=$(body_bytes)
  voddesk "$file" --json >"$work/second.json" 2>"$work/second.err" || { cat "$work/second.err" >&2; }
  extra=$(( $(body_bytes) - size ))
  stop_emulator
  rm -rf "$work/voddesk-data"
  start_emulator 50 40 512
  "$python" "$work/sdk.py" "$base" "$secret_id" "$secret_key" "$root/tests/conformance" "$file" >/dev/null 2>&1 &
  pid=$!
  sleep "$kill_at"
  kill "-$signal" "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  sdk_sent=$(body_bytes)
  sdk "$file"
  sdk_extra=$(( $(body_bytes) - size ))
  stop_emulator
  say "$(printf '%-5s 96 MiB, 50 Mbit/s, 40 ms, 512 KiB window, SIG%s at %s s : voddesk had sent %.1f MiB when it stopped (in %.2f s), sent %.1f MiB twice; vod-python-sdk had sent %.1f MiB, sent %.1f MiB twice' \
    "$2" "$signal" "$kill_at" "$(mib "$kept")" "$stop_s" "$(mib "$extra")" "$(mib "$sdk_sent")" "$(mib "$sdk_extra")")"
  grep -h '^note: Stopped' "$work/first.err" >&2 || true
}

for c in "${cases[@]}"; do
  case "$c" in
    big) case_big ;;
    clips) case_clips ;;
    kill) interrupted KILL kill ;;
    pause) interrupted INT pause ;;
    *) echo "unknown case $c (big, clips, kill, pause)" >&2; exit 2 ;;
  esac
done
printf '\n'
printf '%s\n' "${report[@]}"
