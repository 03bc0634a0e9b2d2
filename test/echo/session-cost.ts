/**
 * Measures what one session costs the server process, per engine and offer shape: open fds,
 * threads and RSS, from /proc, with N sessions held open (never connected: nobody answers the
 * offers' candidates). Not a test: a measurement whose numbers docs/security.md reports.
 *
 *   node --import tsx test/echo/session-cost.ts [--engines a,b] [--sessions N] [--shapes name,...]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CLI, ROOT } from '../helpers/cli.js';
import { freePort } from '../../src/net/free-port.js';
import { shapedOffer, type OfferShape } from '../helpers/offer-shapes.js';
import { processCost, type ProcessCost } from '../helpers/process-cost.js';

const SHAPES: Record<string, OfferShape> = {
  'audio+video+data': { audio: 1, video: 1, data: true, candidatesPerSection: 2 },
  '16 sections bundled': { audio: 8, video: 8, candidatesPerSection: 1 },
  '32 sections bundled': { audio: 16, video: 16, candidatesPerSection: 1 },
  '64 sections bundled': { audio: 32, video: 32, candidatesPerSection: 1 },
  '16 sections unbundled': { audio: 8, video: 8, bundle: false, candidatesPerSection: 1 },
  '32 sections unbundled': { audio: 16, video: 16, bundle: false, candidatesPerSection: 1 },
  '64 candidates': { audio: 1, video: 1, candidatesPerSection: 32 },
};

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'libdatachannel,werift,libwebrtc' },
    sessions: { type: 'string', default: '10' },
    shapes: { type: 'string', default: Object.keys(SHAPES).join(',') },
    extra: { type: 'string', default: '' },
  },
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(engine: string, shape: OfferShape, sessions: number): Promise<{ base: ProcessCost; held: ProcessCost; perSession: ProcessCost; answerMs: number; failed: number }> {
  const port = await freePort();
  const server = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--engine', engine, '--max-sessions', '100000', '--log-level', 'error', ...values.extra!.split(' ').filter(Boolean)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) break;
      if (i > 100) throw new Error('server did not start');
      await settle(100);
    }
    // One session first, released, so the engine's one-time threads and caches are in the baseline.
    await post(url, shapedOffer({ audio: 1 }));
    await settle(300);
    const base = processCost(server.pid!);
    const start = performance.now();
    let failed = 0;
    for (let i = 0; i < sessions; i++) if (!(await post(url, shapedOffer(shape)))) failed++;
    const answerMs = (performance.now() - start) / sessions;
    await settle(1000);
    const held = processCost(server.pid!);
    const n = sessions + 1 - failed;
    const perSession = { fds: (held.fds - base.fds) / n, threads: (held.threads - base.threads) / n, rssKiB: (held.rssKiB - base.rssKiB) / n };
    return { base, held, perSession, answerMs, failed };
  } finally {
    server.kill('SIGKILL');
  }
}

async function post(url: string, offer: { type: string; sdp: string }): Promise<boolean> {
  const response = await fetch(`${url}/offer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(offer) });
  await response.text();
  if (!response.ok) console.error(`  ${response.status}`);
  return response.ok;
}

const sessions = Number(values.sessions);
console.log('| engine | offer | sessions | fds/session | threads/session | RSS KiB/session | answer ms |');
console.log('|---|---|---|---|---|---|---|');
for (const engine of values.engines!.split(',')) {
  for (const name of values.shapes!.split(',')) {
    const r = await measure(engine, SHAPES[name]!, sessions);
    const f = (x: number) => x.toFixed(1);
    console.log(`| ${engine} | ${name} | ${sessions - r.failed} | ${f(r.perSession.fds)} | ${f(r.perSession.threads)} | ${Math.round(r.perSession.rssKiB)} | ${f(r.answerMs)} |`);
  }
}
