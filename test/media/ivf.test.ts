import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isVp8Keyframe, parseIvf } from '../../src/media/ivf.js';
import { testdataPath } from '../../src/media/package-root.js';

// Matches scripts/make-testdata.sh: 4 s at 30 fps, a keyframe every 30 frames.
const video = readFileSync(testdataPath('video.ivf'));

test('the shipped IVF clip is 320x240 VP8 at 30 fps with 120 frames', () => {
  const { header, frames } = parseIvf(video);
  assert.equal(header.fourcc, 'VP80');
  assert.equal(header.width, 320);
  assert.equal(header.height, 240);
  assert.equal(header.timebaseDenominator / header.timebaseNumerator, 30);
  assert.equal(frames.length, 120);
  assert.equal(header.declaredFrameCount, 120);
  frames.forEach((frame, i) => assert.equal(frame.timestamp, BigInt(i)));
  assert.ok(Math.abs(frames[119]!.seconds - 119 / 30) < 1e-9);
});

test('the shipped IVF clip has a keyframe every second, starting with the first frame', () => {
  const { frames } = parseIvf(video);
  const keyframes = frames.flatMap((frame, i) => (frame.keyframe ? [i] : []));
  assert.deepEqual(keyframes, [0, 30, 60, 90]);
  // RFC 6386 §9.1: a keyframe carries the start code 9d 01 2a after its 3-byte tag.
  for (const i of keyframes) assert.deepEqual([...frames[i]!.data.subarray(3, 6)], [0x9d, 0x01, 0x2a]);
});

test('isVp8Keyframe reads the inverse key-frame bit of the frame tag', () => {
  assert.equal(isVp8Keyframe(Uint8Array.of(0x10, 0x02, 0x00)), true);
  assert.equal(isVp8Keyframe(Uint8Array.of(0x11, 0x02, 0x00)), false);
  assert.equal(isVp8Keyframe(new Uint8Array(0)), false);
});

test('parseIvf rejects a file without the DKIF signature and a truncated frame', () => {
  assert.throws(() => parseIvf(Buffer.alloc(64)), /DKIF/);
  assert.throws(() => parseIvf(video.subarray(0, 32 + 12 + 10)), /truncated/);
});
