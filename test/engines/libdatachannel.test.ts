/**
 * The libdatachannel engine against itself over real loopback connections: a client peer
 * offers, an echo peer answers, and both run in this process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import sdpTransform from 'sdp-transform';
import type { EchoPeer, PeerState } from '../../src/engines/engine.js';
import { libdatachannelEngine } from '../../src/engines/libdatachannel.js';
import {
  createLibdatachannelClientPeer, type LibdatachannelClientPeer, type LibdatachannelMediaLeg,
} from '../../src/engines/libdatachannel-client.js';
import { planEchoSections } from '../../src/engines/libdatachannel-echo-plan.js';
import { silentLogger as log } from '../../src/log.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc } from '../../src/rtp/packet.js';
import { buildPli, keyframeRequestTargets } from '../../src/rtp/rtcp.js';
import { withTimeout } from '../helpers/timeout.js';

const GATHER_TIMEOUT_MS = 3000;
const STEP_TIMEOUT_MS = 5000;

function waitForState(onStateChange: (listener: (state: PeerState) => void) => void, wanted: PeerState): Promise<void> {
  return new Promise((resolve) => onStateChange((state) => state === wanted && resolve()));
}

interface Pair {
  client: LibdatachannelClientPeer;
  server: EchoPeer;
  serverStates: PeerState[];
}

/** Offer, answer and connect one client and one echo peer; both are closed after the test. */
async function connectPair(
  t: TestContext,
  options: { audio?: boolean; video?: boolean; dataChannel?: string },
): Promise<Pair> {
  const client = createLibdatachannelClientPeer({
    audio: options.audio ?? false,
    video: options.video ?? false,
    dataChannel: options.dataChannel,
    gatherTimeoutMs: GATHER_TIMEOUT_MS,
    log,
  });
  t.after(() => client.close());
  const offer = await withTimeout(client.createOffer(), STEP_TIMEOUT_MS, 'client offer');
  const server = await withTimeout(
    libdatachannelEngine.createEchoPeer(offer, { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }),
    STEP_TIMEOUT_MS,
    'echo answer',
  );
  t.after(() => server.close());
  const serverStates: PeerState[] = [];
  server.onStateChange((state) => serverStates.push(state));
  const connected = waitForState((l) => client.onStateChange(l), 'connected');
  await client.acceptAnswer(server.answer);
  await withTimeout(connected, STEP_TIMEOUT_MS, 'client connected');
  return { client, server, serverStates };
}

/** The SSRC that the answer declares (`a=ssrc`) for a mid. */
function answeredSsrc(answerSdp: string, mid: string): number {
  const media = sdpTransform.parse(answerSdp).media.find((m) => String(m.mid) === mid);
  const ssrc = media?.ssrcs?.[0]?.id;
  assert.ok(ssrc !== undefined, `the answer declares no SSRC for mid ${mid}`);
  return Number(ssrc);
}

function rtpPacket(leg: LibdatachannelMediaLeg, sequence: number): Buffer {
  const packet = Buffer.alloc(12 + 20);
  packet[0] = 0x80;
  packet[1] = leg.payloadType;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 960, 4);
  packet.writeUInt32BE(leg.ssrc, 8);
  packet.fill(sequence & 0xff, 12);
  return packet;
}

/** Resolves once the process holds no resource beyond those it held at `start`. */
async function resourcesBackTo(start: string[], withinMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = [...activeResources()];
    for (const resource of start) {
      const index = left.indexOf(resource);
      if (index >= 0) left.splice(index, 1);
    }
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`resources left behind: [${left.join(', ')}]`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function activeResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
}

test('the echo plan keeps the offer\'s own codecs and drops retransmission and redundancy', () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99', 'c=IN IP4 0.0.0.0', 'a=mid:v', 'a=sendrecv',
    'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 goog-remb', 'a=rtcp-fb:96 transport-cc', 'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
    'a=rtpmap:98 H264/90000', 'a=fmtp:98 profile-level-id=42e01f;packetization-mode=1', 'a=rtpmap:99 red/90000',
    'm=audio 0 UDP/TLS/RTP/SAVPF 0', 'a=mid:rejected', 'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');
  const plans = planEchoSections(offer);
  assert.equal(plans.length, 1);
  const [video] = plans;
  assert.equal(video?.mid, 'v');
  assert.equal(video?.direction, 'SendRecv');
  assert.deepEqual(video?.payloadTypes, [96, 98]);
  assert.deepEqual(video?.codecLines, [
    'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
    'a=rtpmap:98 H264/90000', 'a=fmtp:98 profile-level-id=42e01f;packetization-mode=1',
  ]);
});

