/**
 * What only the native engine does; the promises every engine keeps are in conformance.test.ts,
 * its control plane against each client stack in native-session.test.ts and native-ice.test.ts.
 * Here: the facts its own stack reports (logged on session-connected), a port range with no
 * port left (503, not a bug), its one plane per process that closes once its last session has
 * been gone for PLANE_IDLE_CLOSE_MS, and a client source's BYE on every section ending the session.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EchoTransportFacts } from '../../src/engines/engine.js';
import { loadClientEngine } from '../../src/engines/registry.js';
import { loadNativeEngine } from '../../src/engines/native/index.js';
import { PLANE_IDLE_CLOSE_MS } from '../../src/engines/native/plane-host.js';
import { silentLogger as log } from '../../src/log.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { buildBye } from '../../src/rtp/rtcp.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { GATHER_TIMEOUT_MS, STEP_TIMEOUT_MS, connectPair, waitForState } from '../helpers/engine-pair.js';
import { makeOffer } from '../helpers/offer.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { eventually, withTimeout } from '../helpers/timeout.js';
import { runCli } from '../helpers/cli.js';
import { skipWithoutAddon } from '../native/plane-harness.js';

const skip = skipWithoutAddon();

test('its own stack says what it took, and the session logs it with the selected pair on session-connected: DTLS client for werift (actpass), server for libdatachannel, the SRTP profile, zero checksum off', { skip }, async (t) => {
  const { log: captured, lines } = capturingLogger('info');
  const server = await startTestServer(t, 'native', { log: captured });
  for (const [client, role] of [['werift', 'client'], ['libdatachannel', 'server']] as const) {
    const run = await runCli(['client', '-s', `${server.url}/offer`, '-t', '0', '--media', '--engine', client, '--json', '--timeout', '15'], 30_000);
    assert.equal(run.code, 0, run.stderr);
    await eventually(() => lines.filter((l) => l.event === 'session-connected').length >= (role === 'client' ? 1 : 2), STEP_TIMEOUT_MS, 'session-connected');
    const line = lines.filter((l) => l.event === 'session-connected').at(-1)!;
    const facts = line.transport as EchoTransportFacts;
    assert.deepEqual(facts.dtlsRole, { known: true, value: role }, `${client}: ${JSON.stringify(facts)}`);
    assert.ok(facts.srtpProfile.known && /^SRTP_(AEAD_AES_128_GCM|AES128_CM_HMAC_SHA1_80)$/.test(facts.srtpProfile.value), JSON.stringify(facts.srtpProfile));
    assert.equal(facts.sctpZeroChecksum.known, false, 'test 0 has no data channel');
    // A libdatachannel client shakes hands before its nomination arrives: the line still names the pair.
    assert.match(String(line.selectedPair), /^host udp \S+ -> (host|prflx) udp \S+$/, `${client}: ${JSON.stringify(line)}`);
  }
  const dc = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1', '--engine', 'werift', '--json', '--timeout', '15'], 30_000);
  assert.equal(dc.code, 0, dc.stderr);
  await eventually(() => lines.filter((l) => l.event === 'session-connected').length >= 3, STEP_TIMEOUT_MS, 'session-connected');
  assert.deepEqual((lines.filter((l) => l.event === 'session-connected').at(-1)!.transport as EchoTransportFacts).sctpZeroChecksum, { known: true, value: false });
});

test('a --udp-port-range with no port left refuses the offer with 503 ECHO_ERR_TOO_MANY_SESSIONS, and takes offers again once a port is free', { skip }, async (t) => {
  const server = await startTestServer(t, 'native', { network: { portRange: { min: 41130, max: 41130 } } });
  const first = await makeOffer();
  t.after(() => first.peer.close());
  assert.equal((await postJson(`${server.url}/offer`, first.offer)).status, 200);
  const second = await makeOffer();
  t.after(() => second.peer.close());
  const refused = await postJson(`${server.url}/offer`, second.offer);
  assert.equal(refused.status, 503);
  const body = (await refused.json()) as { error: string; message: string };
  assert.equal(body.error, 'ECHO_ERR_TOO_MANY_SESSIONS');
  assert.match(body.message, /No UDP port is free for another session \(no free UDP port in 41130-41130\)/);
  assert.equal(server.sessions.size, 1, 'the refused offer holds nothing');
  for (const session of server.sessions.list()) session.close('shutdown');
  const third = await makeOffer();
  t.after(() => third.peer.close());
  // The plane thread closes the socket (a command it takes on its next wake-up, not at once: it
  // may be reading it): on a busy machine the next offer can come first and be refused too.
  const statuses: number[] = [];
  await eventually(async () => statuses.push((await postJson(`${server.url}/offer`, third.offer)).status) > 0 && statuses.at(-1) !== 503, 5_000, 'the port free again');
  assert.equal(statuses.at(-1), 200, `the port is free again: ${statuses.join(', ')}`);
});

test('one data plane per process while it has sessions: sessions share it, the next session after the last one takes it over, and it closes once idle', { skip }, async (t) => {
  const engine = loadNativeEngine();
  const client = await loadClientEngine('libdatachannel');
  const a = await connectPair(t, engine, client, { dataChannel: 'echo' });
  const b = await connectPair(t, engine, client, { dataChannel: 'echo' });
  const fingerprint = (sdp: string) => /a=fingerprint:sha-256 (\S+)/.exec(sdp)?.[1];
  assert.equal(fingerprint(a.server.answer.sdp), fingerprint(b.server.answer.sdp), 'one plane, one certificate');
  a.server.close();
  b.server.close();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  // Within the idle time the next session takes the same plane (no new thread, no new key).
  const c = await connectPair(t, engine, client, { dataChannel: 'echo' });
  assert.equal(fingerprint(c.server.answer.sdp), fingerprint(a.server.answer.sdp), 'the idle plane was kept for the next session');
  c.server.close();
  await new Promise((r) => setTimeout(r, PLANE_IDLE_CLOSE_MS + 500));
  // After it, a new session starts a new plane: a new certificate.
  const d = await connectPair(t, engine, client, { dataChannel: 'echo' });
  assert.notEqual(fingerprint(d.server.answer.sdp), fingerprint(a.server.answer.sdp), 'the plane was closed and a new one started');
});

test("a media-only client whose source says BYE on every section is released at once, not at consent expiry", { skip }, async (t) => {
  const engine = loadNativeEngine();
  const client = (await loadClientEngine('libdatachannel')).createClientPeer({ audio: true, video: true, gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  t.after(() => client.close());
  const offer = await client.createOffer();
  const server = await engine.createEchoPeer(parseOffer(offer.sdp), { gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  t.after(() => server.close());
  const connected = waitForState((l) => client.onStateChange(l), 'connected');
  await client.acceptAnswer(server.answer);
  await withTimeout(connected, STEP_TIMEOUT_MS, 'connected');
  const closed = waitForState((l) => server.onStateChange(l), 'closed');
  const legs = client.media.mode === 'rtp' ? client.media.legs : [];
  assert.equal(legs.length, 2);
  for (const leg of legs) leg.sendRtcp(buildBye(leg.ssrc));
  await withTimeout(closed, STEP_TIMEOUT_MS, 'the echo peer closed after BYE on every section');
});
