#!/usr/bin/env bash
# Upload throughput and memory: voddesk vs Tencent's vod-python-sdk against the same embedded
# emulator in one run.
#
#   scripts/bench_upload.sh [SIZE] [ROUNDS]   SIZE in bytes or with a suffix: 512M, 1G (default),
#                                             4G; ROUNDS (default 3) alternating runs of each
#   WARMUP=0 scripts/bench_upload.sh …          skip the untimed first run of each tool
#   VODDESK_BIN=path scripts/bench_upload.sh …  measure that binary (no build)
#   EMU_BIN=path scripts/bench_upload.sh …      run the emulator from that binary (default: the
#                                               measured one), to tell a client's change from
#                                               the emulator's
#   EMU_STORE=disk scripts/bench_upload.sh …    the emulator keeps its data on the disk (see below)
#   LATENCY_MS=10 scripts/bench_upload.sh …     the emulator waits 10 ms before answering each
#                                               request (--latency-ms), as a network's round
#                                               trip makes every request wait: loopback has
#                                               none, so without it the figures compare CPU
#                                               cost alone
#
# Starts `voddesk emulator` on a free loopback port, writes a file of SIZE random bytes, uploads
# it with `voddesk upload` (release build, defaults) and with vod-python-sdk (defaults; the venv
# .venv-sdk that scripts/test.sh creates), ROUNDS times each, alternating, and prints every
# time, the medians, their ratio, the CPU seconds of each tool and of its emulator, and voddesk's
# peak RSS (GNU time -v). Only the addresses the SDK talks to are changed, as the conformance
# suite does.
#
# Where the emulator keeps what it receives (EMU_STORE): `shm` (the default, when there is
# room) is /dev/shm; `disk` is a directory beside the test file on the disk, as `voddesk
# emulator` keeps its data by default (the page cache holds it; it is deleted after each run).
# Neither is neutral: on the 6.18 VM of CI, ext4 writes cost the emulator less CPU than tmpfs
# (large folios against 4 KiB pages), which helps voddesk, while the SDK's 1 MiB parts become
# 1,024 files, each with its ext4 metadata, which slows the SDK. The README gives the figures
# of both. Each run gets a fresh emulator whose data is deleted afterwards (see
# start_emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
size_arg=${1:-1G}
size=$(numfmt --from=iec "$size_arg")
rounds=${2:-3}

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -qq time >/dev/null
fi
# VODDESK_SDK_PYTHON (as scripts/test.sh exports it) names a Python that has the SDK.
venv="$root/.venv-sdk"
python=${VODDESK_SDK_PYTHON:-$venv/bin/python}
if [ ! -x "$python" ] || ! "$python" -c 'import qcloud_vod' 2>/dev/null; then
  echo "creating $venv with vod-python-sdk" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check vod-python-sdk
  python="$venv/bin/python"
fi

# VODDESK_BIN names a binary to measure instead of building this tree's (e.g. the build of an
# earlier commit, for before/after figures).
if [ -n "${VODDESK_BIN:-}" ]; then
  bin=$(realpath "$VODDESK_BIN")
else
  cargo build --release --quiet
  bin="$root/target/release/voddesk"
fi

emu_bin=""
if [ -n "${EMU_BIN:-}" ]; then emu_bin=$(realpath "$EMU_BIN"); fi

work=$(mktemp -d /tmp/voddesk-bench.XXXXXX)
# The emulator's data (see EMU_STORE above): /dev/shm when there is room for one upload and
# some, unless EMU_STORE=disk.
emu_root="$work"
shm_free=$(df --output=avail -B1 /dev/shm 2>/dev/null | tail -1 || echo 0)
case "${EMU_STORE:-shm}" in
  shm) if [ "${shm_free:-0}" -gt $((size * 3)) ]; then emu_store=shm; else emu_store=disk; fi ;;
  disk) emu_store=disk ;;
  *) echo "EMU_STORE is shm or disk, not $EMU_STORE" >&2; exit 2 ;;
esac
if [ "$emu_store" = shm ]; then
  emu_root=$(mktemp -d /dev/shm/voddesk-bench-emu.XXXXXX)
fi
emu_pid=""
stop_emulator() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  emu_pid=""
  rm -rf "$emu_root/data"
}
cleanup() {
  stop_emulator
  rm -rf "$work" "$emu_root"
}
trap cleanup EXIT

# A fresh emulator for every run, with its demo key (any real key unset so that it prints the
# demo one). Fresh, because every upload lands in memory the previous one freed: on a VM the
# first touch of new guest memory is slow, and piling objects up charged that to whichever
# uploader ran later.
start_emulator() {
  env -u TENCENTCLOUD_SECRET_ID -u TENCENTCLOUD_SECRET_KEY \
    "${emu_bin:-$bin}" emulator --addr 127.0.0.1:0 --data "$emu_root/data" --latency-ms "${LATENCY_MS:-0}" \
    >"$work/emu.out" 2>"$work/emu.err" &
  emu_pid=$!
  for _ in $(seq 1 200); do
    grep -q '^SecretKey:' "$work/emu.out" 2>/dev/null && break
    sleep 0.05
  done
  base=$(sed -n 's/^listening on //p' "$work/emu.out")
  secret_id=$(sed -n 's/^SecretId: //p' "$work/emu.out")
  secret_key=$(sed -n 's/^SecretKey: //p' "$work/emu.out")
  if [ -z "$base" ] || [ -z "$secret_key" ]; then
    echo "the emulator did not start:" >&2; cat "$work/emu.out" "$work/emu.err" >&2; exit 1
  fi
}

