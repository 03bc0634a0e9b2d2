/**
 * Where an engine's failure becomes which status: the stack refusing an offer is the client's
 * 422 ECHO_ERR_OFFER_REJECTED; anything else an engine throws is a bug, 500 ECHO_ERR_INTERNAL,
 * logged at error with the engine and the error (its stack), and counted as ECHO_ERR_INTERNAL.
 *
 * Real engines over real HTTP, through the normal path (route → registry → engine). The bug is a
 * fault injected into the real libdatachannel engine, once: the parse it is handed breaks an
 * invariant its own code relies on (every media section has its `rtp` list), so its echo plan
 * throws a TypeError outside any step of the stack. The server is built from its real parts
 * (SessionRegistry, buildApp) because startEchoServer takes an engine by name.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Engine } from '../../src/engines/engine.js';
import { loadClientEngine, loadEngine } from '../../src/engines/registry.js';
import { createEchoMetrics } from '../../src/echo/metrics.js';
import { SessionRegistry } from '../../src/echo/sessions.js';
import { buildApp } from '../../src/signaling/app.js';
import { SERVER_DEFAULTS } from '../../src/signaling/server.js';
import { candidatePolicy } from '../../src/sdp/candidate-policy.js';
import { OFFER_LIMIT_DEFAULTS } from '../../src/sdp/offer.js';
import type { ParsedOffer } from '../../src/sdp/parsed-offer.js';
import type { Logger } from '../../src/log.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { makeOffer } from '../helpers/offer.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';

async function serve(t: TestContext, engine: Engine, log: Logger) {
  const { connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, idleTimeoutMs, maxDataChannels, maxViewersPerPublisher } = SERVER_DEFAULTS;
  let registry: SessionRegistry | undefined;
  const metrics = createEchoMetrics(() => registry?.size ?? 0);
  registry = new SessionRegistry(
    engine,
    { connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, idleTimeoutMs, maxDataChannels, maxViewersPerPublisher, network: {}, publicIps: [], maxSessions: 10, maxUnconnectedPerAddress: 10 },
    log.child({ module: 'echo', engine: engine.name }),
    metrics,
  );
  const app = await buildApp({
    sessions: registry,
    metrics,
    log,
    offerLimits: OFFER_LIMIT_DEFAULTS,
    candidatePolicy: candidatePolicy({ listenHost: '127.0.0.1' }),
    corsOrigin: '*',
    offersPerSecond: 0,
    trustProxy: false,
    serveMetrics: true,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, registry };
}

/** The parse without its media sections' `rtp` lists: what a bug upstream of the engine could hand it. */
function withoutRtpLists(offer: ParsedOffer): ParsedOffer {
  const media = offer.parsed.media.map(({ rtp: _rtp, ...section }) => section as (typeof offer.parsed.media)[number]);
  return { ...offer, parsed: { ...offer.parsed, media } };
}

const rejected = (metrics: string, code: string) => Number(new RegExp(`^echo_offers_rejected_total\\{reason="${code}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);

test('an engine that throws a bug is a 500 ECHO_ERR_INTERNAL: logged at error with the engine and the error, counted, nothing held; the next offer is answered', async (t) => {
  const real = await loadEngine('libdatachannel');
  let faults = 1;
  const faulty: Engine = { ...real, createEchoPeer: (offer, options) => real.createEchoPeer(faults-- > 0 ? withoutRtpLists(offer) : offer, options) };
  const { log, lines } = capturingLogger('info');
  const { url, registry } = await serve(t, faulty, log);

  const { offer, peer } = await makeOffer();
  t.after(() => peer.close());
  const response = await postJson(`${url}/offer`, offer);
  assert.equal(response.status, 500);
  assert.deepEqual(await response.json(), { error: 'ECHO_ERR_INTERNAL', message: 'Internal server error' }, 'nothing of the bug reaches the client');

  const line = lines.find((l) => l.event === 'internal-error');
  assert.ok(line, JSON.stringify(lines));
  assert.equal(line.level, 50, 'at error');
  assert.equal(line.engine, 'libdatachannel');
  assert.equal(line.url, '/offer');
  const err = line.err as { type: string; message: string; stack: string };
  assert.equal(err.type, 'TypeError');
  assert.match(err.message, /reading 'filter'/);
  assert.match(err.stack, /echo-plan/, 'the stack says where');
  assert.equal(lines.filter((l) => l.event === 'request-rejected').length, 0, 'not logged as a refused request');

  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.equal(rejected(metrics, 'ECHO_ERR_INTERNAL'), 1);
  assert.equal(rejected(metrics, 'ECHO_ERR_OFFER_REJECTED'), 0);
  assert.equal(registry.size, 0);
  await withTimeout(registry.whenEmpty(), 1_000, 'no slot left held');

  const again = await postJson(`${url}/offer`, offer);
  assert.equal(again.status, 200, 'the server goes on');
});

test('an offer the stack refuses stays the client\'s 422 ECHO_ERR_OFFER_REJECTED, in the stack\'s words, and is no internal error', async (t) => {
  const server = await startTestServer(t, 'werift');
  const client = (await loadClientEngine('werift')).createClientPeer({ audio: false, video: true, gatherTimeoutMs: 2_000, log: (await import('../../src/log.js')).silentLogger });
  const offer = await client.createOffer();
  client.close();
  const response = await postJson(`${server.url}/offer`, { type: 'offer', sdp: offer.sdp.replace(/VP8\/90000/g, 'X-UNKNOWN/90000') });
  assert.equal(response.status, 422);
  const body = (await response.json()) as { error: string; message: string };
  assert.equal(body.error, 'ECHO_ERR_OFFER_REJECTED');
  assert.match(body.message, /codec/);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(rejected(metrics, 'ECHO_ERR_OFFER_REJECTED'), 1);
  assert.equal(rejected(metrics, 'ECHO_ERR_INTERNAL'), 0);
});
