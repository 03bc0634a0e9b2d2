#!/usr/bin/env bash
# Makes the Janus Echo Test server runnable: Debian's janus 1.1 with its EchoTest plugin and
# HTTP transport, then a quick check: the adapter starts its own janus, says `listening`,
# Janus reports data channel support (usrsctp), a bogus offer gets 400, SIGTERM exits 0.
# Needs the built package (npm ci / npm run build) for the adapter, dist/interop/janus/main.js.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="${JANUS_LIB_DIR:-/usr/lib/x86_64-linux-gnu/janus}"

if [ ! -x /usr/bin/janus ] || [ ! -e "$lib/plugins/libjanus_echotest.so" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y janus
fi
for f in "$lib/plugins/libjanus_echotest.so" "$lib/transports/libjanus_http.so"; do
  [ -e "$f" ] || { echo "missing $f (Debian's janus package puts it there)" >&2; exit 1; }
done
version="$(/usr/bin/janus --version 2>/dev/null || true)"; echo "${version%%$'\n'*}"
[ -f "$root/dist/interop/janus/main.js" ] || { echo "missing $root/dist/interop/janus/main.js: run npm run build" >&2; exit 1; }

log="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$log" "$out"' EXIT
node "$root/dist/interop/janus/main.js" --host 127.0.0.1 --port 0 >"$out" 2>"$log" &
pid=$!
for _ in $(seq 1 150); do
  grep -q '^listening ' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
port="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$out")"
if [ -z "$port" ]; then
  kill "$pid" 2>/dev/null || true
  echo "the Janus adapter did not start:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
grep -m1 '^janus 1\.' "$log"
grep -q 'data channels: yes' "$log" || { echo "this janus has no data channel support (built without usrsctp)" >&2; kill "$pid"; exit 1; }
status="$(node -e "fetch('http://127.0.0.1:$port/offer',{method:'POST',body:'{\"type\":\"offer\",\"sdp\":\"v=0\\\\r\\\\nbogus\"}'}).then(r=>console.log(r.status),e=>console.log(e.message))")"
kill -TERM "$pid"
wait "$pid" && code=0 || code=$?
[ "$status" = 400 ] || { echo "a bogus offer got $status, not 400" >&2; tail -n 20 "$log" >&2; exit 1; }
[ "$code" = 0 ] || { echo "the adapter exited $code on SIGTERM, not 0" >&2; exit 1; }
echo "ready interop/peers/janus/server.sh (janus.plugin.echotest on port $port: 400 for a bogus offer, exit 0 on SIGTERM)"
