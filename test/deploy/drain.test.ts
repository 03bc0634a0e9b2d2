/**
 * Drain: the first SIGTERM or SIGINT stops new offers (503 ECHO_ERR_DRAINING with Retry-After,
 * /healthz 503 `draining`) while live sessions keep echoing; the process exits 0 when the last
 * one ends or --drain-timeout passes. A second signal closes everything at once.
 * `webrtc-echo serve` runs as a child, with real clients: the CLI client holding its session
 * (`--hold`) and a client peer in this process that checks the echo during the drain.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { CLI, ROOT } from '../helpers/cli.js';
import { openHeldSession } from '../helpers/held-session.js';
import { makeOffer } from '../helpers/offer.js';
import { spawnServe } from '../helpers/serve-process.js';
import { TEST_SERVER_ENGINE } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';

/**
 * `webrtc-echo client -t 1 --hold S --json`, resolved once it says it holds the connection.
 * werift by default (libdatachannel's client has a start-up race these tests are not about);
 * libdatachannel where the test watches the client notice the server's close (a werift client
 * notices only when ICE consent fails, about 30 s later), with one more run on that race.
 */
async function holdingClient(t: TestContext, offerUrl: string, holdSeconds: number, engine = 'werift') {
  {
    const child = spawn(process.execPath, [CLI, 'client', '-s', offerUrl, '-t', '1', '--engine', engine, '--hold', String(holdSeconds), '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    const holding = new Promise<boolean>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('holding the connection')) resolve(true);
      }),
    );
    const done = once(child, 'close').then(([code]) => ({ code: code as number | null, result: JSON.parse(stdout.trim().split('\n').pop() || '{}') as Record<string, unknown>, stderr }));
    const held = await withTimeout(Promise.race([holding, done.then(() => false)]), 20_000, 'client holding');
    if (held) return { child, done };
    assert.fail(`the client ended before holding: ${stderr}`);
  }
}

async function postOffer(url: string) {
  const { offer, peer } = await makeOffer();
  try {
    return await fetch(`${url}/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(offer) });
  } finally {
    peer.close();
  }
}

test('SIGTERM drains: offers get 503 ECHO_ERR_DRAINING with Retry-After, /healthz 503 draining, live sessions keep echoing, exit 0 when the last ends', { timeout: 90_000 }, async (t) => {
  const server = await spawnServe(t, ['--engine', TEST_SERVER_ENGINE, '--host', '127.0.0.1', '--port', '0']);
  const held = await openHeldSession(t, `${server.url}/offer`);
  await held.echo();
  const cli = await holdingClient(t, `${server.url}/offer`, 5);
  assert.equal(((await (await fetch(`${server.url}/healthz`)).json()) as { sessions: number }).sessions, 2);

  const signalledAt = Date.now();
  server.child.kill('SIGTERM');
  const draining = await server.event('draining');
  assert.equal(draining.signal, 'SIGTERM');
  assert.equal(draining.sessions, 2);
  assert.equal(draining.drainTimeoutMs, 30_000);

  const refused = await postOffer(server.url);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '5');
  assert.deepEqual(await refused.json(), {
    error: 'ECHO_ERR_DRAINING',
    message: 'The server is draining: it finishes its live sessions and takes no new ones',
  });
  // Drained means refused whatever the body: a load balancer's retry gets the same answer.
  const junk = await fetch(`${server.url}/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(junk.status, 503);

  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 503);
  const { status, engine, sessions } = (await health.json()) as Record<string, unknown>;
  assert.deepEqual({ status, engine, sessions }, { status: 'draining', engine: TEST_SERVER_ENGINE, sessions: 2 });

  // The live sessions go on: the data channel still echoes, several times over a second.
  for (let i = 0; i < 5; i++) {
    await held.echo();
    await new Promise((r) => setTimeout(r, 200));
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^echo_offers_rejected_total\{reason="ECHO_ERR_DRAINING"\} 2$/m);

  // One session ends (ours), then the CLI client's hold ends: the server exits 0 right after.
  await held.close();
  const client = await cli.done;
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.result.ok, true);
  assert.ok((client.result.heldMs as number) >= 4_900, `the CLI client held its session through the drain (${client.result.heldMs} ms)`);
  assert.equal(await withTimeout(server.exited, 10_000, 'server exit after the last session'), 0);
  const exitedAfterMs = Date.now() - signalledAt;
  assert.ok(exitedAfterMs < 15_000, `exited ${exitedAfterMs} ms after SIGTERM, long before the 30 s drain timeout`);
  const drained = await server.event('drained');
  assert.equal(drained.sessionsAtStart, 2);
  assert.equal(drained.closedAtTimeout, 0);
  const closed = server.logs.filter((l) => l.event === 'session-closed').map((l) => l.reason);
  assert.deepEqual(closed, ['remote-closed', 'remote-closed'], 'both sessions ended by their clients, none by the server');
});

