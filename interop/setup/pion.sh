#!/usr/bin/env bash
# Builds the pion Echo Test peers (interop/peers/pion/bin/pion-server, pion-client)
# offline, from Debian's Go and pion packages, in GOPATH mode.
# Usage: interop/setup/pion.sh [--test]   (--test also runs the Go tests)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer_dir="$(cd "$here/../peers/pion" && pwd)"
gocode=/usr/share/gocode

need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d "$gocode/src/github.com/pion/webrtc" ] || need+=(golang-github-pion-webrtc.v3-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y "${need[@]}"
fi

# Debian installs pion's modules under their plain paths (github.com/pion/sdp), but
# the code imports their major versions (github.com/pion/sdp/v3). A throw-away
# GOPATH maps each versioned path onto Debian's copy, and maps "webrtcecho/pion"
# onto our sources so their packages import one another.
gopath="$(mktemp -d)"
trap 'rm -rf "$gopath"' EXIT
pion_src="$gopath/src/github.com/pion"
for module in sdp/v3 transport/v2 udp/v2 webrtc/v3 dtls/v2 ice/v2 srtp/v2 turn/v2; do
  name="${module%/*}"
  [ -e "$gocode/src/github.com/pion/$module" ] && continue # Debian ships this one versioned
  mkdir -p "$pion_src/$name"
  ln -s "$gocode/src/github.com/pion/$name" "$pion_src/$module"
done
mkdir -p "$gopath/src/webrtcecho"
ln -s "$peer_dir" "$gopath/src/webrtcecho/pion"

mkdir -p "$peer_dir/bin"
export GO111MODULE=off GOPATH="$gopath:$gocode" GOFLAGS="" GOCACHE="${GOCACHE:-$HOME/.cache/go-build}"
cd "$gopath/src/webrtcecho/pion"
for cmd in pion-server pion-client pion-load pion-whip; do
  go build -o "$peer_dir/bin/$cmd" "webrtcecho/pion/cmd/$cmd"
done

if [ "${1:-}" = "--test" ]; then
  packages="webrtcecho/pion/peer webrtcecho/pion/server webrtcecho/pion/client webrtcecho/pion/load webrtcecho/pion/cmd/pion-server webrtcecho/pion/cmd/pion-client webrtcecho/pion/cmd/pion-load webrtcecho/pion/cmd/pion-whip"
  go vet $packages
  go test -count=1 -timeout 60s $packages
fi

# A short VP8 clip for the client when the repository has none in testdata/.
if ! ls "$peer_dir/../../../testdata/"*.ivf >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1 \
  && [ ! -s "$peer_dir/bin/sample.ivf" ]; then
  ffmpeg -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 3 \
    -c:v libvpx -b:v 300k -g 30 -deadline realtime "$peer_dir/bin/sample.ivf" || true
fi
echo "built $peer_dir/bin/pion-server $peer_dir/bin/pion-client $peer_dir/bin/pion-load $peer_dir/bin/pion-whip"
