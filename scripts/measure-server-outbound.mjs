#!/usr/bin/env node
/**
 * Set-up time on the server-outbound network (only the server can open the path: docs/triggered-check.md),
 * side by side in one run: each server in the server's namespace, the pion load worker in the
 * client's, `bench --scenarios connect` (sessions one after another, then at concurrency 10).
 * Needs root (network namespaces) and a built dist/ and pion (interop/setup/pion.sh).
 *
 *   node scripts/measure-server-outbound.mjs [--sessions 40] [--servers native,libdatachannel,pion]
 */
import { spawn, execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createTopology } from '../dist/net/namespaces.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '40' }, servers: { type: 'string', default: 'native,libdatachannel,pion' } } });
const PORT = 8080;
const commands = {
  pion: ['interop/peers/pion/bin/pion-server', '--host', '0.0.0.0', '--port', String(PORT)],
  ours: (engine, serveArgs) => ['node', 'dist/cli.js', 'serve', '--engine', engine, '--port', String(PORT), '--workers', '1', '--offer-rate', '0', '--max-unconnected-per-address', '1000', '--log-level', 'warn', ...serveArgs],
};

const topology = await createTopology('server-outbound', `so${process.pid % 10000}`);
const url = `http://${topology.serverHost}:${PORT}/offer`;
const rows = [];
try {
  for (const name of values.servers.split(',')) {
    const argv = name === 'pion' ? commands.pion : commands.ours(name, topology.serveArgs);
    const server = spawn(topology.serverExec[0], [...topology.serverExec.slice(1), ...argv], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    try {
      await waitForPort();
      const out = execFileSync(topology.clientExec[0], [...topology.clientExec.slice(1), 'node', 'dist/cli.js', 'bench', '-s', url, '--generator', 'pion', '--scenarios', 'connect', '--sequential', values.sessions, '--concurrent', values.sessions, '-c', '10', '--json'], { encoding: 'utf8', timeout: 600_000 });
      const report = JSON.parse(out);
      rows.push({ server: name, result: report.connect ?? report });
    } finally {
      try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
} finally {
  await topology.remove();
}
console.log('| server | connected, one after another: ok, p50 / p95 ms | connected, concurrency 10 |');
console.log('| --- | --- | --- |');
for (const { server, result } of rows) console.log(`| ${server} | ${phase(result.sequential)} | ${phase(result.concurrent)} |`);

async function waitForPort() {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync(topology.clientExec[0], [...topology.clientExec.slice(1), 'node', '-e', `require('net').connect(${PORT}, '${topology.serverHost}').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error('the server did not listen');
}

/** One connect phase: sessions connected, and ms from the session's start to connected. */
function phase(p) {
  return `${p.ok} of ${p.sessions}: ${p.steps.connected.p50} / ${p.steps.connected.p95}`;
}
