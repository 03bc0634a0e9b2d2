/**
 * The native control plane's ICE against real stacks, in the cases that decide who connects:
 * a client that cannot reach the candidates we announce but can be reached (only our own checks,
 * after the hold-off, connect it), a client that checks first, IPv6 on ::1, and a client that
 * vanishes (consent expiry). Each connects all the way (DTLS on the real data plane, a plane per
 * session: test/helpers/native-session.ts) and, where it has a data channel, gets an echo.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import nodeDataChannel from 'node-datachannel';
import { loadClientEngine } from '../../src/engines/registry.js';
import { skipWithoutAddon } from '../native/plane-harness.js';
import { silentLogger as log } from '../../src/log.js';
import { ROOT } from '../helpers/cli.js';
import { GATHER_TIMEOUT_MS, STEP_TIMEOUT_MS, waitForState } from '../helpers/engine-pair.js';
import { startNativeHttpServer } from '../helpers/native-http.js';
import { answerWithNativeSession, type NativeTestOptions } from '../helpers/native-session.js';
import { runCommand } from '../helpers/run-command.js';
import { eventually, skipUnlessCi, withTimeout } from '../helpers/timeout.js';

const PION_CLIENT = join(ROOT, 'interop/peers/pion/bin/pion-client');
const skip = skipWithoutAddon();
const noPion = skipUnlessCi(existsSync(PION_CLIENT) ? undefined : 'pion peers not built (interop/setup/pion.sh)');

// Raw node-datachannel peers (to bind them to loopback) keep its threads: release them at the end.
after(() => nodeDataChannel.cleanup());

/** A libdatachannel client bound to one loopback address, with a data channel: it offers that address only. */
async function libdatachannelClient(bindAddress: '127.0.0.1' | '::1') {
  const pc = new nodeDataChannel.PeerConnection('client', { iceServers: [], bindAddress });
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  const channel = pc.createDataChannel('echo');
  await withTimeout(gathered, STEP_TIMEOUT_MS, 'libdatachannel gathering');
  const echoes: string[] = [];
  channel.onMessage((m) => echoes.push(String(m)));
  const open = new Promise<void>((resolve) => channel.onOpen(() => resolve()));
  const states: string[] = [];
  const connected = new Promise<void>((resolve, reject) =>
    pc.onStateChange((s) => {
      states.push(s);
      if (s === 'connected') resolve();
      if (s === 'failed') reject(new Error(`libdatachannel client failed (${states.join(' ')})`));
    }),
  );
  connected.catch(() => undefined);
  return { pc, offer: pc.localDescription()!.sdp, channel, echoes, open, connected, states };
}

async function libdatachannelEcho(address: '127.0.0.1' | '::1', options: NativeTestOptions) {
  const client = await libdatachannelClient(address);
  const native = await answerWithNativeSession(client.offer, { families: [address], ...options });
  try {
    assert.equal(native.offerCandidates, 1, 'the client offers its loopback address');
    client.pc.setRemoteDescription(native.answerSdp, 'answer');
    await withTimeout(client.connected, STEP_TIMEOUT_MS, 'libdatachannel client connected');
    const connectedMs = performance.now() - native.answeredAt;
    await withTimeout(client.open, STEP_TIMEOUT_MS, 'channel open');
    client.channel.sendMessage('ping');
    await eventually(() => client.echoes.length > 0, STEP_TIMEOUT_MS, 'echo');
    assert.deepEqual(client.echoes, ['ping']);
    // libdatachannel nominates a pair only once every better one failed (2 s with our unreachable
    // candidate); as DTLS client it shakes hands before that, on the pair our check validated.
    const selected = native.session.ice.selectedPair;
    if (selected) assert.equal(selected.remote.port, Number(/ (\d+) typ host/.exec(client.offer)![1]));
    const planeAnswers = native.plane.stats(native.session.id)?.stunAnswered ?? 0;
    const planeChecks = native.plane.stats(native.session.id)?.stunChecksSent ?? 0;
    return { connectedMs, native, planeAnswers, planeChecks, agentAnswers: native.agentAnswers, errors: native.errors };
  } finally {
    native.close();
    client.pc.close();
  }
}

test('a libdatachannel client that cannot reach us is checked after its hold-off, connects and echoes', { skip }, async (t) => {
  const { connectedMs } = await libdatachannelEcho('127.0.0.1', { unreachable: true });
  t.diagnostic(`answer -> connected ${connectedMs.toFixed(1)} ms (hold-off 100 ms)`);
  assert.ok(connectedMs >= 95, `connected ${connectedMs.toFixed(1)} ms after the answer: not before its hold-off`);
  assert.ok(connectedMs < 1_500, `connected ${connectedMs.toFixed(1)} ms after the answer: not after libjuice gave up on our unreachable candidate (2 s)`);
});

test('a libdatachannel client that can reach us and offers a reachable candidate connects on its own check, before the hold-off', { skip }, async (t) => {
  const { connectedMs } = await libdatachannelEcho('127.0.0.1', { checkHoldOffMs: 2_000 });
  t.diagnostic(`answer -> connected ${connectedMs.toFixed(1)} ms`);
  assert.ok(connectedMs < 2_000, 'the client checked first and that ended the wait');
});

