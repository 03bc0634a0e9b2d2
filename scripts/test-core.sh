#!/usr/bin/env bash
# The suite's core, on whichever Node is first on PATH: the engines (conformance and each
# stack's own tests), the server (sessions, signaling, bad input), the client, the CLI, the
# parsers they stand on, and the interop matrix between our own peers. What is left out needs
# foreign stacks, browsers, namespaces or a container layout (npm test runs everything).
# scripts/test-on-node.sh runs this on other Node lines; `npm run test:core` here.
set -euo pipefail
cd "$(dirname "$0")/.."

core_tests=(
  test/engines/*.test.ts     # conformance, libdatachannel (and its addon patches), werift, libwebrtc
  test/echo/*.test.ts        # sessions: pairs of engines, release, limits
  test/signaling/*.test.ts   # POST /offer, bad input, refused bodies, workers, public-address limits
  test/client/*.test.ts      # the client's failures and sub-checks
  test/cli/*.test.ts         # the executable
  test/ipc/*.test.ts         # the fork-and-RPC helper the server and bench workers stand on
  test/sdp/*.test.ts test/rtp/*.test.ts test/stun/*.test.ts   # what the engines parse and build
)
ours=libdatachannel,werift,libwebrtc

echo "== core tests on node $(node --version) ($(command -v node))"
npm run build
npx tsc -p test/tsconfig.json
node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${core_tests[@]}"
report="$(mktemp -d "${TMPDIR:-/tmp}/webrtc-echo-core-matrix-XXXXXX")"
trap 'rm -rf "$report"' EXIT
node dist/cli.js matrix --servers "$ours" --clients "$ours" --out "$report"
