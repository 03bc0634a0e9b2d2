/**
 * The werift engine on both ends of real loopback connections, in one process.
 * Run: node --import tsx --test test/engines/werift.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PictureLossIndication, RTCPeerConnection, RTCRtpCodecParameters, RtcpPayloadSpecificFeedback, usePLI } from 'werift';
import type { ClientPeer, EchoPeer, MediaKind, PeerState } from '../../src/engines/engine.js';
import { CLIENT_PAYLOAD_TYPES } from '../../src/engines/engine.js';
import { weriftEngine } from '../../src/engines/werift.js';
import { silentLogger } from '../../src/log.js';
import { rtpPayloadType, rtpSsrc } from '../../src/rtp/packet.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

const GATHER_MS = 2000;
const CONNECT_MS = 5000;

let baselineResources: string[] = [];
before(() => {
  baselineResources = process.getActiveResourcesInfo();
});

/** Offer, answer, and wait until both ends report `connected`. */
async function connectPair(options: { audio: boolean; video: boolean; dataChannel?: string }): Promise<{ client: ClientPeer; server: EchoPeer; serverStates: PeerState[] }> {
  const client = weriftEngine.createClientPeer({ ...options, gatherTimeoutMs: GATHER_MS, log: silentLogger });
  const clientConnected = new Promise<void>((resolve) => client.onStateChange((s) => s === 'connected' && resolve()));
  const offer = await withTimeout(client.createOffer(), GATHER_MS + 1000, 'client offer');
  const server = await withTimeout(weriftEngine.createEchoPeer(offer, { gatherTimeoutMs: GATHER_MS, log: silentLogger }), GATHER_MS + 1000, 'server answer');
  const serverStates: PeerState[] = [];
  server.onStateChange((s) => serverStates.push(s));
  const serverConnected = new Promise<void>((resolve) => server.onStateChange((s) => s === 'connected' && resolve()));
  await client.acceptAnswer(server.answer);
  await withTimeout(Promise.all([clientConnected, serverConnected]), CONNECT_MS, 'both peers connected');
  return { client, server, serverStates };
}

/** The SSRC the answer declares (`a=ssrc:N cname:…`) in its m-section of `kind`. */
function declaredSsrc(sdp: string, kind: MediaKind): number {
  const section = sdp.split(/^m=/m).find((s) => s.startsWith(kind));
  const match = section?.match(/^a=ssrc:(\d+) cname:/m);
  assert.ok(match, `answer declares an SSRC for ${kind}`);
  return Number(match[1]);
}

