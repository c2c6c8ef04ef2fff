#!/usr/bin/env bash
# Measurements for docs/benchmarks.md: binary sizes, start time to /healthz,
# idle memory with the demo running, and the Go benchmarks. Prints figures;
# asserts nothing (targets are judged by people reading the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/edgehmi}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
now_ns() { date +%s%N; }

echo "== binary sizes"
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f MB", b/1048576}'; }
for b in bin/edgehmi bin/edgehmi-desktop; do
  if [ -f "$b" ]; then printf '%-22s %s\n' "$b" "$(mb "$b")"; fi
done
CGO_ENABLED=0 GOARCH=arm64 go build -trimpath -ldflags '-s -w' -o "$tmp/arm64" .
printf '%-22s %s\n' "linux/arm64 headless" "$(mb "$tmp/arm64")"

# start_to_healthz ARGS...: milliseconds from exec to the first 200 on /healthz.
start_to_healthz() {
  local port; port=$(freeport)
  local t0; t0=$(now_ns)
  "$BIN" serve "$@" --listen "127.0.0.1:$port" --data "$tmp/data-$port" --log-level error >/dev/null 2>&1 &
  local pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.002; done
  local t1; t1=$(now_ns)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== start to /healthz 200 (median of 7, ms)"
mb=$(freeport); ua=$(freeport)
"$BIN" sim --modbus "127.0.0.1:$mb" --opcua "127.0.0.1:$ua" >/dev/null 2>&1 &
pids+=($!)
sleep 2
sed -e "s/port: 1502/port: $mb/" -e "s#opc.tcp://127.0.0.1:4840#opc.tcp://127.0.0.1:$ua#" examples/demo.yaml > "$tmp/demo.yaml"
echo "serve --config (plant in another process): $(for _ in 1 2 3 4 5 6 7; do start_to_healthz --config "$tmp/demo.yaml"; done | median) ms"
echo "serve --demo (starts the simulated plant too): $(for _ in 1 2 3 4 5 6 7; do start_to_healthz --demo; done | median) ms"

echo "== idle memory with the demo running (after 20 s)"
port=$(freeport)
"$BIN" serve --config "$tmp/demo.yaml" --listen "127.0.0.1:$port" --data "$tmp/idle" --log-level error >/dev/null 2>&1 &
p1=$!; pids+=($p1)
port2=$(freeport)
"$BIN" serve --demo --listen "127.0.0.1:$port2" --data "$tmp/idle2" --log-level error >/dev/null 2>&1 &
p2=$!; pids+=($p2)
sleep 20
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
echo "serve --config, polling the plant in another process: RSS $(rss $p1)"
echo "serve --demo, plant (Modbus + OPC UA servers) in-process: RSS $(rss $p2)"
echo "the plant alone (edgehmi sim): RSS $(rss "${pids[0]}")"
cpu() { awk '{print ($14+$15)/100 " s CPU"}' "/proc/$1/stat"; }
echo "CPU used in those 20 s: serve --config $(cpu $p1), serve --demo $(cpu $p2)"

echo "== Go benchmarks"
go test -run '^$' -bench 'BenchmarkHubFanout' -benchtime 20000x ./backend/web
go test -run '^$' -bench 'BenchmarkIngest' -benchtime 2000x ./backend/tags
go test -run '^$' -bench 'BenchmarkLog' -benchtime 200000x ./backend/store
go test -run '^$' -bench 'BenchmarkPlanner|BenchmarkPlanScattered10k|BenchmarkDecode' ./backend/driver/modbus
go test -run '^$' -bench 'BenchmarkAuditLatency' -benchtime 5000x ./backend/store
go test -run '^$' -bench 'BenchmarkLogin' -benchtime 20x ./backend/auth
go test -run '^$' -bench 'BenchmarkEvaluate|BenchmarkTick' ./backend/alarm
go test -run '^$' -bench 'BenchmarkJournal$' -benchtime 2000x ./backend/store
go test -run '^$' -bench 'BenchmarkJournalWeek' -benchtime 5x ./backend/store
echo "== history (issue 9): ingest (1,000 tags, committed by the one writer), a week of 1-second data in 2,000 points, an hour in 1,000"
go test -run '^$' -bench 'BenchmarkHistoryIngest' -benchtime 1000000x -count 3 ./backend/store
go test -run '^$' -bench 'BenchmarkHistoryQuery' -count 3 ./backend/store
go test -run '^$' -bench 'BenchmarkHistorian' -benchtime 50x -count 3 ./backend/store
go test -run '^$' -bench 'BenchmarkAlarmStorm' -benchtime 1x -count 3 ./backend/engine
go test -run '^$' -bench 'BenchmarkPoll100k' -benchtime 1x ./backend/engine
go test -run '^$' -bench 'BenchmarkOPCUA10k' -benchtime 1x ./backend/engine
EDGEHMI_BENCH_UA_PERIOD=1s go test -run '^$' -bench 'BenchmarkOPCUA10k' -benchtime 1x ./backend/engine

echo "== control loops: PID step, loop run, interlock evaluation; 1,000 loops at 100 ms"
go test -run '^$' -bench 'BenchmarkPIDUpdate|BenchmarkLoopRun|BenchmarkInterlockEvaluate' -benchmem ./backend/control
go test -run '^$' -bench 'BenchmarkLoops1000' -benchtime 1x ./backend/control
# The same under SCHED_FIFO, as a control service should run (systemd:
# CPUSchedulingPolicy=fifo): other processes' load then no longer decides.
go test -c -o "$tmp/control.test" ./backend/control
if chrt -f 10 true 2>/dev/null; then
  echo "-- under SCHED_FIFO (chrt -f 10)"
  chrt -f 10 "$tmp/control.test" -test.run '^$' -test.bench 'BenchmarkLoops1000' -test.benchtime 1x
else
  echo "-- SCHED_FIFO: skipped (needs CAP_SYS_NICE)"
fi

echo "== alarm storm in the browser: 10,000 alarms from one write to the banner"
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$chromium" ] && [ -d frontend/node_modules/playwright-core ]; then
  bin_abs=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  (cd frontend && EDGEHMI_BIN="$bin_abs" CHROMIUM_PATH="$chromium" node e2e/storm.mjs) || echo "alarm storm in the browser: failed (see above)"
else
  echo "skipped: needs $chromium (apt-get install chromium) and frontend/node_modules (npm ci in frontend)"
fi

echo "== a display of 1,000 live objects, 1,000 tag changes a second, in the browser (and the editor dragging in it)"
if [ -x "$chromium" ] && [ -d frontend/node_modules/playwright-core ]; then
  bin_abs=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  (cd frontend && EDGEHMI_BIN="$bin_abs" CHROMIUM_PATH="$chromium" node e2e/display-bench.mjs) || echo "display benchmark: failed (see above)"
else
  echo "skipped: needs $chromium and frontend/node_modules"
fi
go test -run '^$' -bench 'BenchmarkSparkplugPublish' -benchtime 500000x ./backend/sparkplug
go test -run '^$' -bench 'BenchmarkSparkplugReplay' -benchtime 1x -timeout 30m ./backend/sparkplug
