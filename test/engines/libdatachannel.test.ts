/**
 * What only the libdatachannel engine does; the promises every engine keeps are in
 * conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { rtpLegs } from '../../src/engines/engine.js';
import { libdatachannelEngine as engine } from '../../src/engines/libdatachannel/index.js';
import { planEchoSections } from '../../src/engines/libdatachannel/echo-plan.js';
import { buildBye } from '../../src/rtp/rtcp.js';
import { STEP_TIMEOUT_MS, connectPair, syntheticRtp, waitForState } from '../helpers/engine-pair.js';
import { withTimeout } from '../helpers/timeout.js';

test("the echo plan keeps the offer's own codecs and drops retransmission and redundancy", () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99', 'c=IN IP4 0.0.0.0', 'a=mid:v', 'a=sendrecv',
    'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 goog-remb', 'a=rtcp-fb:96 transport-cc', 'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
    'a=rtpmap:98 H264/90000', 'a=fmtp:98 profile-level-id=42e01f;packetization-mode=1', 'a=rtpmap:99 red/90000',
    'm=audio 0 UDP/TLS/RTP/SAVPF 0', 'a=mid:rejected', 'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');
  const plans = planEchoSections(sdpTransform.parse(offer));
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

test("the echo plan answers the offer's mid extension with its id (the echo carries the client's mid back), and no other extension", () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv', 'a=rtpmap:96 VP8/90000',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    '',
  ].join('\r\n');
  assert.deepEqual(planEchoSections(sdpTransform.parse(offer))[0]?.codecLines, ['a=rtpmap:96 VP8/90000', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid']);
});

test("the echo plan keeps pion's `a=rtcp-fb:96 nack ` (trailing space) as plain nack", () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendrecv', 'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 goog-remb ', 'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 nack ', 'a=rtcp-fb:96 nack pli',
    '',
  ].join('\r\n');
  assert.deepEqual(planEchoSections(sdpTransform.parse(offer))[0]?.codecLines, ['a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli']);
});

test('the client offers the mid extension and, once answered, has its legs write it (libdatachannel writes none itself)', async (t) => {
  const { client, server, offer } = await connectPair(t, engine, engine, { audio: true, video: true });
  const offered = sdpTransform.parse(offer.sdp).media.map((m) => m.ext?.map((e) => `${e.value} ${e.uri}`));
  assert.deepEqual(offered, [['1 urn:ietf:params:rtp-hdrext:sdes:mid'], ['1 urn:ietf:params:rtp-hdrext:sdes:mid']]);
  assert.match(server.answer.sdp, /a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid/);
  assert.deepEqual(rtpLegs(client).map((leg) => leg.midExtension), [{ id: 1, mid: '0' }, { id: 1, mid: '1' }]);
});

test('the echo plan echoes a bundle-only section (port 0 with a=bundle-only, as Firefox writes under max-bundle)', () => {
  const offer = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 109', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendrecv', 'a=rtpmap:109 opus/48000/2',
    'm=video 0 UDP/TLS/RTP/SAVPF 120', 'c=IN IP4 0.0.0.0', 'a=bundle-only', 'a=mid:1', 'a=sendrecv', 'a=rtpmap:120 VP8/90000',
    'm=video 0 UDP/TLS/RTP/SAVPF 120', 'c=IN IP4 0.0.0.0', 'a=mid:2', 'a=rtpmap:120 VP8/90000',
    '',
  ].join('\r\n');
  assert.deepEqual(planEchoSections(sdpTransform.parse(offer)).map((p) => `${p.kind} ${p.mid}`), ['audio 0', 'video 1'], 'the rejected mid 2 stays out');
});

test('the answer offers back exactly the payload types of the offer', async (t) => {
  const { server } = await connectPair(t, engine, engine, { audio: true, video: true });
  const answer = sdpTransform.parse(server.answer.sdp);
  assert.deepEqual(answer.media.map((m) => m.rtp.map((r) => r.payload)), [[111], [96]]);
});

test("a client's RTCP BYE on every media section releases the echo peer at once, without DTLS close_notify", async (t) => {
  // libdatachannel sends no close_notify for media-only connections; the BYE is all a server gets.
  const { client, server, serverStates } = await connectPair(t, engine, engine, { audio: true, video: true });
  const legs = rtpLegs(client);
  // The echo peer must have seen each section's SSRC first: one packet each.
  for (const leg of legs) {
    const echoed = new Promise<void>((resolve) => leg.onRtp(() => resolve()));
    leg.send(syntheticRtp(leg.payloadType, leg.ssrc, 1));
    await withTimeout(echoed, STEP_TIMEOUT_MS, `${leg.kind} echoed`);
  }
  const closed = waitForState((l) => server.onStateChange(l), 'closed');
  legs[0]!.sendRtcp(buildBye(legs[0]!.ssrc));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!serverStates.includes('closed'), 'one section leaving is not the client leaving');
  legs[1]!.sendRtcp(buildBye(legs[1]!.ssrc));
  await withTimeout(closed, STEP_TIMEOUT_MS, 'echo peer closed on the last BYE');
});
