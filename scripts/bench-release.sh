#!/usr/bin/env bash
# Issue 11's figures for docs/benchmarks.md: release binary sizes, start to
# /healthz 200 on amd64 and under qemu arm64, idle RSS of serve --demo after
# 20 s, and the time to back up a ~1 GB database while the demo polls and
# records into it. Prints figures; asserts nothing. Run by `make bench`
# (after `make release`, or it builds the binaries it needs).
#   scripts/bench-release.sh [DIST]     BACKUP_MB=1000 by default (under the
# default history.max_size, 1 GiB, which the server would prune to); ONLY_BACKUP=1 skips the rest
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-dist}
GO=${GO:-go}
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# up PORT: wait (at most 60 s) for /healthz 200
up() {
  for _ in $(seq 12000); do curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.005; done
  echo "bench-release: no /healthz 200 on port $1" >&2; return 1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for t in amd64:amd64: arm64:arm64: armv7:arm:7; do
  name=${t%%:*} rest=${t#*:}; arch=${rest%%:*} arm=${rest#*:}
  [ -x "$dist/edgehmi-linux-$name" ] && continue
  mkdir -p "$dist"
  CGO_ENABLED=0 GOARCH=$arch GOARM=$arm $GO build -trimpath -ldflags "-s -w" -o "$dist/edgehmi-linux-$name" .
done

if [ -z "${ONLY_BACKUP:-}" ]; then
echo "== release binaries"
for f in "$dist"/edgehmi-linux-* "$dist"/edgehmi-desktop-linux-* "$dist"/*.deb; do
  [ -f "$f" ] && awk -v b="$(stat -c %s "$f")" -v f="$(basename "$f")" 'BEGIN {printf "%-36s %6.1f MB\n", f, b/1048576}'
done

# start RUNNER...: ms from exec to /healthz 200 of serve --demo
start() {
  local port; port=$(freeport)
  rm -rf "$tmp/data"
  local t0; t0=$(now_ms)
  "$@" serve --demo --listen "127.0.0.1:$port" --data "$tmp/data" --log-level error >/dev/null 2>&1 &
  pid=$!
  up "$port"
  echo $(($(now_ms) - t0))
  kill $pid; wait $pid 2>/dev/null || true; pid=""
}
echo "== start to /healthz 200, serve --demo, fresh data dir (median of 5, ms)"
printf 'linux/amd64            %s\n' "$(for _ in 1 2 3 4 5; do start "$dist/edgehmi-linux-amd64"; done | median)"
if command -v qemu-aarch64-static >/dev/null; then
  printf 'linux/arm64 (qemu)     %s\n' "$(for _ in 1 2 3 4 5; do start qemu-aarch64-static "$dist/edgehmi-linux-arm64"; done | median)"
  printf 'linux/armv7 (qemu)     %s\n' "$(for _ in 1 2 3 4 5; do start qemu-arm-static "$dist/edgehmi-linux-armv7"; done | median)"
fi

echo "== idle RSS: serve --demo after 20 s (amd64)"
port=$(freeport); rm -rf "$tmp/data"
"$dist/edgehmi-linux-amd64" serve --demo --listen "127.0.0.1:$port" --data "$tmp/data" --log-level error >/dev/null 2>&1 &
pid=$!
sleep 20
echo "VmRSS $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status), VmHWM $(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null || true; pid=""

fi

echo "== backup of a ~${BACKUP_MB:-1000} MB database while the demo polls and records into it"
t0=$(now_ms)
EDGEHMI_GEN_DB="$tmp/big" EDGEHMI_GEN_DB_MB=${BACKUP_MB:-1000} $GO test -count=1 -run TestGenerateBenchDB -v ./backend/store | grep -E "generated|FAIL" || true
echo "generated in $(( ($(now_ms) - t0) / 1000 )) s: $(du -m "$tmp/big/edgehmi.db" | cut -f1) MB"
port=$(freeport)
"$dist/edgehmi-linux-amd64" serve --demo --listen "127.0.0.1:$port" --data "$tmp/big" --log-level error >/dev/null 2>&1 &
pid=$!
up "$port"
sleep 3
polls() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^edgehmi_device_polls_total/ {s += $2} END {print s}'; }
hist() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^edgehmi_history_samples_total/ {print $2}'; }
p0=$(polls) h0=$(hist)
t0=$(now_ms)
"$dist/edgehmi-linux-amd64" backup --data "$tmp/big" --out "$tmp/backup.db"
took=$(($(now_ms) - t0))
p1=$(polls) h1=$(hist)
echo "backup: $took ms for $(du -m "$tmp/backup.db" | cut -f1) MB; meanwhile $((p1 - p0)) polls and $((h1 - h0)) history samples committed by the server"
kill $pid; wait $pid 2>/dev/null || true; pid=""
t0=$(now_ms)
"$dist/edgehmi-linux-amd64" restore --data "$tmp/restored" --in "$tmp/backup.db" >/dev/null
echo "restore (integrity check + copy): $(($(now_ms) - t0)) ms"
