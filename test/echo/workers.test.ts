import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClientEngine } from '../../src/engines/registry.js';
import type { ClientPeer } from '../../src/engines/engine.js';
import { silentLogger } from '../../src/log.js';
import { SERVER_DEFAULTS, startWorkerServer, type WorkerServerOptions } from '../../src/signaling/server.js';
import { METRICS_TIMEOUT_MS } from '../../src/echo/worker-pool.js';
import { openSession } from '../../src/bench/worker/bench-session.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { makeOffer } from '../helpers/offer.js';
import { postJson, TEST_SERVER_ENGINE } from '../helpers/server.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

interface Health {
  status: string;
  sessions: number;
  workers: Array<{ worker: number; pid: number | null; up: boolean; sessions: number; restarts: number }>;
}

async function startServer(t: import('node:test').TestContext, overrides: Partial<WorkerServerOptions> = {}) {
  const server = await startWorkerServer({ ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, engine: TEST_SERVER_ENGINE, log: silentLogger, workers: 2, logLevel: 'silent', ...overrides });
  t.after(() => server.close());
  const health = async () => (await (await fetch(`${server.url}/healthz`)).json()) as Health;
  return { server, health, url: `${server.url}/offer` };
}

/** A client session whose data channel echoed once, kept open. */
async function echoingSession(t: import('node:test').TestContext, url: string): Promise<ClientPeer> {
  const engine = await loadClientEngine('libdatachannel');
  const session = await openSession(engine, { url, channel: true, video: false, firstEcho: true, timeoutMs: 15_000 });
  assert.ok(session.ok && session.peer, `session: ${session.reason} ${session.message}`);
  t.after(() => session.peer!.close());
  return session.peer;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('--workers 2: sessions land on different workers, each echoes, /healthz and /metrics add the workers up', async (t) => {
  const { health, server, url } = await startServer(t);
  await echoingSession(t, url);
  await echoingSession(t, url);
  const h = await health();
  assert.equal(h.status, 'ok');
  assert.equal(h.sessions, 2);
  assert.deepEqual(h.workers.map((w) => w.sessions), [1, 1], 'one session on each worker');
  assert.ok(h.workers.every((w) => w.up && w.pid && w.pid !== process.pid));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /echo_sessions_created_total 2\n/);
  assert.match(metrics, /echo_sessions_live 2\n/);
});

test('--workers 2: --max-sessions holds across workers', async (t) => {
  const { url } = await startServer(t, { maxSessions: 2 });
  const peers = [];
  for (let i = 0; i < 2; i++) {
    const { offer, peer } = await makeOffer();
    peers.push(peer);
    assert.equal((await postJson(url, offer)).status, 200);
  }
  const { offer, peer } = await makeOffer();
  peers.push(peer);
  const refused = await postJson(url, offer);
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: string }).error, 'ECHO_ERR_TOO_MANY_SESSIONS');
  for (const p of peers) p.close();
});

test('--workers 2: a killed worker is reported, its sessions released, the server stays up and starts it again', async (t) => {
  const { health, url } = await startServer(t);
  await echoingSession(t, url);
  await echoingSession(t, url);
  const before = await health();
  const victim = before.workers[0]!;
  process.kill(victim.pid!, 'SIGKILL');
  await eventually(async () => (await health()).sessions === 1, 10_000, 'the dead worker\'s session released');
  // The other worker still takes offers and echoes while the first one comes back.
  await echoingSession(t, url);
  await eventually(async () => {
    const w = (await health()).workers[0]!;
    return w.up && w.restarts === 1 && w.pid !== victim.pid;
  }, 20_000, 'the worker started again');
  await echoingSession(t, url);
  assert.equal((await health()).status, 'ok');
});

test('--workers 2: closing the server closes every session and every worker', async (t) => {
  const { health, server, url } = await startServer(t);
  await echoingSession(t, url);
  await echoingSession(t, url);
  const pids = (await health()).workers.map((w) => w.pid!);
  await withTimeout(server.close(), 20_000, 'server close');
  assert.equal(server.sessions.size, 0);
  await eventually(() => pids.every((pid) => !alive(pid)), 10_000, 'every worker process gone');
});

test('the per-address cap on unconnected sessions holds across workers', async (t) => {
  const { url, health } = await startServer(t, { maxUnconnectedPerAddress: 2, offersPerSecond: 0 });
  const peers: ClientPeer[] = [];
  t.after(() => peers.forEach((p) => p.close()));
  // Two offers that never connect: least-loaded forwarding puts one in each worker.
  for (let i = 0; i < 2; i++) {
    const { offer, peer } = await makeOffer();
    peers.push(peer);
    assert.equal((await postJson(url, offer)).status, 200);
  }
  assert.deepEqual((await health()).workers.map((w) => w.sessions), [1, 1]);
  const { offer, peer } = await makeOffer();
  peers.push(peer);
  const refused = await postJson(url, offer);
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: string }).error, 'ECHO_ERR_TOO_MANY_UNCONNECTED');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
});

test('--workers 2: a worker that stops answering (SIGSTOP) costs /metrics its share, within the deadline, and is logged; it answers again once it runs', async (t) => {
  const { log, lines } = capturingLogger('warn');
  const { server, health } = await startServer(t, { log });
  const stopped = (await health()).workers[0]!.pid!;
  process.kill(stopped, 'SIGSTOP');
  try {
    const response = await withTimeout(fetch(`${server.url}/metrics`), METRICS_TIMEOUT_MS + 10_000, '/metrics with a stopped worker');
    assert.equal(response.status, 200);
    // The other worker's share and the primary's own are there.
    assert.match(await response.text(), /^echo_sessions_live 0$/m);
    const timeout = lines.find((line) => line.event === 'worker-timeout');
    assert.ok(timeout, JSON.stringify(lines));
    assert.equal(timeout.worker, 0);
    assert.equal(timeout.pid, stopped);
    assert.equal(timeout.request, 'metrics');
    assert.match(String(timeout.msg), /did not answer metrics within \d+ ms/);
  } finally {
    process.kill(stopped, 'SIGCONT');
  }
  const before = lines.length;
  assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
  assert.equal(lines.slice(before).filter((line) => line.event === 'worker-timeout').length, 0, 'running again, it answers in time');
  assert.equal((await health()).status, 'ok');
});
