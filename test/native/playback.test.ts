/**
 * WHEP playback in the native plane, end to end through werift's DTLS and SRTP: a publisher
 * session (a section taken, not echoed) played to viewer sessions (`addViewer`): each copy on
 * the viewer's payload type, SSRC and mid, the payload and sequence number unchanged, a new
 * publisher source continuing the viewer's sequence; viewers' PLI and NACK up as
 * `rtcp-feedback`, `requestKeyframe` and `nackForViewer` down to the publisher's sender; and
 * a viewer's BYE as it closes; sessions of either side closed under traffic (what the ASan run, asan.test.ts, watches).
 * Run: node --import tsx --test test/native/playback.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { PlaneEvent } from '../../src/engines/native/plane.js';
import { rtpHeaderExtension } from '../../src/rtp/header-extensions.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc } from '../../src/rtp/packet.js';
import { rtpPayload } from '../helpers/engine-pair.js';
import { CLIENT_SSRC, connectPair, rtcp, rtcpParts, words, type EchoPair } from './echo-pair.js';
import { PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket } from './werift-peer.js';

const SKIP = skipWithoutAddon();

const PUBLISHER_SECTION_SSRC = 0x0e0e0e0e; // what feedback to the publisher comes from
const VIEWER_SSRC = 0x7e7e0001;
const VIEWER_MID_ID = 3;
const BYE = 203;
const RTPFB = 205;
const PSFB = 206;

async function publisherAndViewer(t: TestContext, harness: PlaneHarness, viewerSsrc = VIEWER_SSRC): Promise<{ publisher: EchoPair; viewer: EchoPair }> {
  const publisher = await connectPair(t, harness, harness.socket(), {
    sections: [{ mid: '0', echoSsrc: PUBLISHER_SECTION_SSRC, payloadTypes: [96], offeredSsrcs: [CLIENT_SSRC], midExtensionId: 0, echo: false }],
  });
  const viewer = await connectPair(t, harness, harness.socket(), {
    sections: [{ mid: 'v', echoSsrc: viewerSsrc, payloadTypes: [], offeredSsrcs: [], midExtensionId: VIEWER_MID_ID, echo: false }],
  });
  return { publisher, viewer };
}

function link(harness: PlaneHarness, publisher: EchoPair, viewer: EchoPair, ssrc = VIEWER_SSRC): void {
  const added = harness.plane.addViewer(publisher.session, viewer.session, [
    { publisherMid: '0', viewerMid: 'v', payloadTypes: [[96, 100]], ssrc, midExtensionId: VIEWER_MID_ID },
  ]);
  assert.equal(added, true);
}

/** Sends from the publisher until `count` more packets have reached the viewer. */
async function play(pair: { publisher: EchoPair; viewer: EchoPair }, ssrc: number, firstSeq: number, count: number): Promise<Buffer[]> {
  const before = pair.viewer.peer.rtp.length;
  const sent: Buffer[] = [];
  let seq = firstSeq;
  // The link is a command to the plane's thread: packets before it may not be played.
  await pair.viewer.peer.until(
    () => {
      if (pair.viewer.peer.rtp.length - before < count) {
        const packet = rtpPacket({ ssrc, seq: seq++, payloadType: 96, payload: randomBytes(60), mid: { id: 1, value: '0' } });
        sent.push(packet);
        pair.publisher.peer.sendRtp(packet);
      }
      return pair.viewer.peer.rtp.length - before >= count;
    },
    10_000,
    `${count} packets at the viewer`,
  );
  return pair.viewer.peer.rtp.slice(before);
}

