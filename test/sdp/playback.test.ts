/**
 * The WHEP plan (src/sdp/playback.ts) on real offers' parses: which publisher track each viewer
 * section plays, with which payload types, and the 422 that says why not when nothing matches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { EchoError } from '../../src/errors/echo-error.js';
import { planPlayback, publishedTracks, type PublishedTrack } from '../../src/sdp/playback.js';
import { realOffer } from '../helpers/offer-shapes.js';

const VP8: PublishedTrack = { mid: '1', kind: 'video', codecs: [{ payloadType: 96, name: 'VP8', clockRate: 90_000 }] };
const OPUS: PublishedTrack = { mid: '0', kind: 'audio', codecs: [{ payloadType: 111, name: 'opus', clockRate: 48_000, channels: 2 }] };

/** A viewer's offer: one section per kind, recvonly, with these rtpmap/fmtp lines. */
function viewer(sections: Array<{ kind: 'audio' | 'video'; codecs: Array<[number, string, string?]>; direction?: string }>) {
  const lines = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0'];
  sections.forEach(({ kind, codecs, direction = 'recvonly' }, mid) => {
    lines.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF ${codecs.map(([pt]) => pt).join(' ')}`, `a=mid:${mid}`, `a=${direction}`, 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid');
    for (const [pt, rtpmap, fmtp] of codecs) lines.push(`a=rtpmap:${pt} ${rtpmap}`, ...(fmtp ? [`a=fmtp:${pt} ${fmtp}`] : []));
  });
  return sdpTransform.parse(`${lines.join('\r\n')}\r\n`);
}

test('each viewer section plays the publisher track of its kind, on the viewer\'s own payload type, with its mid extension id', () => {
  const plan = planPlayback(viewer([{ kind: 'audio', codecs: [[109, 'opus/48000/2']] }, { kind: 'video', codecs: [[120, 'VP9/90000'], [100, 'VP8/90000']] }]), [OPUS, VP8]);
  assert.deepEqual(plan.mappings, [
    { kind: 'audio', publisherMid: '0', viewerMid: '0', payloadTypes: [[111, 109]], midExtensionId: 4 },
    { kind: 'video', publisherMid: '1', viewerMid: '1', payloadTypes: [[96, 100]], midExtensionId: 4 },
  ]);
  assert.deepEqual(plan.idle, []);
});

test('a kind the publisher does not send stays idle; a viewer that can receive nothing gets 422 naming both sides\' codecs', () => {
  const plan = planPlayback(viewer([{ kind: 'audio', codecs: [[111, 'opus/48000/2']] }, { kind: 'video', codecs: [[96, 'VP8/90000']] }]), [VP8]);
  assert.deepEqual(plan.idle, [{ mid: '0', kind: 'audio' }]);
  assert.equal(plan.mappings.length, 1);
  assert.throws(
    () => planPlayback(viewer([{ kind: 'video', codecs: [[102, 'H264/90000', 'packetization-mode=1;profile-level-id=42e01f']] }]), [VP8]),
    (err: unknown) => err instanceof EchoError && err.code === 'ECHO_ERR_UNSUPPORTED_OFFER' && /VP8\/90000.*H264\/90000/.test(err.message),
  );
  assert.throws(() => planPlayback(viewer([{ kind: 'audio', codecs: [[111, 'opus/48000/2']] }]), [VP8]), /publisher sends video/);
});

test('H264 plays on the viewer\'s payload type of the same packetization mode and, where it has one, the same profile', () => {
  const h264: PublishedTrack = { mid: '0', kind: 'video', codecs: [{ payloadType: 102, name: 'H264', clockRate: 90_000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' }] };
  const offer = viewer([{ kind: 'video', codecs: [
    [100, 'H264/90000', 'packetization-mode=0;profile-level-id=42e01f'],
    [104, 'H264/90000', 'packetization-mode=1;profile-level-id=4d001f'],
    [106, 'H264/90000', 'packetization-mode=1;profile-level-id=42e01f'],
  ] }]);
  assert.deepEqual(planPlayback(offer, [h264]).mappings[0]!.payloadTypes, [[102, 106]]);
  const noMode1 = viewer([{ kind: 'video', codecs: [[100, 'H264/90000', 'packetization-mode=0;profile-level-id=42e01f']] }]);
  assert.throws(() => planPlayback(noMode1, [h264]), /no codec in common/);
});

test('a viewer section that does not receive plays nothing', () => {
  const plan = planPlayback(viewer([{ kind: 'video', codecs: [[96, 'VP8/90000']], direction: 'inactive' }, { kind: 'video', codecs: [[96, 'VP8/90000']] }]), [VP8]);
  assert.deepEqual(plan.idle, [{ mid: '0', kind: 'video' }]);
  assert.equal(plan.mappings[0]!.viewerMid, '1');
});

test('publishedTracks: what an answer receives on, without rtx', () => {
  const answer = sdpTransform.parse(realOffer('chromium-media').sdp.replace(/a=sendrecv/g, 'a=recvonly'));
  const tracks = publishedTracks(answer);
  assert.deepEqual(tracks.map((t) => t.kind), ['audio', 'video']);
  assert.ok(tracks[1]!.codecs.every((c) => !/rtx|red|ulpfec/i.test(c.name)));
  assert.equal(tracks[1]!.codecs[0]!.name, 'VP8', 'in the section\'s order');
});
