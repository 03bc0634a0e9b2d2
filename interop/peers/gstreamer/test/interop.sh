#!/usr/bin/env bash
# Runs the GStreamer peers against each other and against every other peer that
# is available here: the GStreamer server with each client, each server with the
# GStreamer client, tests 0 and 1, over this machine's own addresses.
# Usage: interop/peers/gstreamer/test/interop.sh [first-port]   (default 19080)
# ECHO_MS=1500 makes test 0 also count the media echo (--echo-ms for the Python
# and Go clients, --media for ours).
# Prints one line per pair: server client test result seconds last-stderr-line.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
port="${1:-19080}"
py=/usr/bin/python3
gst="$root/interop/peers/gstreamer"
logs="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$logs"; }
trap cleanup EXIT

declare -A server_cmd client_cmd
server_cmd[gstreamer]="$py $gst/server.py --port"
client_cmd[gstreamer]="$py $gst/client.py --timeout 10"
if [ -x "$root/interop/peers/pion/bin/pion-server" ]; then
  server_cmd[pion]="$root/interop/peers/pion/bin/pion-server --port"
  client_cmd[pion]="$root/interop/peers/pion/bin/pion-client --timeout 10"
fi
if [ -x "$root/interop/peers/aiortc/aiortc-server" ]; then
  server_cmd[aiortc]="$root/interop/peers/aiortc/aiortc-server --port"
  client_cmd[aiortc]="$root/interop/peers/aiortc/aiortc-client --timeout 10"
fi
if [ -f "$root/dist/cli.js" ]; then
  for engine in libdatachannel werift; do
    server_cmd[ts-$engine]="node $root/dist/cli.js serve --engine $engine --log-level warn --port"
    client_cmd[ts-$engine]="node $root/dist/cli.js client --engine $engine --timeout 10"
  done
fi

# Starts a server and waits until it answers HTTP (not every server prints
# "listening" at its default log level).
start_server() {
  local name="$1" p="$2"
  ${server_cmd[$name]} "$p" >"$logs/$name.out" 2>"$logs/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 1 -X OPTIONS "http://127.0.0.1:$p/offer")"
    [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  echo "server $name did not start: $(tail -n 2 "$logs/$name.err" | tr '\n' ' ')" >&2
  return 1
}

run_pair() {
  local server="$1" client="$2" p="$3" test="$4" start end code extra=()
  if [ "$test" = 0 ] && [ -n "${ECHO_MS:-}" ]; then
    case "$client" in
      ts-*) extra=(--media) ;;
      *) extra=(--echo-ms "$ECHO_MS") ;;
    esac
  fi
  start=$(date +%s.%N)
  timeout 25 ${client_cmd[$client]} -s "http://127.0.0.1:$p/offer" -t "$test" "${extra[@]}" >/dev/null 2>"$logs/client.err"
  code=$?
  end=$(date +%s.%N)
  local result=pass
  [ "$code" -ne 0 ] && result="FAIL($code)"
  local detail
  detail="$(grep -E '(error|echo-packets|echo-frames|connected_ms|echoed|packets)' "$logs/client.err" | tail -n 1 | cut -c1-160)"
  printf '%-18s %-18s %s %-8s %5.2fs %s\n' "$server" "$client" "$test" "$result" "$(echo "$end - $start" | bc)" "$detail"
}

for server in "${!server_cmd[@]}"; do
  p=$port; port=$((port + 1))
  start_server "$server" "$p" || continue
  for client in "${!client_cmd[@]}"; do
    [ "$server" != gstreamer ] && [ "$client" != gstreamer ] && continue
    for test in 0 1; do run_pair "$server" "$client" "$p" "$test"; done
  done
  kill -TERM "${pids[-1]}" 2>/dev/null
done
