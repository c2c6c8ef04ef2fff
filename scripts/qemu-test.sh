#!/usr/bin/env bash
# Runs the release's ARM binaries under Debian's qemu-user-static: each
# serves the demo, answers /healthz 200, and serves live values (a demo
# tag's value or timestamp changes between two reads of /api/v1/tags).
#   scripts/qemu-test.sh DIST     (DIST holds edgehmi-linux-arm64, edgehmi-linux-armv7)
# Without qemu it skips, unless EDGEHMI_REQUIRE_QEMU=1 (make test sets it).
# Prints the time from start to /healthz 200 per architecture.
set -euo pipefail
dist=${1:-dist}
declare -A emu=([arm64]=qemu-aarch64-static [armv7]=qemu-arm-static)
missing=0
for a in arm64 armv7; do command -v "${emu[$a]}" >/dev/null || missing=1; done
if [ $missing = 1 ]; then
  echo "qemu-test: qemu-user-static is not installed; skipped" >&2
  [ "${EDGEHMI_REQUIRE_QEMU:-}" = 1 ] && exit 1
  exit 0
fi
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "qemu-test: FAIL: $*" >&2; [ -f "$tmp/log" ] && tail -5 "$tmp/log" >&2; exit 1; }
now_ms() { date +%s%3N; }
tag() { # value and timestamp of T101.Level
  curl -fsS "http://$1/api/v1/tags" | python3 -c '
import json, sys
t = {x["name"]: x for x in json.load(sys.stdin)}["T101.Level"]
print(t["value"], t["ts"], t["quality"])'
}
for a in arm64 armv7; do
  bin=$dist/edgehmi-linux-$a
  [ -x "$bin" ] || fail "$bin missing (make release)"
  "${emu[$a]}" "$bin" version | grep -q "linux/${a%v7}" || fail "$a: version: $("${emu[$a]}" "$bin" version)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  addr=127.0.0.1:$port
  rm -rf "$tmp/data"
  start=$(now_ms)
  "${emu[$a]}" "$bin" serve --demo --listen "$addr" --data "$tmp/data" --log-level warn >"$tmp/log" 2>&1 &
  pid=$!
  up=""
  for _ in $(seq 600); do
    if curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null; then up=$(($(now_ms) - start)); break; fi
    kill -0 $pid 2>/dev/null || fail "$a: serve exited"
    sleep 0.05
  done
  [ -n "$up" ] || fail "$a: no /healthz 200 in 30 s"
  # live: the plant moves T101.Level; wait for Good values, then compare two reads
  first=""
  for _ in $(seq 100); do
    first=$(tag "$addr") || fail "$a: GET /api/v1/tags"
    [ "${first##* }" = good ] && break
    sleep 0.1
  done
  [ "${first##* }" = good ] || fail "$a: T101.Level never Good: $first"
  live=""
  for _ in $(seq 50); do
    sleep 0.2
    second=$(tag "$addr")
    if [ "${second% *}" != "${first% *}" ]; then live=1; break; fi
  done
  [ -n "$live" ] || fail "$a: T101.Level did not change in 10 s ($first)"
  kill $pid; wait $pid 2>/dev/null || true; pid=""
  echo "qemu-test: ok: linux/$a under ${emu[$a]}: /healthz 200 after $up ms; T101.Level live ($first -> $second)"
done