test('the echo plan echoes a bundle-only section (port 0 with a=bundle-only, as Firefox writes under max-bundle)', () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 109', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendrecv', 'a=rtpmap:109 opus/48000/2',
    'm=video 0 UDP/TLS/RTP/SAVPF 120', 'c=IN IP4 0.0.0.0', 'a=bundle-only', 'a=mid:1', 'a=sendrecv', 'a=rtpmap:120 VP8/90000',
    'm=video 0 UDP/TLS/RTP/SAVPF 120', 'c=IN IP4 0.0.0.0', 'a=mid:2', 'a=rtpmap:120 VP8/90000',
    '',
  ].join('\r\n');
  assert.deepEqual(planEchoSections(offer).map((p) => `${p.kind} ${p.mid}`), ['audio 0', 'video 1'], 'the rejected mid 2 stays out');
});

test('the answer is sendrecv and declares an echo SSRC with cname and msid for every media section', async (t) => {
  const { client, server } = await connectPair(t, { audio: true, video: true });
  const answer = sdpTransform.parse(server.answer.sdp);
  assert.deepEqual(answer.media.map((m) => m.type), ['audio', 'video']);
  // Non-trickle: the candidates are in the SDP (BUNDLE: libdatachannel lists them in the first section).
  assert.ok((answer.media[0]?.candidates ?? []).length > 0, 'the answer carries its candidates');
  for (const media of answer.media) {
    assert.equal(media.direction, 'sendrecv');
    const attributes = (media.ssrcs ?? []).map((s) => s.attribute);
    assert.ok(attributes.includes('cname') && attributes.includes('msid'), `ssrc attributes: ${attributes}`);
  }
  assert.deepEqual(answer.media[0]?.rtp.map((r) => r.payload), [111]);
  assert.deepEqual(answer.media[1]?.rtp.map((r) => r.payload), [96]);
  assert.deepEqual(client.media.map((leg) => leg.kind), ['audio', 'video']);
});

test('data channel messages come back as sent, text as text and binary as binary, also on a channel opened after connection', async (t) => {
  const { client, server } = await connectPair(t, { dataChannel: 'echo' });
  const first = client.dataChannel;
  assert.ok(first);
  if (!first.isOpen) await withTimeout(new Promise<void>((r) => first.onOpen(r)), STEP_TIMEOUT_MS, 'first channel open');

  const later = client.openDataChannel('opened-later');
  await withTimeout(new Promise<void>((r) => later.onOpen(r)), STEP_TIMEOUT_MS, 'second channel open');

  for (const channel of [first, later]) {
    const received: Array<string | Buffer> = [];
    const twoBack = new Promise<void>((resolve) =>
      channel.onMessage((message) => received.push(message) === 2 && resolve()),
    );
    channel.send(`hello on ${channel.label}`);
    channel.send(Buffer.from([0, 1, 2, 254, 255]));
    await withTimeout(twoBack, STEP_TIMEOUT_MS, `echo on ${channel.label}`);
    assert.equal(received[0], `hello on ${channel.label}`);
    assert.ok(Buffer.isBuffer(received[1]), 'binary comes back as binary');
    assert.deepEqual(received[1], Buffer.from([0, 1, 2, 254, 255]));
  }
  assert.equal(server.counters.messages, 4);
});

test('RTP on each leg comes back with the answered SSRC and the same payload type, sequence and payload', async (t) => {
  const { client, server } = await connectPair(t, { audio: true, video: true });
  const count = 50;
  for (const leg of client.media) {
    const echoSsrc = answeredSsrc(server.answer.sdp, leg.mid);
    const back: Buffer[] = [];
    const allBack = new Promise<void>((resolve) => leg.onRtp((p) => back.push(p) === count && resolve()));
    const sent: Buffer[] = [];
    for (let sequence = 1; sequence <= count; sequence++) {
      const packet = rtpPacket(leg, sequence);
      sent.push(Buffer.from(packet));
      leg.send(packet);
    }
    await withTimeout(allBack, STEP_TIMEOUT_MS, `${count} ${leg.kind} packets back`);
    back.sort((a, b) => rtpSequenceNumber(a) - rtpSequenceNumber(b));
    back.forEach((packet, i) => {
      assert.equal(rtpSsrc(packet), echoSsrc);
      assert.equal(rtpPayloadType(packet), leg.payloadType);
      assert.equal(rtpSequenceNumber(packet), i + 1);
      assert.deepEqual(packet.subarray(12), sent[i]!.subarray(12));
    });
  }
  assert.equal(server.counters.rtpPackets, 2 * count);
});

