#!/bin/sh
# The Janus Echo Test server under the peer contract (interop/peers/README.md):
#   server.sh [--port 8080] [--host 0.0.0.0]
# Needs Debian's janus (its EchoTest plugin and HTTP transport) and the built package (npm run build).
here="$(cd "$(dirname "$0")" && pwd)"
exec node "$here/../../../dist/interop/janus/main.js" "$@"
