/**
 * What a viewer gets of a publisher's packet (src/rtp/forward.ts, src/engines/kit/fan-out.ts):
 * the viewer's payload type, SSRC and mid, the publisher's extensions gone, everything else as
 * sent; a payload type the viewer did not negotiate is not forwarded; keyframe requests of
 * viewers close together become one PLI, and the next one waits out the interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpFanOut } from '../../src/engines/kit/fan-out.js';
import { KEYFRAME_REQUEST_INTERVAL_MS } from '../../src/engines/kit/keyframe-requests.js';
import { oneByteExtensionBlock, rtpHeaderExtension, rtpHeaderExtensions, rtpPayloadOf } from '../../src/rtp/header-extensions.js';
import { forwardedPacket } from '../../src/rtp/forward.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc, rtpTimestamp } from '../../src/rtp/packet.js';
import { silentLogger } from '../../src/log.js';
import { eventually } from '../helpers/timeout.js';

/** A publisher's packet: marker set, one CSRC, its mid (id 3) and audio level (id 1), padding. */
function publisherPacket(payloadType: number): Buffer {
  const header = Buffer.alloc(16);
  header[0] = 0x80 | 0x10 | 0x20 | 1; // V=2, X, P, CC=1
  header[1] = 0x80 | payloadType;
  header.writeUInt16BE(4242, 2);
  header.writeUInt32BE(123_456, 4);
  header.writeUInt32BE(0xdeadbeef, 8);
  header.writeUInt32BE(77, 12);
  const extensions = oneByteExtensionBlock([{ id: 3, value: Buffer.from('0') }, { id: 1, value: Buffer.from([0x90]) }]);
  return Buffer.concat([header, extensions, Buffer.from('payload!'), Buffer.from([0, 0, 3])]);
}

test('forwardedPacket: the viewer\'s payload type, SSRC and mid; sequence, timestamp, marker, CSRC, payload and padding kept', () => {
  const original = publisherPacket(96);
  const block = oneByteExtensionBlock([{ id: 9, value: Buffer.from('v1') }]);
  const out = forwardedPacket(original, 100, 0x01020304, block)!;
  assert.equal(rtpPayloadType(out), 100);
  assert.equal(out[1]! & 0x80, 0x80, 'marker kept');
  assert.equal(rtpSsrc(out), 0x01020304);
  assert.equal(rtpSequenceNumber(out), 4242);
  assert.equal(rtpTimestamp(out), 123_456);
  assert.equal(out.readUInt32BE(12), 77, 'CSRC kept');
  assert.deepEqual(rtpHeaderExtensions(out).map((e) => [e.id, e.value.toString()]), [[9, 'v1']], 'only the viewer\'s mid');
  assert.deepEqual(rtpPayloadOf(out), rtpPayloadOf(original));
  assert.equal(out[out.length - 1], 3, 'padding kept');
  assert.equal(rtpHeaderExtension(original, 3)?.toString(), '0', 'the publisher\'s packet is not changed');
  const bare = forwardedPacket(original, 100, 5, undefined)!;
  assert.equal(bare[0]! & 0x10, 0, 'no extension: X cleared');
  assert.deepEqual(rtpPayloadOf(bare), rtpPayloadOf(original));
  assert.equal(forwardedPacket(original.subarray(0, 14), 100, 5, undefined), undefined, 'a header that does not fit');
});

test('RtpFanOut: each viewer its own copy on its payload types; other payload types not forwarded; a removed viewer gets nothing', () => {
  const requests: string[] = [];
  const fanOut = new RtpFanOut([{ mid: '1', kind: 'video', codecs: [{ payloadType: 96, name: 'VP8', clockRate: 90_000 }] }], { requestKeyframe: (mid) => (requests.push(mid), true), nack: () => {} }, silentLogger);
  const got: Record<string, Buffer[]> = { a: [], b: [] };
  const viewer = (name: string) => ({ sendRtp: (mid: string, packet: Buffer) => (got[name]!.push(packet), mid === 'v') });
  const a = fanOut.addViewer(viewer('a'), [{ kind: 'video', publisherMid: '1', viewerMid: 'v', payloadTypes: [[96, 100]], ssrc: 1, midExtensionId: 2 }]);
  fanOut.addViewer(viewer('b'), [{ kind: 'video', publisherMid: '1', viewerMid: 'v', payloadTypes: [[96, 120]], ssrc: 2 }]);
  assert.equal(fanOut.viewers, 2);
  fanOut.forward('1', publisherPacket(96));
  fanOut.forward('1', publisherPacket(97)); // not negotiated with anyone
  fanOut.forward('0', publisherPacket(96)); // a section nobody watches
  assert.deepEqual([got.a!.length, got.b!.length], [1, 1]);
  assert.deepEqual([rtpPayloadType(got.a![0]!), rtpSsrc(got.a![0]!), rtpHeaderExtension(got.a![0]!, 2)?.toString()], [100, 1, 'v']);
  assert.deepEqual([rtpPayloadType(got.b![0]!), rtpSsrc(got.b![0]!), rtpHeaderExtensions(got.b![0]!).length], [120, 2, 0]);
  assert.equal(fanOut.forwarded, 2);
  a.remove();
  fanOut.forward('1', publisherPacket(96));
  assert.deepEqual([got.a!.length, got.b!.length], [1, 2]);
  fanOut.close();
  assert.equal(fanOut.viewers, 0);
});

test('keyframe requests close together become one PLI; one more within the interval goes out when it is over', async () => {
  const sent: number[] = [];
  const fanOut = new RtpFanOut([{ mid: '1', kind: 'video', codecs: [] }, { mid: '0', kind: 'audio', codecs: [] }], { requestKeyframe: () => (sent.push(performance.now()), true), nack: () => {} }, silentLogger);
  const link = fanOut.addViewer({ sendRtp: () => true }, [
    { kind: 'video', publisherMid: '1', viewerMid: 'v', payloadTypes: [], ssrc: 1 },
    { kind: 'audio', publisherMid: '0', viewerMid: 'a', payloadTypes: [], ssrc: 2 },
  ]);
  link.requestKeyframe('a');
  assert.equal(sent.length, 0, 'audio has no keyframes');
  const start = performance.now();
  link.requestKeyframe('v');
  link.requestKeyframe('v');
  link.requestKeyframe('v');
  assert.equal(sent.length, 1, 'the first at once');
  await eventually(() => sent.length === 2, 2_000, 'the deferred one');
  assert.ok(sent[1]! - start >= KEYFRAME_REQUEST_INTERVAL_MS - 5, `after the interval (${Math.round(sent[1]! - start)} ms)`);
  await new Promise((resolve) => setTimeout(resolve, KEYFRAME_REQUEST_INTERVAL_MS + 100));
  assert.equal(sent.length, 2, 'three requests, two PLIs');
  fanOut.close();
});
