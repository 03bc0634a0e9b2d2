import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseIvf } from '../../src/media/ivf.js';
import { testdataPath } from '../../src/media/package-root.js';
import { parseVp8Descriptor } from '../../src/media/vp8-payload-descriptor.js';
import { Vp8Packetizer } from '../../src/media/vp8-packetizer.js';

const { frames } = parseIvf(readFileSync(testdataPath('video.ivf')));
const keyframe = frames[0]!;

test('a large keyframe splits into ≤1200-byte payloads, S on the first, marker on the last, and reassembles', () => {
  assert.ok(keyframe.keyframe && keyframe.data.length > 3 * 1200, `keyframe is ${keyframe.data.length} bytes`);
  const payloads = new Vp8Packetizer({ initialPictureId: 1234 }).packetize(keyframe.data);
  assert.equal(payloads.length, Math.ceil(keyframe.data.length / 1196));

  const chunks: Buffer[] = [];
  payloads.forEach(({ payload, marker }, i) => {
    assert.ok(payload.length <= 1200, `payload ${i} is ${payload.length} bytes`);
    const descriptor = parseVp8Descriptor(payload);
    assert.equal(descriptor.startOfPartition, i === 0, `S bit on payload ${i}`);
    assert.equal(descriptor.partitionIndex, 0);
    assert.equal(descriptor.pictureId, 1234);
    assert.equal(descriptor.pictureIdBits, 15);
    assert.equal(marker, i === payloads.length - 1, `marker on payload ${i}`);
    chunks.push(payload.subarray(descriptor.length));
  });
  assert.deepEqual(Buffer.concat(chunks), keyframe.data);
  // Even split: no runt packet at the end.
  const sizes = payloads.map((p) => p.payload.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
});

test('a small interframe is one payload with both S and marker', () => {
  const small = frames.find((frame) => !frame.keyframe && frame.data.length < 1000)!;
  const [only, ...rest] = new Vp8Packetizer().packetize(small.data);
  assert.equal(rest.length, 0);
  assert.equal(only!.marker, true);
  const descriptor = parseVp8Descriptor(only!.payload);
  assert.equal(descriptor.startOfPartition, true);
  assert.deepEqual(only!.payload.subarray(descriptor.length), small.data);
});

test('the PictureID grows by one per frame and wraps at 15 bits', () => {
  const packetizer = new Vp8Packetizer({ initialPictureId: 0x7ffe });
  const ids = frames.slice(0, 3).map((frame) => {
    const payloads = packetizer.packetize(frame.data);
    return new Set(payloads.map((p) => parseVp8Descriptor(p.payload).pictureId));
  });
  assert.deepEqual(ids, [new Set([0x7ffe]), new Set([0x7fff]), new Set([0])]);
});

test('every frame of the clip round-trips through packetize and reassembly, with any payload size', () => {
  for (const maxPayloadSize of [1200, 500, 5]) {
    const packetizer = new Vp8Packetizer({ maxPayloadSize });
    for (const frame of frames) {
      const payloads = packetizer.packetize(frame.data);
      const data = Buffer.concat(payloads.map((p) => p.payload.subarray(parseVp8Descriptor(p.payload).length)));
      assert.ok(data.equals(frame.data));
      assert.ok(payloads.every((p) => p.payload.length <= maxPayloadSize));
    }
  }
  assert.throws(() => new Vp8Packetizer({ maxPayloadSize: 4 }), TypeError);
});

test('parseVp8Descriptor reads the optional fields of RFC 7741 §4.2', () => {
  // X, N, S, PID=2 | I, L, T, K | 7-bit PictureID 0x15 | TL0PICIDX 9 | TID 2, Y, KEYIDX 5
  const d = parseVp8Descriptor(Uint8Array.of(0xb2, 0xf0, 0x15, 0x09, 0xa5, 0xff));
  assert.deepEqual(d, {
    nonReference: true, startOfPartition: true, partitionIndex: 2,
    pictureId: 0x15, pictureIdBits: 7, tl0PicIdx: 9, temporalLayer: 2, layerSync: true, keyIndex: 5, length: 5,
  });
  assert.equal(parseVp8Descriptor(Uint8Array.of(0x10, 0x9d)).length, 1);
  assert.throws(() => parseVp8Descriptor(Uint8Array.of(0x80, 0x80, 0x80)), /truncated/);
});
