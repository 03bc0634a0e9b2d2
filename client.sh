#!/bin/sh
# The Echo Test container contract: `client.sh URL` or `client.sh "-s URL -t 1"`.
# The single argument may hold several flags, so it is split on purpose ($1 unquoted).
# readlink -f: the image links /client.sh to /app/client.sh, and dist/ is beside the real file.
here=$(dirname "$(readlink -f "$0")")
# shellcheck disable=SC2086
exec node "$here/dist/cli.js" client $1
