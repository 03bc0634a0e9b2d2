#!/usr/bin/env node
/**
 * Data channels under loss: our client's test 1 (its string echo, then the sub-check probes,
 * among them a 256 KiB binary message: ~220 DATA chunks each way) against our server across the
 * `nat` namespaces, with the router dropping a share of the UDP packets it forwards, both ways.
 * Needs root, iproute2 and nftables (as the namespace tests).
 *
 *   node scripts/measure-dc-loss.mjs [--engine native] [--loss 5] [--runs 10] [--per-packet]
 *        [--root DIR] [--label NAME]
 *
 * --per-packet: every veth segments in software (gso_max_segs 1), so the router drops single
 *   datagrams. Without it a UDP_SEGMENT send (the native engine sends runs of equal datagrams
 *   that way) crosses the veths as one buffer, and the router drops the whole run at once.
 * --root: the checkout whose dist/cli.js serves (another build, for a before/after).
 *
 * Prints one line per run (the client's exit, its run time, the max-message-size sub-check and
 * how long the probes took), then the median and the runs over the probes' 3 s.
 */
import { execFileSync, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'native' },
    loss: { type: 'string', default: '5' },
    runs: { type: 'string', default: '10' },
    'per-packet': { type: 'boolean', default: false },
    root: { type: 'string', default: here },
    label: { type: 'string' },
  },
});
const { createTopology } = await import(`${here}/dist/net/namespaces.js`);
const label = values.label ?? values.engine;
const topology = await createTopology('nat', `dl${process.pid % 10000}`);
const router = topology.clientExec.at(-1).replace(/-c$/, '-r');
const inside = (exec, command) => [exec[0], [...exec.slice(1), ...command]];
let server;
try {
  execFileSync('ip', ['netns', 'exec', router, 'nft', 'insert', 'rule', 'inet', 'filter', 'forward', 'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', values.loss, 'drop']);
  if (values['per-packet']) {
    for (const ns of [topology.serverExec.at(-1), topology.clientExec.at(-1), router]) {
      const links = JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link', 'show'], { encoding: 'utf8' })).map((l) => l.ifname).filter((n) => n !== 'lo');
      for (const dev of links) execFileSync('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'gso_max_segs', '1']);
    }
  }
  server = spawn(...inside(topology.serverExec, [process.execPath, `${values.root}/dist/cli.js`, 'serve', '--host', topology.serverListen, '--port', '8080', '--engine', values.engine, '--workers', '1', ...topology.serveArgs]), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  for (let waited = 0; !log.includes('"listening"'); waited += 100) {
    if (waited > 30_000) throw new Error(`the server did not listen: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const probes = [];
  let over = 0;
  for (let run = 0; run < Number(values.runs); run++) {
    const started = Date.now();
    const [command, args] = inside(topology.clientExec, [process.execPath, `${here}/dist/cli.js`, 'client', '-s', `http://${topology.serverHost}:8080/offer`, '-t', '1', '--json', '--timeout', '20']);
    let out;
    try {
      out = JSON.parse(execFileSync(command, args, { encoding: 'utf8' }));
    } catch (err) {
      console.log(`${label} ${run} exit ${err.status} ${Date.now() - started} ms ${String(err.stderr).trim().split('\n').at(-1)}`);
      continue;
    }
    const check = out.checks.find((c) => c.name === 'max-message-size');
    const took = /probes took (\d+) ms/.exec(check.detail)?.[1];
    if (check.status === 'pass') probes.push(Number(took));
    else (over++, probes.push(3_000));
    console.log(`${label} ${run} exit 0 ${Date.now() - started} ms max-message-size ${check.status} probes ${took ?? '>3000'} ms`);
  }
  const sorted = probes.sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(`${label}: loss ${values.loss}%${values['per-packet'] ? ' per packet' : ''}, ${sorted.length} runs, probes median ${median} ms, over 3 s ${over}, sorted: ${sorted.join(' ')}`);
} finally {
  server?.kill('SIGKILL');
  await topology.remove();
}