test('--drain-timeout closes the sessions still alive when it passes, then exits 0', { timeout: 60_000 }, async (t) => {
  const server = await spawnServe(t, ['--engine', TEST_SERVER_ENGINE, '--host', '127.0.0.1', '--port', '0', '--drain-timeout', '2']);
  const cli = await holdingClient(t, `${server.url}/offer`, 60, 'libdatachannel');
  const start = Date.now();
  server.child.kill('SIGTERM');
  assert.equal(await withTimeout(server.exited, 10_000, 'server exit at the drain timeout'), 0);
  const ms = Date.now() - start;
  assert.ok(ms >= 1_900 && ms < 6_000, `exited ${ms} ms after SIGTERM with --drain-timeout 2`);
  assert.equal((await server.event('drain-timeout')).sessions, 1);
  assert.equal((await server.event('drained')).closedAtTimeout, 1);
  // The client sees its session end from the server's side, well before its 60 s hold.
  const client = await withTimeout(cli.done, 15_000, 'client notices the close');
  assert.equal(client.code, 1);
  assert.equal(client.result.reason, 'connection-lost');
});

test('Ctrl-C twice: SIGINT drains like SIGTERM, a second SIGINT closes every session at once and exits 0', { timeout: 60_000 }, async (t) => {
  const server = await spawnServe(t, ['--engine', TEST_SERVER_ENGINE, '--host', '127.0.0.1', '--port', '0']);
  const held = await openHeldSession(t, `${server.url}/offer`, 'libdatachannel');
  server.child.kill('SIGINT');
  assert.equal((await server.event('draining')).signal, 'SIGINT');
  await held.echo();
  assert.equal((await fetch(`${server.url}/healthz`)).status, 503);
  const start = Date.now();
  server.child.kill('SIGINT');
  assert.equal(await withTimeout(server.exited, 5_000, 'server exit on the second signal'), 0);
  assert.ok(Date.now() - start < 3_000, `a second signal exits at once (${Date.now() - start} ms)`);
  assert.deepEqual(
    // (A first attempt lost to libdatachannel's start-up race closes as connection-failed.)
    server.logs.filter((l) => l.event === 'session-closed' && l.reason !== 'connection-failed').map((l) => l.reason),
    ['shutdown'],
  );
  assert.match(await withTimeout(held.lost, 10_000, 'the client sees the close'), /closed|failed|disconnected/);
});

test('a second SIGTERM during a drain closes at once; --drain-timeout 0 closes at the first', { timeout: 60_000 }, async (t) => {
  const server = await spawnServe(t, ['--engine', TEST_SERVER_ENGINE, '--host', '127.0.0.1', '--port', '0']);
  await openHeldSession(t, `${server.url}/offer`);
  server.child.kill('SIGTERM');
  await server.event('draining');
  server.child.kill('SIGTERM');
  assert.equal(await withTimeout(server.exited, 5_000, 'exit on the second SIGTERM'), 0);

  const now = await spawnServe(t, ['--engine', TEST_SERVER_ENGINE, '--host', '127.0.0.1', '--port', '0', '--drain-timeout', '0']);
  await openHeldSession(t, `${now.url}/offer`);
  const start = Date.now();
  now.child.kill('SIGTERM');
  assert.equal(await withTimeout(now.exited, 5_000, 'exit with --drain-timeout 0'), 0);
  assert.ok(Date.now() - start < 3_000);
  assert.equal((await now.event('drained')).closedAtTimeout, 1);
});
