#!/usr/bin/env bash
# Makes the aiortc Echo Test peers runnable: Debian's aiortc 1.4 and aiohttp for
# /usr/bin/python3 (never a pyenv python3 that may come first on PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer_dir="$(cd "$here/../peers/aiortc" && pwd)"

if ! /usr/bin/python3 -c 'import aiortc, aiohttp' >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y python3-aiortc python3-aiohttp
fi
/usr/bin/python3 -c 'import aiortc, aiohttp; print("aiortc", aiortc.__version__, "aiohttp", aiohttp.__version__)'
chmod +x "$peer_dir/aiortc-server" "$peer_dir/aiortc-client"
echo "ready $peer_dir/aiortc-server $peer_dir/aiortc-client"
