#!/bin/sh
# The Echo Test container contract: `client.sh URL` or `client.sh "-s URL -t 1"`.
# The single argument may hold several flags, so it is split on purpose ($1 unquoted).
here=$(dirname "$0")
# shellcheck disable=SC2086
exec node "$here/dist/cli.js" client $1
