#!/usr/bin/env bash
# desktop-check.sh BINARY: opens the desktop window of BINARY (a desktop
# build of edgehmi) on the demo project under Xvfb at 1280x800, and fails
# unless the window shows the HMI with live values:
#   - the window is not blank (screenshot has many colours),
#   - the page's websocket reached the engine (edgehmi_ws_clients >= 1),
#   - the page's demo auto-login went through the window's REST path
#     (a successful login in the audit trail: POSTs reach the engine whole),
#   - two screenshots two seconds apart differ below the header (the demo's
#     values move every scan; the header's clock is left out),
#   - SIGTERM closes the window and the engine cleanly (exit 0).
# Screenshots go to bin/desktop-check/ (bin/ is gitignored). Needs xvfb-run,
# xauth, ImageMagick (import, convert, compare) and curl. Takes 15-90 s.
set -euo pipefail

WAIT_UI=60      # seconds to wait for the UI to show
STOP_WAIT=15    # seconds the app may take to stop after SIGTERM
HEADER_PX=64    # top strip left out of the live comparison (the clock ticks)
MIN_COLOURS=64  # fewer unique colours than this is a blank window
LIMIT=100       # seconds for the whole check, whatever happens

say() { echo "desktop-check: $*"; }
fail() {
  echo "desktop-check: FAIL: $*" >&2
  exit 1
}

# ---------------------------------------------------------------- inside Xvfb
if [ "${1:-}" = "--inside" ]; then
  BIN=$2 TMP=$3 OUT=$4
  export NO_AT_BRIDGE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1 LIBGL_ALWAYS_SOFTWARE=1
  "$BIN" desktop --demo --data "$TMP/data" >"$TMP/app.out" 2>"$TMP/app.err" &
  app=$!
  app_code="" # the app's exit code once stopped
  # stop_app sends SIGTERM and waits up to STOP_WAIT seconds (then SIGKILL).
  stop_app() {
    [ -n "$app_code" ] && return 0
    kill -TERM "$app" 2>/dev/null || true
    (sleep "$STOP_WAIT" && kill -KILL "$app" 2>/dev/null) &
    local watchdog=$!
    app_code=0
    wait "$app" || app_code=$?
    kill "$watchdog" 2>/dev/null || true
  }
  trap stop_app EXIT
  # alive: the app runs (kill -0 alone also succeeds on a zombie).
  alive() { [ -r "/proc/$app/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$app/stat"; }
  show_log() {
    echo "--- app stdout:" >&2; cat "$TMP/app.out" >&2
    echo "--- app stderr (last 25 lines):" >&2; tail -n 25 "$TMP/app.err" >&2
  }
  shot() { import -window root "$1" 2>/dev/null; }
  colours() { convert "$1" -format %k info: 2>/dev/null || echo 0; }

  deadline=$((SECONDS + WAIT_UI))
  url=""
  while [ -z "$url" ]; do
    alive || { show_log; fail "the app exited before its engine started"; }
    url=$(grep -o 'http://[0-9.]*:[0-9]*' "$TMP/app.out" | head -n 1 || true)
    [ $SECONDS -lt $deadline ] || { show_log; fail "the engine did not start within ${WAIT_UI}s"; }
    [ -n "$url" ] || sleep 0.2
  done
  say "engine at $url"

  # Wait for the page: its websocket connected, and the window painted.
  n=0 ws=0
  while :; do
    alive || { show_log; fail "the app exited while the window was loading"; }
    ws=$(curl -fsS --max-time 2 "$url/metrics" 2>/dev/null | awk '$1=="edgehmi_ws_clients"{print $2}' || true)
    shot "$OUT/poll.png" && n=$(colours "$OUT/poll.png") || n=0
    if [ "${ws:-0}" -ge 1 ] && [ "$n" -ge "$MIN_COLOURS" ]; then break; fi
    if [ $SECONDS -ge $deadline ]; then
      cp "$OUT/poll.png" "$OUT/shot-1.png" 2>/dev/null || true
      show_log
      [ "$n" -ge "$MIN_COLOURS" ] || fail "the window stayed blank for ${WAIT_UI}s ($n unique colours): see $OUT/shot-1.png"
      fail "the page did not open its websocket to $url/ws within ${WAIT_UI}s (edgehmi_ws_clients=${ws:-?}): see $OUT/shot-1.png"
    fi
    sleep 1
  done
  rm -f "$OUT/poll.png"
  say "window shows the UI after ${SECONDS}s; the page's websocket is connected (edgehmi_ws_clients=$ws)"

  # The demo page logs in as operator by itself; the POST goes through the
  # window's wails:// request path into the engine's handler. Reading the
  # audit trail needs a login too: the check logs in as the demo engineer
  # and looks for the operator's login.
  token=$(curl -fsS --max-time 5 -H 'Content-Type: application/json' -d '{"user":"engineer","password":"engineer"}' \
    "$url/api/v1/login" | grep -o '"token":"[^"]*"' | cut -d'"' -f4 || true)
  [ -n "$token" ] || fail "the check could not log in to read the audit trail"
  login="" login_deadline=$((SECONDS + 20))
  while :; do
    login=$(curl -fsS --max-time 2 -H "Authorization: Bearer $token" \
      "$url/api/v1/events?kind=audit&action=login&user=operator&limit=50" 2>/dev/null |
      grep -o '{[^{}]*"action":"login"[^{}]*}' | head -n 1 || true)
    [ -n "$login" ] && break
    [ $SECONDS -lt $login_deadline ] || break
    sleep 0.5
  done
  case "$login" in
    *'"result":"ok"'*) say "the page logged in through the window: $login" ;;
    "") show_log; fail "the page did not log in (no login in the audit trail): POST requests from the window do not reach the engine; was the binary built with -tags desktop,production,webkit2_40?" ;;
    *) show_log; fail "the page's login failed: $login" ;;
  esac

  sleep 1 # let the login's re-render settle
  shot "$OUT/shot-1.png" || fail "cannot take a screenshot"
  sleep 2
  shot "$OUT/shot-2.png" || fail "cannot take a screenshot"
  c1=$(colours "$OUT/shot-1.png") c2=$(colours "$OUT/shot-2.png")
  [ "$c1" -ge "$MIN_COLOURS" ] && [ "$c2" -ge "$MIN_COLOURS" ] ||
    fail "the window is blank ($c1 and $c2 unique colours): see $OUT/shot-1.png"
  geom=$(identify -format '%wx%h' "$OUT/shot-1.png")
  w=${geom%x*} h=${geom#*x}
  crop="${w}x$((h - HEADER_PX))+0+$HEADER_PX"
  diff=$(compare -metric AE -crop "$crop" "$OUT/shot-1.png" "$OUT/shot-2.png" null: 2>&1 || true)
  diff=${diff%% *}
  case "$diff" in '' | *[!0-9]*) fail "cannot compare the screenshots: $diff" ;; esac
  [ "$diff" -gt 0 ] || fail "the two screenshots 2s apart are identical below the header: no live values (see $OUT/shot-1.png, $OUT/shot-2.png)"
  say "screenshots ${geom}: $c1 and $c2 unique colours; $diff pixels changed in 2s below the header (live values)"

  errs=$(grep -c 'level=ERROR' "$TMP/app.err" || true)
  [ "$errs" = 0 ] || { say "warning: the app logged $errs error(s):"; grep 'level=ERROR' "$TMP/app.err" | head -n 5; }

  stop_app
  case "$app_code" in
    0) ;;
    137) show_log; fail "the app did not stop within ${STOP_WAIT}s of SIGTERM (killed)" ;;
    *) show_log; fail "the app exited $app_code after SIGTERM, want 0" ;;
  esac
  grep -q 'edgehmi stopped' "$TMP/app.err" || { show_log; fail "the engine did not log a clean stop"; }
  say "SIGTERM closed the window and stopped the engine cleanly (exit 0)"
  exit 0
