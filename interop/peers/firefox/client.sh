#!/bin/sh
# The Firefox ESR Echo Test client under the container contract:
#   client.sh URL            (test 0: the echoed video must decode)
#   client.sh "-s URL -t 1"  (test 1: data channel echo)
# Needs Debian's firefox-esr and the built package (npm run build).
here="$(cd "$(dirname "$0")" && pwd)"
exec node "$here/../../../dist/interop/browser/main.js" --browser firefox "$@"
