/**
 * A crash in the native addon takes down one worker process, not the server: `serve --engine
 * native --workers 2` with the addon's test hook (WEBRTC_ECHO_TEST_HOOKS=1: SIGUSR2 makes a
 * worker's data-plane thread die of a segmentation fault, as a bug in the C++ would). The other
 * worker keeps echoing and taking offers, the dead worker's session is released and counted, and
 * the worker is started again.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ClientDataChannel, ClientPeer } from '../../src/engines/engine.js';
import { loadClientEngine } from '../../src/engines/registry.js';
import { openSession } from '../../src/bench/worker/bench-session.js';
import { skipWithoutAddon } from '../native/plane-harness.js';
import { spawnServe } from '../helpers/serve-process.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

interface Health {
  status: string;
  engine: string;
  sessions: number;
  workers: Array<{ worker: number; pid: number | null; up: boolean; sessions: number; restarts: number }>;
}

/** A libdatachannel client session whose data channel echoed once, kept open. */
async function echoingSession(t: TestContext, url: string): Promise<ClientPeer> {
  const session = await openSession(await loadClientEngine('libdatachannel'), { url, channel: true, video: false, firstEcho: true, timeoutMs: 15_000 });
  assert.ok(session.ok && session.peer, `session: ${session.reason} ${session.message}`);
  t.after(() => session.peer!.close());
  return session.peer;
}

function echo(channel: ClientDataChannel, text: string): Promise<string> {
  const back = new Promise<string>((resolve) => channel.onMessage((m) => resolve(String(m))));
  channel.send(text);
  return withTimeout(back, 5_000, `echo of ${text}`);
}

test('a native worker whose data plane crashes dies alone: its session is released, the other worker echoes on and takes offers, and it is started again', { skip: skipWithoutAddon(), timeout: 90_000 }, async (t) => {
  const server = await spawnServe(t, ['--engine', 'native', '--workers', '2', '--host', '127.0.0.1', '--port', '0', '--offer-rate', '0'], {
    env: { ...process.env, WEBRTC_ECHO_TEST_HOOKS: '1' },
  });
  const health = async () => (await (await fetch(`${server.url}/healthz`)).json()) as Health;
  const url = `${server.url}/offer`;
  const first = await echoingSession(t, url);
  const second = await echoingSession(t, url);
  const before = await health();
  assert.equal(before.engine, 'native', 'the native engine, not the fallback');
  assert.deepEqual(before.workers.map((w) => w.sessions), [1, 1], 'one session on each worker');
  const victim = before.workers[0]!;

  process.kill(victim.pid!, 'SIGUSR2');
  const exited = await server.event('worker-exited', 15_000);
  assert.equal(exited.worker, 0);
  assert.equal(exited.pid, victim.pid);
  assert.equal(exited.signal, 'SIGSEGV', 'killed by its own fault, as a bug in the addon would');
  assert.equal(exited.sessionsLost, 1);
  await eventually(async () => (await health()).sessions === 1, 10_000, "the dead worker's session released");

  // Which client was on the dead worker is the plane's business; one of the two still echoes.
  const results = await Promise.allSettled([echo(first.dataChannel!, 'first'), echo(second.dataChannel!, 'second')]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `exactly one session lives on: ${JSON.stringify(results.map((r) => r.status))}`);
  // New offers are answered (by the live worker, or the restarted one) and echo.
  await echoingSession(t, url);
  await eventually(async () => {
    const w = (await health()).workers[0]!;
    return w.up && w.restarts === 1 && w.pid !== victim.pid;
  }, 20_000, 'the worker started again');
  await echoingSession(t, url);
  const after = await health();
  assert.equal(after.status, 'ok');
  assert.equal(after.sessions, 3);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^echo_sessions_live 3$/m);
  server.child.kill('SIGTERM');
});
