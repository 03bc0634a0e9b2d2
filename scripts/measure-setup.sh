#!/usr/bin/env bash
# Set-up of our native server against a pion server, side by side: ROUNDS alternating rounds
# (default 4), each server once at concurrency 1 (100 sessions one after another), once at
# concurrency 10 (200 sessions, a closed loop: the faster server is sent more sessions) and once
# per rate in RATES (default "100": 300 sessions started at that many per second, an open loop,
# bench --connect-rate), the pion load worker as the client. Prints the medians of the runs'
# p50s (ms): offer -> answer received, and connected; and sessions/s at concurrency 10.
#   bash scripts/measure-setup.sh [ROUNDS]     (after npm run build and interop/setup/pion.sh)
#   RATES="50 100 150" bash scripts/measure-setup.sh 4
# BASELINE=<another checkout, built> adds its native server as "baseline" (before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
rates=${RATES:-100}
out=$(mktemp -d)
flags="--host 127.0.0.1 --port {port} --workers 1 --max-sessions 5000 --max-unconnected-per-address 5000 --offer-rate 0 --log-level warn --drain-timeout 0"
declare -A command=(
  [native]="node dist/cli.js serve --engine native $flags"
  [pion]="interop/peers/pion/bin/pion-server --host 127.0.0.1 --port {port}"
)
servers="native pion"
if [ -n "${BASELINE:-}" ]; then
  command[baseline]="node $BASELINE/dist/cli.js serve --engine native $flags"
  servers="native baseline pion"
fi
for i in $(seq 1 "$rounds"); do
  for server in $servers; do
    node dist/cli.js bench --spawn-server "${command[$server]}" --generator pion --scenarios connect --no-channel --sequential 100 --concurrent 0 --json > "$out/c1-$server-$i.json"
    node dist/cli.js bench --spawn-server "${command[$server]}" --generator pion --scenarios connect --no-channel --sequential 0 --concurrent 200 --concurrency 10 --json > "$out/c10-$server-$i.json"
    for rate in $rates; do
      node dist/cli.js bench --spawn-server "${command[$server]}" --generator pion --scenarios connect --no-channel --sequential 0 --concurrent 300 --concurrency 200 --connect-rate "$rate" --json > "$out/r$rate-$server-$i.json"
    done
  done
done
node - "$out" "$rounds" "$rates" "$servers" <<'JS'
const [dir, rounds, rates, servers] = process.argv.slice(2);
const fs = require('node:fs');
const median = (values) => {
  const sorted = values.filter((v) => v != null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
};
for (const server of servers.split(' ')) {
  const runs = (phase) => Array.from({ length: Number(rounds) }, (_, i) => JSON.parse(fs.readFileSync(`${dir}/${phase}-${server}-${i + 1}.json`, 'utf8')).connect);
  const c1 = runs('c1').map((c) => c.sequential.steps);
  const c10 = runs('c10').map((c) => c.concurrent);
  console.log(`${server}: c=1 answer ${median(c1.map((s) => s.answerReceived?.p50))} connected ${median(c1.map((s) => s.connected?.p50))}` +
    ` | c=10 answer ${median(c10.map((c) => c.steps.answerReceived?.p50))} connected ${median(c10.map((c) => c.steps.connected?.p50))}` +
    ` sessions/s ${median(c10.map((c) => c.sessionsPerSecond))?.toFixed(1)}` +
    rates.split(/\s+/).filter(Boolean).map((rate) => {
      const open = runs(`r${rate}`).map((c) => c.concurrent);
      return ` | ${rate}/s answer ${median(open.map((c) => c.steps.answerReceived?.p50))} connected ${median(open.map((c) => c.steps.connected?.p50))}`;
    }).join(''));
}
JS
rm -rf "$out"