function syntheticRtp(payloadType: number, ssrc: number, sequence: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = payloadType;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE((sequence * 960) >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

test('data channel messages come back as sent, text as text and binary as binary, also on a channel opened after connecting', async () => {
  const { client, server } = await connectPair({ audio: false, video: false, dataChannel: 'first' });
  try {
    const channel = client.dataChannel!;
    if (!channel.isOpen) await withTimeout(new Promise<void>((r) => channel.onOpen(r)), CONNECT_MS, 'first channel open');
    const received: Array<string | Buffer> = [];
    channel.onMessage((data) => received.push(data));
    channel.send('hello echo');
    channel.send(Buffer.from([0, 1, 2, 255]));
    await eventually(() => received.length === 2, 3000, 'two echoes on the first channel');
    assert.equal(received[0], 'hello echo');
    assert.ok(Buffer.isBuffer(received[1]));
    assert.deepEqual([...(received[1] as Buffer)], [0, 1, 2, 255]);

    // A second channel, opened by the client once the connection is up (no renegotiation).
    const pc = (client as unknown as { pc: RTCPeerConnection }).pc;
    const second = pc.createDataChannel('second');
    await withTimeout(new Promise<void>((r) => (second.readyState === 'open' ? r() : second.stateChanged.subscribe((s) => s === 'open' && r()))), CONNECT_MS, 'second channel open');
    const secondReceived: Array<string | Buffer> = [];
    second.onMessage.subscribe((data) => secondReceived.push(data));
    second.send('on the second channel');
    await eventually(() => secondReceived.length === 1, 3000, 'echo on the second channel');
    assert.equal(secondReceived[0], 'on the second channel');
    assert.equal(server.counters.messages, 3);
    assert.equal(server.counters.messageBytes, 'hello echo'.length + 4 + 'on the second channel'.length);
  } finally {
    client.close();
    server.close();
  }
});

test('audio and video RTP comes back on its own section with the declared SSRC, same payload and payload type', async () => {
  const { client, server } = await connectPair({ audio: true, video: true });
  try {
    assert.deepEqual(client.media.map((leg) => leg.kind), ['audio', 'video']);
    const count = 50;
    for (const leg of client.media) {
      assert.equal(leg.payloadType, CLIENT_PAYLOAD_TYPES[leg.kind]);
      const echoSsrc = declaredSsrc(server.answer.sdp, leg.kind);
      const echoes: Buffer[] = [];
      leg.onRtp((packet) => echoes.push(packet));
      const sent = new Map<string, true>();
      for (let i = 0; i < count; i++) {
        const payload = Buffer.from(`${leg.kind} packet ${i}`);
        sent.set(payload.toString('hex'), true);
        leg.send(syntheticRtp(leg.payloadType, leg.ssrc, 1000 + i, payload));
      }
      await eventually(() => echoes.length >= count, 5000, `${count} ${leg.kind} echoes`);
      for (const echo of echoes) {
        assert.equal(rtpSsrc(echo), echoSsrc, 'echo carries the SSRC the answer declared');
        assert.equal(rtpPayloadType(echo), leg.payloadType, 'echo keeps the payload type');
        const headerLength = 12 + (echo[0]! & 0x10 ? 4 + echo.readUInt16BE(14) * 4 : 0);
        assert.ok(sent.has(echo.subarray(headerLength).toString('hex')), 'echo payload is one we sent');
      }
    }
    assert.equal(server.counters.rtpPackets, 2 * count);
  } finally {
    client.close();
    server.close();
  }
});

test('a PLI about the echo stream reaches the client as a PLI about its own SSRC', async () => {
  // A bare werift client: the ClientPeer interface has no RTCP, and this test needs it.
  const client = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [usePLI()] })] },
  });
  const transceiver = client.addTransceiver('video', { direction: 'sendrecv' });
  let server: EchoPeer | undefined;
  try {
    await client.setLocalDescription(await client.createOffer());
    await withTimeout(new Promise<void>((r) => (client.iceGatheringState === 'complete' ? r() : client.iceGatheringStateChange.subscribe((s) => s === 'complete' && r()))), GATHER_MS, 'gathering');
    server = await weriftEngine.createEchoPeer({ type: 'offer', sdp: client.localDescription!.sdp }, { gatherTimeoutMs: GATHER_MS, log: silentLogger });
    const connected = new Promise<void>((r) => server!.onStateChange((s) => s === 'connected' && r()));
    await client.setRemoteDescription(server.answer);
    await withTimeout(connected, CONNECT_MS, 'server connected');
    await eventually(() => transceiver.dtlsTransport.state === 'connected', CONNECT_MS, 'client DTLS connected');

    const plis: number[] = [];
    transceiver.dtlsTransport.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback instanceof PictureLossIndication) plis.push(packet.feedback.mediaSsrc);
    });
    // The server learns the client's SSRC from the media it echoes.
    await transceiver.sender.sendRtp(syntheticRtp(96, transceiver.sender.ssrc, 1, Buffer.from('keyframe?')));
    await eventually(() => server!.counters.rtpPackets === 1, 3000, 'one packet echoed');
    await transceiver.receiver.sendRtcpPLI(declaredSsrc(server.answer.sdp, 'video'));
    await eventually(() => plis.length > 0, 3000, 'relayed PLI');
    assert.equal(plis[0], transceiver.sender.ssrc);
    assert.equal(server.counters.keyframeRequests, 1);
  } finally {
    server?.close();
    await client.close();
  }
});

test('closing the client ends the server peer with closed, reported once and last', async () => {
  const { client, server, serverStates } = await connectPair({ audio: true, video: false, dataChannel: 'bye' });
  client.close();
  client.close();
  await eventually(() => serverStates.includes('closed'), 3000, 'server closed after the client closed');
  server.close();
  assert.equal(serverStates.filter((s) => s === 'closed').length, 1);
  assert.equal(serverStates.at(-1), 'closed');
});

test('closing the server reports closed once and last, and close() is idempotent', async () => {
  const { client, server, serverStates } = await connectPair({ audio: false, video: true, dataChannel: 'bye' });
  server.close();
  server.close();
  client.close();
  assert.deepEqual(serverStates.filter((s) => s === 'closed'), ['closed']);
  assert.equal(serverStates.at(-1), 'closed');
});

test('an offer whose only codec werift does not know rejects createEchoPeer', async () => {
  const { offer, peer } = await (async () => {
    const peer = weriftEngine.createClientPeer({ audio: false, video: true, gatherTimeoutMs: GATHER_MS, log: silentLogger });
    return { offer: await peer.createOffer(), peer };
  })();
  peer.close();
  const sdp = offer.sdp.replace(/VP8\/90000/g, 'X-UNKNOWN/90000');
  await assert.rejects(weriftEngine.createEchoPeer({ type: 'offer', sdp }, { gatherTimeoutMs: GATHER_MS, log: silentLogger }), /codec/);
});

after(async () => {
  // Every socket and timer the peers opened is gone after a short settle.
  const baseline = [...baselineResources].sort();
  await eventually(() => JSON.stringify([...process.getActiveResourcesInfo()].sort()) === JSON.stringify(baseline), 3000, `resources back to ${baseline.join(',')}`).catch((error) => {
    assert.fail(`${error.message}; now ${process.getActiveResourcesInfo().join(',')}`);
  });
});
