import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runClient } from '../../src/client/run-client.js';
import { silentLogger } from '../../src/log.js';
import { makeOffer } from '../helpers/offer.js';
import { postJson, startTestServer, TEST_SERVER_ENGINE } from '../helpers/server.js';
import { eventually } from '../helpers/timeout.js';

test('after 50 sessions, half closed by the client and half abandoned, /healthz reports 0 live sessions', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE, { connectTimeoutMs: 2_000 });
  const url = `${server.url}/offer`;
  const abandoned: Array<{ close(): void }> = [];
  // Closed on every path: a peer left open keeps the process (and the test run) alive.
  t.after(() => abandoned.forEach((peer) => peer.close()));
  let offersPosted = 0;
  for (let i = 0; i < 25; i++) {
    const result = await runClient({
      url, test: 1, engine: i % 2 ? 'werift' : 'libdatachannel', timeoutMs: 15_000,
      media: false, audio: true, video: true, mediaPackets: 1, log: silentLogger,
    });
    assert.equal(result.ok, true, `client session ${i}: ${result.message}`);
    assert.equal(result.attempts, undefined, `client session ${i} connected at the first attempt`);
    offersPosted++;

    // Abandoned: the offer is posted but the answer never applied, so it never connects.
    const { offer, peer } = await makeOffer();
    const response = await postJson(url, offer);
    assert.equal(response.status, 200);
    offersPosted++;
    abandoned.push(peer);
  }
  for (const peer of abandoned) peer.close();
  await eventually(async () => {
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { sessions: number };
    return health.sessions === 0;
  }, 30_000, 'every session released');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`echo_sessions_created_total ${offersPosted}\\n`));
  assert.match(metrics, /echo_sessions_closed_total\{reason="connect-timeout"\} 25/);
});

test('SIGTERM-style shutdown closes every live session', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const { offer, peer } = await makeOffer();
  t.after(() => peer.close());
  const response = await postJson(`${server.url}/offer`, offer);
  assert.equal(response.status, 200);
  const [session] = server.sessions.list();
  assert.ok(session);
  await server.close();
  assert.equal(await session.closed, 'shutdown');
  assert.equal(server.sessions.size, 0);
});
