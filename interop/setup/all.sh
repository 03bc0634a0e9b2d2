#!/usr/bin/env bash
# Sets up every foreign interop peer: runs each interop/setup/<peer>.sh there is.
# A peer whose setup fails is optional: `webrtc-echo matrix` then lists it as missing.
# This script says why each one failed and exits 0 unless every setup failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ok=()
failed=()
for script in "$here"/*.sh; do
  name="$(basename "$script" .sh)"
  [ "$name" = all ] && continue
  echo "== setup: $name ($script)"
  log="$(mktemp)"
  if bash "$script" >"$log" 2>&1; then
    tail -n 3 "$log"
    ok+=("$name")
  else
    status=$?
    echo "!! setup of $name failed (exit $status); the matrix will list $name as missing. Last lines:" >&2
    tail -n 15 "$log" | sed 's/^/   | /' >&2
    failed+=("$name")
  fi
  rm -f "$log"
done
echo "== set up: ${ok[*]:-none}${failed[*]:+; failed: ${failed[*]}}"
if [ ${#ok[@]} -eq 0 ] && [ ${#failed[@]} -gt 0 ]; then exit 1; fi
exit 0
