/**
 * `serve --workers 2` with WHIP and WHEP: the primary admits and prepares as for /offer, and a
 * viewer's offer goes to the worker that holds its publisher (playback is packet by packet in
 * one process); PATCH and DELETE go to the worker that holds the resource; a publisher's end in
 * its worker ends its viewers there, and the primary learns each.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadClientEngine } from '../../src/engines/registry.js';
import { silentLogger } from '../../src/log.js';
import { SERVER_DEFAULTS, startWorkerServer } from '../../src/signaling/server.js';
import { STEP_TIMEOUT_MS } from '../helpers/engine-pair.js';
import { eventually } from '../helpers/timeout.js';
import { collectRtp, connectResource, patchFragment, playOn } from '../helpers/whip.js';

interface Health {
  sessions: number;
  workers: Array<{ worker: number; sessions: number }>;
}

test('--workers 2: viewers land in their publisher\'s worker and play; PATCH and DELETE reach it; the publisher\'s DELETE ends its viewers', async (t) => {
  const server = await startWorkerServer({ ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, engine: 'libdatachannel', log: silentLogger, workers: 2, logLevel: 'silent', offersPerSecond: 0 });
  t.after(() => server.close());
  const health = async () => (await (await fetch(`${server.url}/healthz`)).json()) as Health;
  const engine = await loadClientEngine('libdatachannel');

  const publisher = await connectResource(t, engine, `${server.url}/whip`, 'sendonly');
  await playOn(t, publisher.peer);
  const viewers = [];
  for (let i = 0; i < 2; i++) viewers.push(await connectResource(t, engine, `${server.url}/whep/${publisher.id}`, 'recvonly'));
  const h = await health();
  assert.equal(h.sessions, 3);
  assert.deepEqual(h.workers.map((w) => w.sessions).sort(), [0, 3], 'publisher and viewers in one worker, though the other holds fewer sessions');
  for (const viewer of viewers) {
    const received = collectRtp(viewer.peer);
    await eventually(() => (received.get('video')?.length ?? 0) > 10, STEP_TIMEOUT_MS, 'a viewer in the worker plays');
  }

  // PATCH reaches the worker, which checks the precondition.
  assert.equal((await patchFragment(viewers[0]!.url, 'a=end-of-candidates\r\n')).status, 428);
  assert.equal((await patchFragment(viewers[0]!.url, 'a=end-of-candidates\r\n', { 'If-Match': viewers[0]!.etag })).status, 204);
  assert.equal((await patchFragment(viewers[0]!.url, 'a=end-of-candidates\r\n', { 'If-Match': publisher.etag })).status, 412, 'each resource has its own entity-tag');

  assert.equal((await fetch(viewers[0]!.url, { method: 'DELETE' })).status, 200);
  await eventually(async () => (await health()).sessions === 2, STEP_TIMEOUT_MS, 'one viewer gone');
  assert.equal((await fetch(publisher.url, { method: 'DELETE' })).status, 200);
  await eventually(async () => (await health()).sessions === 0, STEP_TIMEOUT_MS, 'the other viewer ended with its publisher');
  assert.equal((await fetch(viewers[1]!.url, { method: 'DELETE' })).status, 404);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /echo_whip_whep_sessions_created_total\{role="viewer"\} 2/);
  assert.match(metrics, /echo_sessions_closed_total\{reason="publisher-gone"\} 1/);
  assert.match(metrics, /echo_rtp_packets_forwarded_total [1-9]/);
});