fi

# ---------------------------------------------------------------- outside
[ $# -eq 1 ] || { echo "usage: $0 BINARY   (a desktop build: make desktop)" >&2; exit 2; }
[ -x "$1" ] || fail "$1 is not an executable; build it with: make desktop"
for t in xvfb-run xauth import convert compare identify curl setsid timeout; do
  command -v "$t" >/dev/null || fail "$t is missing: ./scripts/ensure-packages.sh xvfb xauth imagemagick curl"
done
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bin/desktop-check
mkdir -p "$OUT"
rm -f "$OUT"/*.png
TMP=$(mktemp -d -t edgehmi-desktop-check.XXXXXX)
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

group=""
cleanup() {
  # The inner run has its own process group: xvfb-run, Xvfb, the app.
  if [ -n "$group" ] && kill -0 -- "-$group" 2>/dev/null; then
    kill -TERM -- "-$group" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$group" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "running $BIN desktop --demo under Xvfb (1280x800)"
setsid timeout -k 5 "$LIMIT" xvfb-run -a -s "-screen 0 1280x800x24" bash "$SELF" --inside "$BIN" "$TMP" "$OUT" &
group=$! # timeout bounds the whole run and kills its process group when it expires
code=0
wait "$group" || code=$?
[ "$code" != 124 ] || echo "desktop-check: FAIL: no result within ${LIMIT}s" >&2
if [ "$code" != 0 ]; then
  echo "desktop-check: FAILED (exit $code); screenshots, if any, in $OUT" >&2
  exit 1
fi
say "ok: screenshots $OUT/shot-1.png and $OUT/shot-2.png"
