/**
 * The libwebrtc engine over real loopback connections, against itself and against a
 * libdatachannel client that sends real VP8 and Opus (libwebrtc decodes what it echoes).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import sdpTransform from 'sdp-transform';
import type { ClientPeer, EchoPeer, PeerState } from '../../src/engines/engine.js';
import { libwebrtcEngine } from '../../src/engines/libwebrtc.js';
import { createLibwebrtcClientPeer, type LibwebrtcClientPeer } from '../../src/engines/libwebrtc-client-peer.js';
import { loadEngine } from '../../src/engines/registry.js';
import { silentLogger as log } from '../../src/log.js';
import { MediaPlayer } from '../../src/media/media-player.js';
import { loadClip } from '../../src/media/clips.js';
import { isRtp, rtpPayloadType, rtpSsrc } from '../../src/rtp/packet.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

const GATHER_TIMEOUT_MS = 3000;
const STEP_TIMEOUT_MS = 8000;

function waitForState(onStateChange: (listener: (state: PeerState) => void) => void, wanted: PeerState): Promise<void> {
  return new Promise((resolve) => onStateChange((state) => state === wanted && resolve()));
}

interface Pair<Client extends ClientPeer> {
  client: Client;
  server: EchoPeer;
  serverStates: PeerState[];
}

/** Offers from `client`, answers with a libwebrtc echo peer, connects; both close after the test. */
async function connect<Client extends ClientPeer>(t: TestContext, client: Client): Promise<Pair<Client>> {
  t.after(() => client.close());
  const offer = await withTimeout(client.createOffer(), STEP_TIMEOUT_MS, 'client offer');
  const server = await withTimeout(
    libwebrtcEngine.createEchoPeer(offer, { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }),
    STEP_TIMEOUT_MS,
    'echo answer',
  );
  t.after(() => server.close());
  const serverStates: PeerState[] = [];
  server.onStateChange((state) => serverStates.push(state));
  const connected = waitForState((l) => client.onStateChange(l), 'connected');
  await withTimeout(client.acceptAnswer(server.answer), STEP_TIMEOUT_MS, 'client applies answer');
  await withTimeout(connected, STEP_TIMEOUT_MS, 'client connected');
  return { client, server, serverStates };
}

function libwebrtcClient(options: { audio?: boolean; video?: boolean; dataChannel?: string }): LibwebrtcClientPeer {
  return createLibwebrtcClientPeer({
    audio: options.audio ?? false,
    video: options.video ?? false,
    dataChannel: options.dataChannel,
    gatherTimeoutMs: GATHER_TIMEOUT_MS,
    log,
  });
}

async function libdatachannelClient(options: { audio?: boolean; video?: boolean; dataChannel?: string }): Promise<ClientPeer> {
  const engine = await loadEngine('libdatachannel');
  return engine.createClientPeer({
    audio: options.audio ?? false,
    video: options.video ?? false,
    dataChannel: options.dataChannel,
    gatherTimeoutMs: GATHER_TIMEOUT_MS,
    log,
  });
}

function activeResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate');
}

/** Resolves once the process holds no more active resources than it did at `start`. */
async function resourcesBackTo(start: string[]): Promise<void> {
  const expected = [...start].sort().join(',');
  await eventually(() => activeResources().sort().join(',') === expected, STEP_TIMEOUT_MS, `resources back to [${expected}]`);
}

test('data channel messages come back as sent, text as text and binary as binary, also on a channel opened after connection', async (t) => {
  const { client, server } = await connect(t, libwebrtcClient({ dataChannel: 'echo' }));
  const first = client.dataChannel;
  assert.ok(first);
  await withTimeout(new Promise<void>((r) => first.onOpen(r)), STEP_TIMEOUT_MS, 'first channel open');
  const later = client.openDataChannel('opened-later');
  await withTimeout(new Promise<void>((r) => later.onOpen(r)), STEP_TIMEOUT_MS, 'second channel open');

  for (const channel of [first, later]) {
    const received: Array<string | Buffer> = [];
    const twoBack = new Promise<void>((resolve) => channel.onMessage((m) => received.push(m) === 2 && resolve()));
    channel.send(`hello on ${channel.label}`);
    channel.send(Buffer.from([0, 1, 2, 254, 255]));
    await withTimeout(twoBack, STEP_TIMEOUT_MS, `echo on ${channel.label}`);
    assert.equal(received[0], `hello on ${channel.label}`);
    assert.ok(Buffer.isBuffer(received[1]), 'binary comes back as binary');
    assert.deepEqual(received[1], Buffer.from([0, 1, 2, 254, 255]));
  }
  assert.equal(server.counters.messages, 4);
  assert.equal(server.counters.messageBytes, 2 * 5 + Buffer.byteLength('hello on echo') + Buffer.byteLength('hello on opened-later'));
});