test('a publisher section is played to a viewer: its payload type, SSRC and mid, payload and sequence number unchanged; nothing echoed', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const pair = await publisherAndViewer(t, harness);
  link(harness, pair.publisher, pair.viewer);
  const got = await play(pair, CLIENT_SSRC, 40_000, 20);
  for (const packet of got) {
    assert.equal(rtpSsrc(packet), VIEWER_SSRC);
    assert.equal(rtpPayloadType(packet), 100);
    assert.equal(rtpHeaderExtension(packet, VIEWER_MID_ID)?.toString(), 'v', 'only the viewer\'s mid, at its id');
    assert.equal(rtpHeaderExtension(packet, 1), undefined, 'the publisher\'s extensions are not carried');
    assert.ok(rtpSequenceNumber(packet) >= 40_000);
  }
  assert.equal(pair.viewer.peer.undecryptable, 0);
  assert.equal(pair.publisher.peer.rtp.length, 0, 'a publisher section echoes nothing');
  assert.ok((harness.plane.stats(pair.viewer.session)?.rtpEchoed ?? 0) >= 20, 'the viewer session counts what it played');
});

test('the payload arrives byte for byte; another publisher source continues the viewer\'s sequence, never repeating an index', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const pair = await publisherAndViewer(t, harness);
  link(harness, pair.publisher, pair.viewer);
  const first = await play(pair, CLIENT_SSRC, 5_000, 10);
  const payload = Buffer.from('exactly these bytes');
  const seq = rtpSequenceNumber(first.at(-1)!) + 100;
  const before = pair.viewer.peer.rtp.length;
  pair.publisher.peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq, payloadType: 96, payload }));
  await pair.viewer.peer.until(() => pair.viewer.peer.rtp.length > before, 5_000, 'the packet played');
  const played = pair.viewer.peer.rtp[before]!;
  assert.deepEqual(rtpPayload(played), payload);
  assert.equal(rtpSequenceNumber(played), seq);
  // A new source starting lower: the viewer's stream goes on above what it had.
  const second = await play(pair, 0x5eed, 10, 5);
  assert.ok(second.every((p) => rtpSequenceNumber(p) > seq), `continued above ${seq}: ${second.map(rtpSequenceNumber)}`);
  assert.equal(pair.viewer.peer.undecryptable, 0, 'every copy decrypts at the viewer');
});

test('a viewer\'s PLI, FIR and NACK come up as rtcp-feedback, its BYE as rtcp-bye; requestKeyframe and nackForViewer reach the publisher\'s sender', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const pair = await publisherAndViewer(t, harness);
  link(harness, pair.publisher, pair.viewer);
  await play(pair, CLIENT_SSRC, 1_000, 5);
  const feedback = (match: (e: Extract<PlaneEvent, { type: 'rtcp-feedback' }>) => boolean) =>
    harness.event((e): e is Extract<PlaneEvent, { type: 'rtcp-feedback' }> => e.type === 'rtcp-feedback' && e.session === pair.viewer.session && match(e), 5_000, 'rtcp-feedback');
  pair.viewer.peer.sendRtcp(rtcp(PSFB, 1, words(1, VIEWER_SSRC)));
  assert.deepEqual(await feedback((e) => e.pli), { type: 'rtcp-feedback', session: pair.viewer.session, mid: 'v', pli: true, nack: [] });
  pair.viewer.peer.sendRtcp(rtcp(PSFB, 4, Buffer.concat([words(1, 0, VIEWER_SSRC), Buffer.from([9, 0, 0, 0])])));
  await harness.event((e) => e.type === 'rtcp-feedback' && e.pli && harness.events.filter((x) => x.type === 'rtcp-feedback').length === 2, 5_000, 'FIR');
  // PID 1002 and the bitmask 0b101: 1003 and 1005.
  pair.viewer.peer.sendRtcp(rtcp(RTPFB, 1, Buffer.concat([words(1, VIEWER_SSRC), Buffer.from([0x03, 0xea, 0x00, 0x05])])));
  assert.deepEqual((await feedback((e) => e.nack.length > 0)).nack, [1002, 1003, 1005]);
  // Feedback about another SSRC is nobody's.
  pair.viewer.peer.sendRtcp(rtcp(PSFB, 1, words(1, 0x999)));

  const rtcpAtPublisher = async (send: () => boolean) => {
    const before = pair.publisher.peer.rtcp.length;
    assert.equal(send(), true);
    await pair.publisher.peer.until(() => pair.publisher.peer.rtcp.length > before, 5_000, 'feedback at the publisher');
    return rtcpParts(pair.publisher.peer.rtcp[before]!);
  };
  assert.deepEqual(await rtcpAtPublisher(() => harness.plane.requestKeyframe(pair.publisher.session, '0')), [
    { type: PSFB, count: 1, bytes: rtcp(PSFB, 1, words(PUBLISHER_SECTION_SSRC, CLIENT_SSRC)) },
  ]);
  assert.deepEqual(await rtcpAtPublisher(() => harness.plane.nackForViewer(pair.viewer.session, 'v', [1002, 1003, 1005, 1030])), [
    { type: RTPFB, count: 1, bytes: rtcp(RTPFB, 1, Buffer.concat([words(PUBLISHER_SECTION_SSRC, CLIENT_SSRC), Buffer.from([0x03, 0xea, 0x00, 0x05, 0x04, 0x06, 0x00, 0x00])])) },
  ]);
  assert.equal(harness.events.filter((e) => e.type === 'rtcp-feedback').length, 3, 'the PLI about another SSRC came to nothing');
  assert.equal(harness.plane.requestKeyframe(pair.viewer.session + 1000, '0'), false, 'an unknown session');
  // The viewer's own source leaving: reported for the section it is played on, relayed nowhere.
  pair.viewer.peer.sendRtcp(rtcp(BYE, 1, words(0x4242)));
  assert.deepEqual(await harness.event((e) => e.type === 'rtcp-bye' && e.session === pair.viewer.session, 5_000, 'the viewer\'s BYE'), { type: 'rtcp-bye', session: pair.viewer.session, mid: 'v', ssrc: 0x4242 });
  assert.equal(harness.plane.nackForViewer(pair.publisher.session, 'v', [1]), true, 'queued; the plane finds no link and sends nothing');
});

