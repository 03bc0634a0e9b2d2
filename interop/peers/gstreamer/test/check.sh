#!/usr/bin/env bash
# Self-check of the GStreamer peers over loopback: client ↔ server in every
# command-line form, the media echo, the failure paths, and that the server
# releases its sessions. Exits 1 on the first check that fails.
# Usage: interop/peers/gstreamer/test/check.sh [port]   (default 19080)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${1:-19080}"
py=/usr/bin/python3
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/client.err" ] && sed 's/^/    /' "$work/client.err"; exit 1; }
pass() { echo "ok: $*"; }

# expect <exit code> <max seconds> <description> -- <client args...>
expect() {
  local want="$1" limit="$2" what="$3"; shift 4
  local start end code
  start=$(date +%s%N)
  timeout 30 "$py" "$here/client.py" "$@" >/dev/null 2>"$work/client.err"
  code=$?
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  [ "$code" = "$want" ] || fail "$what: exit $code, wanted $want"
  [ "$ms" -le $((limit * 1000)) ] || fail "$what: took ${ms} ms, more than ${limit} s"
  pass "$what (exit $code, ${ms} ms): $(tail -n 1 "$work/client.err")"
}

"$py" "$here/server.py" --port "$port" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
server_pid=$!
for _ in $(seq 1 50); do grep -q "^listening $port$" "$work/server.out" && break; sleep 0.1; done
grep -q "^listening $port$" "$work/server.out" || fail "server did not print 'listening $port'"
url="http://127.0.0.1:$port/offer"

code="$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$url")"
[ "$code" = 204 ] || fail "OPTIONS /offer gave $code"
curl -s -D - -o /dev/null -X OPTIONS "$url" | grep -qi '^access-control-allow-origin: \*' || fail "no CORS header"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"type":"offer","sdp":"nonsense"}' "$url")"
[ "$code" = 400 ] || fail "a bad offer gave $code"
pass "HTTP: OPTIONS 204 with CORS, bad offer 400"

expect 0 10 "test 0, URL form" -- "$url"
expect 0 10 "test 1, one-argument form" -- "-s $url -t 1"
expect 0 10 "test 1, separate flags, bare address" -- -s "http://127.0.0.1:$port" -t 1
expect 0 10 "test 0 with --require-echo" -- -s "$url" -t 0 --require-echo
expect 0 10 "test 0 with --echo-ms 1500" -- -s "$url" -t 0 --echo-ms 1500
grep -q "echo-packets.*audio.*video" "$work/client.err" || fail "no echo of both audio and video"
expect 1 3 "closed port" -- "http://127.0.0.1:$((port + 1))/offer"

"$py" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); held = []
while True: held.append(s.accept())' "$((port + 2))" &
pids+=($!)
sleep 0.3
expect 1 5 "server that never answers, --timeout 3" -- -s "http://127.0.0.1:$((port + 2))/offer" -t 1 --timeout 3

sleep 6 # media sessions end 5 s after their RTP stops
open_sessions=$(( $(grep -c 'answer_ms' "$work/server.err") - $(grep -c 'closed:' "$work/server.err") ))
[ "$open_sessions" = 0 ] || fail "$open_sessions session(s) still open: $(grep session "$work/server.err" | tr '\n' ' ')"
pass "every session released"

kill -TERM "$server_pid"
wait "$server_pid"
code=$?
[ "$code" = 0 ] || fail "server exit code on SIGTERM: $code"
pass "server exits 0 on SIGTERM"