test('a libwebrtc client with audio and video connects, its generated media is echoed, and its legs refuse raw RTP', async (t) => {
  const { client, server } = await connect(t, libwebrtcClient({ audio: true, video: true }));
  const answer = sdpTransform.parse(server.answer.sdp);
  assert.deepEqual(answer.media.map((m) => [m.type, m.direction]), [['audio', 'sendrecv'], ['video', 'sendrecv']]);
  assert.ok(answer.media.some((m) => (m.candidates ?? []).length > 0), 'non-trickle: candidates are in the answer');
  assert.deepEqual(client.media.map((leg) => leg.kind), ['audio', 'video']);
  for (const leg of client.media) assert.ok(leg.ssrc > 0, `${leg.kind} leg knows its SSRC from the offer`);
  assert.throws(() => client.media[0]!.send(Buffer.alloc(12)), /raw RTP media legs are not supported/);

  await eventually(async () => {
    const stats = await client.mediaStats();
    return stats.length === 2 && stats.every((s) => s.packetsSent > 0 && s.packetsReceived > 10);
  }, STEP_TIMEOUT_MS, 'echoed audio and video reach the client');
  await eventually(() => server.counters.rtpPackets > 20 && server.counters.rtpBytes > 0, STEP_TIMEOUT_MS, 'echo counters move');
});

test('real VP8 and Opus from a libdatachannel client come back, re-encoded, on the answered SSRCs and payload types', async (t) => {
  const { client, server } = await connect(t, await libdatachannelClient({ audio: true, video: true }));
  const answer = sdpTransform.parse(server.answer.sdp);
  const players: MediaPlayer[] = [];
  t.after(() => players.forEach((p) => p.stop()));
  const back = new Map<string, Buffer[]>();
  for (const leg of client.media) {
    const packets: Buffer[] = [];
    back.set(leg.kind, packets);
    leg.onRtp((packet) => {
      if (isRtp(packet)) packets.push(packet);
    });
    const player = new MediaPlayer(leg, await loadClip(leg.kind));
    players.push(player);
    player.start();
  }
  // Counted, not compared: the echo is a new encoding, so sizes and boundaries differ.
  await eventually(
    () => [...back.values()].every((packets) => packets.length >= 20),
    STEP_TIMEOUT_MS,
    'at least 20 echoed packets per leg',
  );
  for (const leg of client.media) {
    const section = answer.media.find((m) => m.type === leg.kind);
    const answeredSsrcs = new Set((section?.ssrcs ?? []).map((s) => Number(s.id)));
    const packets = back.get(leg.kind)!;
    assert.ok(packets.every((p) => rtpPayloadType(p) === leg.payloadType), `${leg.kind}: payload type ${leg.payloadType}`);
    assert.ok(answeredSsrcs.has(rtpSsrc(packets[0]!)), `${leg.kind}: echoed on an SSRC the answer declares`);
  }
  for (const player of players) assert.equal(player.stats.sendErrors, 0);
  await eventually(() => server.counters.rtpPackets >= 40, STEP_TIMEOUT_MS, 'echo counters move');
});

test('closing the echo peer reports closed once, last, at once, and leaves no resources behind', async (t) => {
  const start = activeResources();
  const { client, server, serverStates } = await connect(t, libwebrtcClient({ video: true, dataChannel: 'echo' }));
  const iceStates: string[] = [];
  server.onIceStateChange((s) => iceStates.push(s));
  server.close();
  server.close();
  assert.equal(serverStates.at(-1), 'closed');
  assert.equal(iceStates.at(-1), 'closed');
  // Native events still queued for the next tick must not follow `closed`.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(serverStates.filter((s) => s === 'closed').length, 1);
  assert.equal(serverStates.at(-1), 'closed');
  client.close(); // libwebrtc does not notice a remote close on the client side; see the report
  await resourcesBackTo(start);
});

test('a libwebrtc client closing ends the echo peer with one closed and leaves no resources behind', async (t) => {
  const start = activeResources();
  const { client, server, serverStates } = await connect(t, libwebrtcClient({ audio: true, dataChannel: 'echo' }));
  const serverClosed = waitForState((l) => server.onStateChange(l), 'closed');
  client.close();
  await withTimeout(serverClosed, STEP_TIMEOUT_MS, 'echo peer closed after the client left');
  assert.equal(serverStates.filter((s) => s === 'closed').length, 1);
  assert.equal(serverStates.at(-1), 'closed');
  await resourcesBackTo(start);
});

test('an offer libwebrtc refuses rejects and leaves no resources behind', async () => {
  const start = activeResources();
  // No ICE credentials and no fingerprint: libwebrtc refuses to apply it.
  const offer = {
    type: 'offer' as const,
    sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n',
  };
  await assert.rejects(libwebrtcEngine.createEchoPeer(offer, { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }), Error);
  await resourcesBackTo(start);
});