test('with the plane answering checks (the engine default), a libdatachannel client connects and echoes over IPv4 and IPv6, checking first or checked after the hold-off, and no check is answered in JavaScript', { skip }, async (t) => {
  for (const address of ['127.0.0.1', '::1'] as const) {
    for (const unreachable of [false, true]) {
      const result = await libdatachannelEcho(address, { planeAnswersIce: true, unreachable, checkHoldOffMs: unreachable ? 100 : 2_000 });
      const label = `${address}${unreachable ? ', announced candidate unreachable' : ''}`;
      t.diagnostic(`${label}: answer -> connected ${result.connectedMs.toFixed(1)} ms, plane answers ${result.planeAnswers}, agent answers ${result.agentAnswers}`);
      if (!unreachable) assert.ok(result.connectedMs < 2_000, `${label}: the client checked first and that ended the wait`);
      // Its first check from its address triggered ours, sent by the plane (NativeSession gives it the offer's password).
      if (!unreachable) assert.equal(result.planeChecks, 1, `${label}: the plane sent the triggered check`);
      assert.ok(result.planeAnswers > 0, `${label}: the plane answered the client's checks`);
      assert.equal(result.agentAnswers, 0, `${label}: the agent answered none itself`);
      assert.deepEqual(result.errors, [], `${label}: no answer left loopback`);
    }
  }
  // Without it (the helper's default, WEBRTC_ECHO_NATIVE_ICE_ANSWERS=0 in the engine) the agent answers.
  const off = await libdatachannelEcho('127.0.0.1', { checkHoldOffMs: 2_000 });
  assert.equal(off.planeAnswers, 0);
  assert.equal(off.planeChecks, 0);
  assert.ok(off.agentAnswers > 0, 'the agent answered');
});

test('IPv6 on ::1: a libdatachannel client bound to ::1, both ways and when only we can reach it', { skip }, async () => {
  await libdatachannelEcho('::1', {});
  await libdatachannelEcho('::1', { unreachable: true });
});

test('a libwebrtc client (127.0.0.1 and ::1 candidates) that cannot reach us connects through our checks, over IPv4 and over IPv6', { skip }, async (t) => {
  const engine = await loadClientEngine('libwebrtc');
  for (const family of ['127.0.0.1', '::1'] as const) {
    const client = engine.createClientPeer({ audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
    const offer = await withTimeout(client.createOffer(), STEP_TIMEOUT_MS, 'offer');
    const native = await answerWithNativeSession(offer.sdp, { families: [family], unreachable: true });
    try {
      const connected = waitForState((l) => client.onStateChange(l), 'connected');
      await client.acceptAnswer({ type: 'answer', sdp: native.answerSdp });
      await withTimeout(connected, STEP_TIMEOUT_MS, `libwebrtc client connected over ${family}`);
      t.diagnostic(`${family}: answer -> connected ${(performance.now() - native.answeredAt).toFixed(1)} ms`);
      assert.equal(native.session.ice.selectedPair?.remote.address, family);
    } finally {
      client.close();
      native.close();
    }
  }
});

test('a pion client: checking first, and unable to reach us; both echo on a data channel and pass the DTLS role and zero checksum sub-checks', { skip: skip || noPion, timeout: 60_000 }, async (t) => {
  for (const unreachable of [false, true]) {
    const server = await startNativeHttpServer({ unreachable });
    try {
      const { code, stderr } = await runCommand(PION_CLIENT, ['-s', server.url, '-t', '1', '--timeout', '8']);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /^check dtls-role pass/m);
      assert.match(stderr, /^check sctp-zero-checksum pass/m);
      const answer = Number(/^answer_ms (\d+)/m.exec(stderr)?.[1]);
      const connected = Number(/^connected_ms (\d+)/m.exec(stderr)?.[1]);
      t.diagnostic(`${unreachable ? 'unreachable' : 'checks first'}: answer -> connected ${connected - answer} ms`);
    } finally {
      await server.close();
    }
  }
});

test('a client that vanishes loses consent: disconnected, then failed, and the session can be released', { skip }, async () => {
  const client = await libdatachannelClient('127.0.0.1');
  const native = await answerWithNativeSession(client.offer, { iceTiming: { consentIntervalMs: 200, consentTimeoutMs: 1_500, disconnectedAfterMs: 500 } });
  try {
    client.pc.setRemoteDescription(native.answerSdp, 'answer');
    await withTimeout(client.connected, STEP_TIMEOUT_MS, 'connected');
    await eventually(() => native.session.state === 'connected', STEP_TIMEOUT_MS, 'our side connected');
    const before = native.session.ice.inboundActivity;
    await eventually(() => native.session.ice.inboundActivity > before, STEP_TIMEOUT_MS, 'consent answers count as activity');
    // The client vanishes: nothing of it reaches us any more.
    native.deafen(native.session.ice.selectedPair!.socket);
    await eventually(() => native.states.includes('disconnected'), STEP_TIMEOUT_MS, 'disconnected');
    await eventually(() => native.session.state === 'failed', STEP_TIMEOUT_MS, 'consent lost');
    assert.equal(native.session.ice.state, 'failed');
  } finally {
    native.close();
    client.pc.close();
  }
  assert.equal(native.session.state, 'closed');
});