file="$work/bench.mp4"
echo "writing $size_arg ($size bytes) of random data" >&2
head -c "$size" /dev/urandom >"$file"
# Written back before timing starts: otherwise the kernel flushes it during the first runs.
sync "$file"

cat >"$work/sdk.py" <<'PY'
import sys, time, urllib.parse
sys.path.insert(0, sys.argv[5])
from routing import route_sdks
import qcloud_vod.vod_upload_client as vuc
from qcloud_vod.model import VodUploadRequest

base, secret_id, secret_key, path = sys.argv[1:5]
split = urllib.parse.urlsplit(base)
# Addresses only: the SDK itself is unmodified and uses its defaults.
route_sdks(split.netloc, split.scheme)
client = vuc.VodUploadClient(secret_id, secret_key)
request = VodUploadRequest()
request.MediaFilePath = path
start = time.time()
response = client.upload("ap-guangzhou", request)
print("%.3f %s" % (time.time() - start, response.FileId))
PY

# CPU seconds (user + system) of the process /usr/bin/time -v measured into $1.
tool_cpu() {
  awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$1"
}
# CPU seconds the running emulator has used so far.
emulator_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$emu_pid/stat"
}
# Each run prints "WALL TOOL_CPU EMULATOR_CPU".
run_voddesk() {
  local start end emu_cpu
  rm -rf "$work/voddesk-data"
  start_emulator
  start=$(date +%s.%N)
  TENCENTCLOUD_SECRET_ID="$secret_id" TENCENTCLOUD_SECRET_KEY="$secret_key" \
  VODDESK_VOD_ENDPOINT="$base" VODDESK_COS_ENDPOINT="$base" VODDESK_UGC_ENDPOINT="$base" \
  VODDESK_DATA_DIR="$work/voddesk-data" \
    /usr/bin/time -v -o "$work/time.txt" "$bin" upload "$file" --json >"$work/voddesk.json"
  end=$(date +%s.%N)
  emu_cpu=$(emulator_cpu)
  stop_emulator
  echo "$(echo "$end - $start" | bc -l) $(tool_cpu "$work/time.txt") $emu_cpu"
}
run_sdk() {
  local start end emu_cpu
  start_emulator
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/sdk-time.txt" \
    "$python" "$work/sdk.py" "$base" "$secret_id" "$secret_key" "$file" "$root/tests/conformance" >"$work/sdk.out"
  end=$(date +%s.%N)
  emu_cpu=$(emulator_cpu)
  stop_emulator
  echo "$(echo "$end - $start" | bc -l) $(tool_cpu "$work/sdk-time.txt") $emu_cpu"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One untimed run of each first. Right after a build or a test run, the first upload on a VM
# that hands freed memory back to its host (this one does: page_reporting) pays for faulting
# that memory in again: it has taken 20 s instead of 1.3 s. Medians absorb one such run, not
# two, and the first round would charge it to voddesk alone.
if [ "${WARMUP:-1}" != 0 ]; then
  echo "warm-up (untimed): voddesk, then vod-python-sdk …" >&2
  run_voddesk >/dev/null
  run_sdk >/dev/null
fi

voddesk_times=()
sdk_times=()
voddesk_runs=()
sdk_runs=()
rss_max=0
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds: voddesk upload …" >&2
  voddesk_runs+=("$(run_voddesk)")
  voddesk_times+=("${voddesk_runs[-1]%% *}")
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  [ "$rss_kb" -gt "$rss_max" ] && rss_max=$rss_kb
  echo "round $round of $rounds: vod-python-sdk upload …" >&2
  sdk_runs+=("$(run_sdk)")
  sdk_times+=("${sdk_runs[-1]%% *}")
done
voddesk_s=$(printf '%s\n' "${voddesk_times[@]}" | median)
sdk_s=$(printf '%s\n' "${sdk_times[@]}" | median)
# Median CPU seconds of column $2 (2: the tool, 3: the emulator) of the runs given after it.
cpu_median() {
  local column=$1
  shift
  printf '%s\n' "$@" | awk -v c="$column" '{ print $c }' | median
}
ratio=$(echo "$sdk_s / $voddesk_s" | bc -l)
printf 'file size:            %s bytes (%s), %s rounds, emulator data on %s, %s ms added to each request\n' \
  "$size" "$size_arg" "$rounds" "$emu_store" "${LATENCY_MS:-0}"
printf 'voddesk upload:       %s s (median %.2f s)   (%s)\n' "$(printf '%.2f ' "${voddesk_times[@]}")" "$voddesk_s" "$(head -c 120 "$work/voddesk.json")"
printf 'vod-python-sdk:       %s s (median %.2f s)   (FileId %s)\n' "$(printf '%.2f ' "${sdk_times[@]}")" "$sdk_s" "$(cut -d' ' -f2 "$work/sdk.out")"
printf 'ratio (sdk/voddesk):  %.2fx\n' "$ratio"
printf 'CPU s, median:        voddesk %.2f + its emulator %.2f;  vod-python-sdk %.2f + its emulator %.2f  (2 cores: %s)\n' \
  "$(cpu_median 2 "${voddesk_runs[@]}")" "$(cpu_median 3 "${voddesk_runs[@]}")" \
  "$(cpu_median 2 "${sdk_runs[@]}")" "$(cpu_median 3 "${sdk_runs[@]}")" "$(nproc)"
printf 'voddesk peak RSS:     %.1f MiB\n' "$(echo "$rss_max / 1024" | bc -l)"