test('a PLI about the echo SSRC reaches the client as a PLI about its own SSRC', async (t) => {
  const { client, server } = await connectPair(t, { video: true });
  const video = client.media[0]!;
  const echoSsrc = answeredSsrc(server.answer.sdp, video.mid);
  // The echo peer learns the client's SSRC from its RTP, so one packet goes first.
  const echoed = new Promise<void>((resolve) => video.onRtp(() => resolve()));
  video.send(rtpPacket(video, 1));
  await withTimeout(echoed, STEP_TIMEOUT_MS, 'first packet echoed');

  const relayed = new Promise<number[]>((resolve) =>
    video.onRtcp((rtcp) => {
      const targets = keyframeRequestTargets(rtcp);
      if (targets.length > 0) resolve(targets);
    }),
  );
  video.sendRtcp(buildPli(video.ssrc, echoSsrc));
  assert.deepEqual(await withTimeout(relayed, STEP_TIMEOUT_MS, 'relayed PLI'), [video.ssrc]);
  assert.equal(server.counters.keyframeRequests, 1);
});

test('closing the client ends with one closed, last, on the echo peer and leaves no resources behind', async (t) => {
  const start = activeResources();
  const { client, server, serverStates } = await connectPair(t, { audio: true, dataChannel: 'echo' });
  const serverClosed = waitForState((l) => server.onStateChange(l), 'closed');
  client.close();
  client.close();
  await withTimeout(serverClosed, STEP_TIMEOUT_MS, 'echo peer closed');
  server.close();
  assert.equal(serverStates.filter((s) => s === 'closed').length, 1);
  assert.equal(serverStates.at(-1), 'closed');
  await resourcesBackTo(start);
});

test('closing the echo peer reports closed at once, ends the client too, and leaves no resources behind', async (t) => {
  const start = activeResources();
  const { client, server, serverStates } = await connectPair(t, { video: true, dataChannel: 'echo' });
  const clientClosed = waitForState((l) => client.onStateChange(l), 'closed');
  server.close();
  assert.deepEqual(serverStates.slice(-1), ['closed']);
  server.close();
  await withTimeout(clientClosed, STEP_TIMEOUT_MS, 'client closed');
  assert.equal(serverStates.filter((s) => s === 'closed').length, 1);
  await resourcesBackTo(start);
});

test('an offer libdatachannel refuses rejects and leaves no resources behind', async () => {
  const start = activeResources();
  // No ICE credentials and no fingerprint: libdatachannel's validateRemoteDescription refuses it.
  const offer = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n' };
  await assert.rejects(libdatachannelEngine.createEchoPeer(offer, { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }), Error);
  await resourcesBackTo(start);
});

test('a process that connected both peers and closed them exits on its own', async () => {
  // node-datachannel keeps the event loop alive through native callbacks that
  // getActiveResourcesInfo() does not list, so the real check is whether node exits.
  const engineUrl = new URL('../../src/engines/libdatachannel.ts', import.meta.url).href;
  const logUrl = new URL('../../src/log.ts', import.meta.url).href;
  const script = `
    const { libdatachannelEngine: engine } = await import(${JSON.stringify(engineUrl)});
    const { silentLogger: log } = await import(${JSON.stringify(logUrl)});
    const client = engine.createClientPeer({ audio: true, video: true, dataChannel: 'echo', gatherTimeoutMs: 3000, log });
    const server = await engine.createEchoPeer(await client.createOffer(), { gatherTimeoutMs: 3000, log });
    const connected = new Promise((resolve) => client.onStateChange((s) => s === 'connected' && resolve()));
    await client.acceptAnswer(server.answer);
    await connected;
    const echoed = new Promise((resolve) => client.dataChannel.onMessage(resolve));
    client.dataChannel.send('ping');
    await echoed;
    const serverClosed = new Promise((resolve) => server.onStateChange((s) => s === 'closed' && resolve()));
    client.close();
    await serverClosed;
    console.log('closed');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    assert.equal(await withTimeout(exited, 15_000, 'child process exit'), 0);
  } finally {
    child.kill();
  }
  assert.match(stdout, /closed/);
});
