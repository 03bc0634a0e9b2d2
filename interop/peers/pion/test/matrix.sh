#!/usr/bin/env bash
# Smoke matrix of our foreign peers over loopback: every server × every client ×
# tests 0 and 1, then the client failure paths. Prints one line per cell:
#   server client test rc wall_ms connected_ms [echo]
# Usage: interop/peers/pion/test/matrix.sh [base_port]   (build first: interop/setup/pion.sh)
set -uo pipefail

peers="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base_port="${1:-18080}"
declare -A server_cmd=(
  [pion]="$peers/pion/bin/pion-server"
  [aiortc]="$peers/aiortc/aiortc-server"
)
declare -A client_cmd=(
  [pion]="$peers/pion/bin/pion-client"
  [aiortc]="$peers/aiortc/aiortc-client"
)
logs="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null; rm -rf "$logs"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }

# start_server NAME PORT: runs it and waits (at most 10 s) for "listening <port>".
start_server() {
  "${server_cmd[$1]}" --port "$2" >"$logs/server.out" 2>"$logs/server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "^listening $2" "$logs/server.out" && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  return 1
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  local rc=0
  timeout 5 tail --pid="$server_pid" -f /dev/null || rc=1
  wait "$server_pid"; local exit_code=$?
  echo "# server stopped: exit $exit_code$([ $rc = 1 ] && echo ' (did not stop within 5 s)')"
  server_pid=""
}

# run_client NAME ARGS...: prints rc, wall time and the client's connected_ms.
run_client() {
  local name=$1; shift
  local start end rc
  start=$(now_ms)
  timeout 30 "${client_cmd[$name]}" "$@" 2>"$logs/client.err"
  rc=$?
  end=$(now_ms)
  local connected echo error
  connected=$(awk '/^connected_ms/ {print $2}' "$logs/client.err")
  echo=$(grep -Eo '^echo-(packets|frames) [0-9]+' "$logs/client.err" | tr ' ' '=')
  error=$(grep '^error:' "$logs/client.err")
  echo "rc=$rc wall_ms=$((end - start)) connected_ms=${connected:--} ${echo} ${error}"
}

port=$base_port
for server in pion aiortc; do
  start_server "$server" "$port" || exit 1
  url="http://127.0.0.1:$port/offer"
  for client in pion aiortc; do
    echo "$server-server $client-client test0 $(run_client "$client" "$url")"
    echo "$server-server $client-client test1 $(run_client "$client" "-s $url -t 1")"
    echo "$server-server $client-client test0+echo $(run_client "$client" -s "$url" -t 0 --echo-ms 1500)"
  done
  stop_server
  port=$((port + 1))
done

# Failure paths: a closed port, and a server that accepts but never answers.
for client in pion aiortc; do
  echo "closed-port $client-client $(run_client "$client" -s "http://127.0.0.1:$port/offer" -t 1 --timeout 5)"
done
/usr/bin/python3 -c '
import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)  # read nothing, answer nothing
' "$port" >"$logs/silent.out" &
silent_pid=$!
sleep 0.5
for client in pion aiortc; do
  echo "silent-server(--timeout 3) $client-client $(run_client "$client" -s "http://127.0.0.1:$port/offer" -t 0 --timeout 3)"
done
kill "$silent_pid"
