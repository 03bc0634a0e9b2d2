/**
 * The native engine's control plane against real client stacks: the answer, our ICE agent and
 * data channels (werift's SCTP over DTLS application data) on the real data plane (a plane per
 * session, test/helpers/native-session.ts), the media echoed by it. The clients are our three
 * engines' client peers (libdatachannel, werift, libwebrtc).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientDataChannel, ClientEngine, ClientPeer, PeerState } from '../../src/engines/engine.js';
import { CLIENT_ENGINE_NAMES, loadClientEngine } from '../../src/engines/registry.js';
import { checkMediaEcho } from '../../src/client/media-check.js';
import { nativeAddon, skipWithoutAddon } from '../native/plane-harness.js';
import { silentLogger as log } from '../../src/log.js';
import { activeResources, GATHER_TIMEOUT_MS, resourcesBackTo, STEP_TIMEOUT_MS, waitForState } from '../helpers/engine-pair.js';
import { answerWithNativeSession, type NativeTestOptions, type NativeTestSession } from '../helpers/native-session.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

const engines: ClientEngine[] = await Promise.all(CLIENT_ENGINE_NAMES.map((name) => loadClientEngine(name)));
const skip = skipWithoutAddon();

let baseline: string[] = [];
before(() => {
  baseline = activeResources();
});
after(async () => {
  await resourcesBackTo(baseline);
});

interface Connected {
  client: ClientPeer;
  native: NativeTestSession;
  clientStates: PeerState[];
}

async function connect(t: { after(fn: () => void): void }, engine: ClientEngine, shape: { audio?: boolean; video?: boolean; dataChannel?: string }, options: NativeTestOptions = {}): Promise<Connected> {
  const client = engine.createClientPeer({ audio: shape.audio ?? false, video: shape.video ?? false, dataChannel: shape.dataChannel, gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  t.after(() => client.close());
  const clientStates: PeerState[] = [];
  client.onStateChange((state) => clientStates.push(state));
  const offer = await withTimeout(client.createOffer(), STEP_TIMEOUT_MS, 'client offer');
  const native = await answerWithNativeSession(offer.sdp, options);
  t.after(() => native.close());
  const connected = waitForState((l) => client.onStateChange(l), 'connected');
  await withTimeout(client.acceptAnswer({ type: 'answer', sdp: native.answerSdp }), STEP_TIMEOUT_MS, 'client applies the answer');
  await withTimeout(connected, STEP_TIMEOUT_MS, `${engine.name} client connected (states ${clientStates.join(' ')}; ours ${native.states.join(' ')})`);
  return { client, native, clientStates };
}

async function echoOf(channel: ClientDataChannel, messages: Array<string | Buffer>): Promise<Array<string | Buffer>> {
  if (!channel.isOpen) await withTimeout(new Promise<void>((r) => channel.onOpen(r)), STEP_TIMEOUT_MS, `${channel.label} open`);
  const received: Array<string | Buffer> = [];
  const allBack = new Promise<void>((resolve) => channel.onMessage((m) => received.push(m) === messages.length && resolve()));
  for (const message of messages) channel.send(message);
  await withTimeout(allBack, STEP_TIMEOUT_MS, `${messages.length} messages echoed on ${channel.label}`);
  return received;
}

for (const engine of engines) {
  describe(`a ${engine.name} client`, { skip }, () => {
    test('connects (ICE and DTLS) to an offer of audio, video and a data channel, and gets its media back', async (t) => {
      const { client, native } = await connect(t, engine, { audio: true, video: true, dataChannel: 'echo' });
      await eventually(() => native.session.state === 'connected', STEP_TIMEOUT_MS, 'our side connected');
      assert.equal(native.session.ice.state, 'connected');
      assert.ok(native.session.ice.selectedPair, 'a selected pair');
      assert.ok(native.session.ice.inboundActivity > 0, 'STUN from the client counted');
      const report = await withTimeout(checkMediaEcho(client, 10, () => {}, AbortSignal.timeout(STEP_TIMEOUT_MS)), STEP_TIMEOUT_MS + 1000, 'media echoed');
      for (const kind of ['audio', 'video'] as const) assert.ok((report[kind]?.echoed ?? 0) >= 10, `${kind}: ${JSON.stringify(report[kind])}`);
      assert.ok((native.plane.stats(native.session.id)?.rtpEchoed ?? 0) >= 20, 'the plane echoed them');
    });

    test('gets text as text, binary as binary, empty messages and a message of the announced size back', async (t) => {
      const { client, native } = await connect(t, engine, { dataChannel: 'echo' });
      const channel = client.dataChannel!;
      const announced = native.session.answer.dataChannel!.maxMessageSize;
      const big = Buffer.alloc(announced, 7);
      const messages = ['hello', Buffer.from([0, 1, 2, 255]), '', Buffer.alloc(0), big];
      const back = await echoOf(channel, messages);
      assert.deepEqual(back.slice(0, 4), messages.slice(0, 4));
      assert.ok(Buffer.isBuffer(back[4]) && back[4].equals(big), `a ${announced}-byte message came back whole`);
      // Its DATA chunks went back as runs of equal datagrams, each run in one segmented send.
      if (nativeAddon().versions().io?.includes('UDP_SEGMENT')) assert.ok((native.plane.stats(native.session.id)?.datagramsSegmented ?? 0) > 1, 'segmented sends');
      // A channel opened once connected (in-band DCEP) echoes too.
      const later = client.openDataChannel('later');
      assert.deepEqual(await echoOf(later, ['on the second channel']), ['on the second channel']);
      assert.equal(native.session.dataChannels?.counters.messages, 6);
      // Over loopback nothing is lost or reordered: a SACK reporting a gap would be our own doing
      // (packets taken out of order: data-channels.ts receive), and a miss indication to the client.
      const burst = Array.from({ length: 200 }, (_, i) => `burst ${i}`.padEnd(600, '.'));
      assert.deepEqual(await echoOf(channel, burst), burst);
      // werift's client is left out: it sends DATA out of TSN order (114 of our SACKs reported gaps
      // over this burst, where the other two clients, through the same plane, caused none).
      if (engine.name !== 'werift') assert.equal(native.session.dataChannels?.sacksReportingGaps, 0, 'no SACK of ours reported a gap');

      const facts = await client.transportFacts();
      // Our role is the stack policy's (src/engines/native/stack-policy.ts); the client takes the other.
      const ours = native.session.answer.dtlsRole;
      assert.equal(ours, engine.name === 'libdatachannel' ? 'server' : 'client');
      if (facts.dtlsRole.known) assert.equal(facts.dtlsRole.value, ours === 'client' ? 'server' : 'client', 'the client took the role our a=setup left it');
      if (facts.sctpZeroChecksum.known) assert.equal(facts.sctpZeroChecksum.value, false, 'our SCTP announces no zero checksum');
      if (facts.sctpMaxMessageSize.known) assert.equal(facts.sctpMaxMessageSize.value, announced, 'the client takes our a=max-message-size');
    });
  });
}
