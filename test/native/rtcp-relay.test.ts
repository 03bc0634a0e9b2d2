/**
 * The native plane's RTCP relay, end to end through werift's SRTCP: what a client's receiver
 * asks of the echo stream (PLI, FIR, NACK) goes to the client's own sender, its SR about its
 * stream comes back as the echo's SR, report blocks about the echo come back about its own
 * stream, BYE is reported and relayed, and what an echo does not negotiate is dropped.
 * Run: node --import tsx --test test/native/rtcp-relay.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CLIENT_SSRC, connectPair, ECHO_SSRC, rtcp, rtcpParts, words } from './echo-pair.js';
import { PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket } from './werift-peer.js';

const SKIP = skipWithoutAddon();

const RECEIVER_SSRC = 1; // what a receive-only client reports from
const SR = 200;
const RR = 201;
const SDES = 202;
const BYE = 203;
const RTPFB = 205;
const PSFB = 206;

async function relayPair(t: import('node:test').TestContext) {
  const harness = PlaneHarness.open(t);
  const pair = await connectPair(t, harness, harness.socket());
  // The section learns its client source from RTP.
  pair.peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: 1000, payload: randomBytes(100) }));
  await pair.peer.until(() => pair.peer.rtp.length === 1, 5_000, 'first echo');
  /** Sends one compound packet and returns the next RTCP packet that comes back. */
  const relay = async (compound: Buffer) => {
    const before = pair.peer.rtcp.length;
    pair.peer.sendRtcp(compound);
    await pair.peer.until(() => pair.peer.rtcp.length > before, 5_000, 'relayed RTCP');
    return pair.peer.rtcp[before]!;
  };
  return { harness, ...pair, relay };
}

const pli = (sender: number, media: number) => rtcp(PSFB, 1, words(sender, media));

test('PLI and FIR about the echo go to the client sender, from the echo SSRC', { skip: SKIP }, async (t) => {
  const { harness, session, relay } = await relayPair(t);
  assert.deepEqual(rtcpParts(await relay(pli(RECEIVER_SSRC, ECHO_SSRC))), [{ type: PSFB, count: 1, bytes: pli(ECHO_SSRC, CLIENT_SSRC) }]);

  const fir = rtcp(PSFB, 4, Buffer.concat([words(RECEIVER_SSRC, 0, ECHO_SSRC), Buffer.from([7, 0, 0, 0])]));
  const firBack = rtcp(PSFB, 4, Buffer.concat([words(ECHO_SSRC, 0, CLIENT_SSRC), Buffer.from([7, 0, 0, 0])]));
  assert.deepEqual(rtcpParts(await relay(fir)), [{ type: PSFB, count: 4, bytes: firBack }]);
  assert.equal(harness.plane.stats(session)?.keyframeRequests, 2);
});

test('a generic NACK about the echo asks the client sender for the same sequence numbers', { skip: SKIP }, async (t) => {
  const { harness, session, relay } = await relayPair(t);
  const nack = rtcp(RTPFB, 1, Buffer.concat([words(RECEIVER_SSRC, ECHO_SSRC), Buffer.from([0x03, 0xe8, 0x00, 0x05])]));
  const expected = rtcp(RTPFB, 1, Buffer.concat([words(ECHO_SSRC, CLIENT_SSRC), Buffer.from([0x03, 0xe8, 0x00, 0x05])]));
  assert.deepEqual(rtcpParts(await relay(nack)), [{ type: RTPFB, count: 1, bytes: expected }]);
  assert.equal(harness.plane.stats(session)?.nacksRelayed, 1);
});

test("the client's SR about its stream comes back as the echo's SR, report blocks turned around", { skip: SKIP }, async (t) => {
  const { relay } = await relayPair(t);
  const senderInfo = words(0xe1234567, 0x89abcdef, 160_000, 42, 4200);
  const aboutEcho = words(ECHO_SSRC, 0x01000002, 1010, 3, 0x12345678, 65536);
  const aboutStranger = words(0x99999999, 0, 0, 0, 0, 0);
  const sr = rtcp(SR, 2, Buffer.concat([words(CLIENT_SSRC), senderInfo, aboutEcho, aboutStranger]));
  const back = rtcpParts(await relay(sr));
  const aboutClient = words(CLIENT_SSRC, 0x01000002, 1010, 3, 0x12345678, 65536);
  assert.deepEqual(back, [{ type: SR, count: 1, bytes: rtcp(SR, 1, Buffer.concat([words(ECHO_SSRC), senderInfo, aboutClient])) }]);

  // An RR from a receive-only SSRC: from the echo now, about the client's stream.
  const rr = rtcp(RR, 2, Buffer.concat([words(RECEIVER_SSRC), aboutStranger, aboutEcho]));
  assert.deepEqual(rtcpParts(await relay(rr)), [{ type: RR, count: 1, bytes: rtcp(RR, 1, Buffer.concat([words(ECHO_SSRC), aboutClient])) }]);
});

test('REMB, TWCC, SDES and reports about nobody are dropped, the rest of a compound packet relayed', { skip: SKIP }, async (t) => {
  const { relay, peer } = await relayPair(t);
  const remb = rtcp(PSFB, 15, Buffer.concat([words(RECEIVER_SSRC, 0), Buffer.from('REMB'), words(0x01000000, ECHO_SSRC)]));
  const twcc = rtcp(RTPFB, 15, Buffer.concat([words(RECEIVER_SSRC, ECHO_SSRC), words(0, 0)]));
  const sdes = rtcp(SDES, 1, Buffer.concat([words(RECEIVER_SSRC), Buffer.from([1, 2, 0x61, 0x62, 0, 0, 0, 0])]));
  const emptyRr = rtcp(RR, 0, words(RECEIVER_SSRC));
  // Nothing of the first comes back: the PLI sent after it is the next RTCP to arrive.
  const before = peer.rtcp.length;
  peer.sendRtcp(Buffer.concat([emptyRr, sdes, remb, twcc]));
  assert.deepEqual(rtcpParts(await relay(Buffer.concat([emptyRr, pli(RECEIVER_SSRC, ECHO_SSRC), sdes]))), [
    { type: PSFB, count: 1, bytes: pli(ECHO_SSRC, CLIENT_SSRC) },
  ]);
  assert.equal(peer.rtcp.length, before + 1);
  // A PLI about an SSRC that is not an echo stream goes nowhere either.
  peer.sendRtcp(pli(RECEIVER_SSRC, 0x55555555));
  assert.deepEqual(rtcpParts(await relay(pli(RECEIVER_SSRC, ECHO_SSRC)))[0]?.bytes, pli(ECHO_SSRC, CLIENT_SSRC));
  assert.equal(peer.rtcp.length, before + 2);
});

test("the client's BYE is reported with its mid and relayed as the echo's BYE", { skip: SKIP }, async (t) => {
  const { harness, session, relay } = await relayPair(t);
  const bye = rtcp(BYE, 1, Buffer.concat([words(CLIENT_SSRC), Buffer.from([4, 0x64, 0x6f, 0x6e, 0x65, 0, 0, 0])]));
  assert.deepEqual(rtcpParts(await relay(bye)), [{ type: BYE, count: 1, bytes: rtcp(BYE, 1, words(ECHO_SSRC)) }]);
  const event = await harness.event((e) => e.type === 'rtcp-bye' && e.session === session, 5_000, 'rtcp-bye');
  assert.deepEqual(event, { type: 'rtcp-bye', session, mid: '0', ssrc: CLIENT_SSRC });
  assert.equal(harness.plane.stats(session)?.rtcpIn, 1);
});
