import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpStreamWriter } from '../../src/media/rtp-writer.js';
import { isRtp, rtpPayloadType, rtpSequenceNumber, rtpSsrc, rtpTimestamp } from '../../src/rtp/packet.js';

test('RtpStreamWriter writes a V=2 header with PT, marker, sequence, timestamp and SSRC', () => {
  const writer = new RtpStreamWriter({ payloadType: 96, ssrc: 0xdeadbeef, initialSequence: 0xfffe, initialTimestamp: 0xffffff00 });
  const a = writer.write(Buffer.from('ab'), 0, false);
  const b = writer.write(Buffer.from('cd'), 0x200, true);
  const c = writer.write(Buffer.from('ef'), 0x300, false);
  assert.ok(isRtp(a.packet));
  assert.equal(a.packet[0], 0x80);
  assert.equal(rtpPayloadType(b.packet), 96);
  assert.equal(b.packet[1]! >> 7, 1);
  assert.equal(a.packet[1]! >> 7, 0);
  assert.deepEqual([a, b, c].map((w) => rtpSequenceNumber(w.packet)), [0xfffe, 0xffff, 0]);
  assert.deepEqual([a, b, c].map((w) => w.sequence), [0xfffe, 0xffff, 0]);
  assert.equal(rtpTimestamp(a.packet), 0xffffff00);
  assert.equal(rtpTimestamp(b.packet), 0x100); // wrapped
  assert.equal(rtpSsrc(c.packet), 0xdeadbeef);
  assert.deepEqual(c.packet.subarray(12), Buffer.from('ef'));
});

test('RtpStreamWriter starts each stream at a random sequence number and timestamp', () => {
  const starts = Array.from({ length: 8 }, () => new RtpStreamWriter({ payloadType: 111, ssrc: 1 }));
  assert.ok(new Set(starts.map((w) => w.nextSequence)).size > 1);
  assert.ok(new Set(starts.map((w) => w.initialTimestamp)).size > 1);
  assert.throws(() => new RtpStreamWriter({ payloadType: 128, ssrc: 1 }), TypeError);
});