test('viewers and publishers closed under traffic: the others play on, the plane serves on', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const pair = await publisherAndViewer(t, harness);
  const second = await connectPair(t, harness, harness.socket(), {
    sections: [{ mid: 'v', echoSsrc: VIEWER_SSRC + 1, payloadTypes: [], offeredSsrcs: [], midExtensionId: VIEWER_MID_ID, echo: false }],
  });
  link(harness, pair.publisher, pair.viewer);
  link(harness, pair.publisher, second, VIEWER_SSRC + 1);
  let seq = 0;
  const flood = setInterval(() => {
    for (let i = 0; i < 20; i++) pair.publisher.peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: seq++, payloadType: 96, payload: randomBytes(200) }));
  }, 2);
  t.after(() => clearInterval(flood));
  await second.peer.until(() => second.peer.rtp.length > 50, 10_000, 'the second viewer plays');
  harness.plane.closeSession(pair.viewer.session);
  // A viewer that closes says BYE for what it played, before its close_notify.
  await pair.viewer.peer.until(() => pair.viewer.peer.rtcp.some((r) => rtcpParts(r).some((p) => p.type === BYE && p.bytes.readUInt32BE(4) === VIEWER_SSRC)), 5_000, 'the viewer\'s BYE');
  const at = second.peer.rtp.length;
  await second.peer.until(() => second.peer.rtp.length > at + 50, 10_000, 'the second viewer plays on after the first closed');
  assert.equal(harness.plane.removeViewer(pair.viewer.session), false, 'a closed session');
  // The publisher goes while it floods: its viewer gets nothing more, and is still a session.
  harness.plane.closeSession(pair.publisher.session);
  await new Promise((resolve) => setTimeout(resolve, 200));
  clearInterval(flood);
  assert.ok(harness.plane.stats(second.session), 'the viewer session is still there');
  // Linking to a closed publisher is refused; the plane still connects and plays new sessions.
  assert.equal(typeof harness.plane.addViewer(pair.publisher.session, second.session, []), 'string');
  const fresh = await publisherAndViewer(t, harness, VIEWER_SSRC + 2);
  link(harness, fresh.publisher, fresh.viewer, VIEWER_SSRC + 2);
  await play(fresh, CLIENT_SSRC, 1, 5);
});
