/** RFC 8285 header extensions: a real libwebrtc packet, both forms, and the one-byte block we write. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oneByteExtensionBlock, rtpHeaderExtension, rtpHeaderExtensions, rtpPayloadOf, rtpPayloadOffset } from '../../src/rtp/header-extensions.js';
import { RtpStreamWriter } from '../../src/media/rtp-writer.js';
import { rtpSequenceNumber } from '../../src/rtp/packet.js';

/**
 * The first 40 bytes of a VP8 keyframe packet from libwebrtc's echo peer (it re-encodes), with
 * the mid extension (id 1, "0") in the one-byte form, as our libdatachannel client received it.
 */
const LIBWEBRTC_KEYFRAME = Buffer.from('90606a4a16719d0c1e5432cfbede0001103000009080aed3d04f009d012a4001f0003947000f1c22', 'hex');

test("reads the mid of a libwebrtc packet and finds its payload after the extension", () => {
  assert.deepEqual(rtpHeaderExtensions(LIBWEBRTC_KEYFRAME).map((e) => [e.id, e.value.toString()]), [[1, '0']]);
  assert.equal(rtpHeaderExtension(LIBWEBRTC_KEYFRAME, 1)?.toString(), '0');
  assert.equal(rtpHeaderExtension(LIBWEBRTC_KEYFRAME, 2), undefined);
  assert.equal(rtpPayloadOffset(LIBWEBRTC_KEYFRAME), 20);
  assert.deepEqual(rtpPayloadOf(LIBWEBRTC_KEYFRAME).subarray(0, 4), Buffer.from('9080aed3', 'hex'));
});

test('reads two-byte elements (profile 0x100X) and skips padding', () => {
  const header = Buffer.from('900000010000000000000001', 'hex');
  const block = Buffer.from([0x10, 0x00, 0x00, 0x02, 5, 3, 0x61, 0x62, 0x63, 0, 0, 0]); // id 5 "abc", then padding
  const packet = Buffer.concat([header, block, Buffer.from('payload')]);
  assert.deepEqual(rtpHeaderExtensions(packet).map((e) => [e.id, e.value.toString()]), [[5, 'abc']]);
  assert.equal(rtpPayloadOf(packet).toString(), 'payload');
  assert.deepEqual(rtpHeaderExtensions(Buffer.from('800000010000000000000001', 'hex')), [], 'no X bit, no extensions');
});

test('writes one-byte elements padded to 32 bits, and the writer puts them in every packet', () => {
  const block = oneByteExtensionBlock([{ id: 1, value: Buffer.from('1') }]);
  assert.deepEqual(block, Buffer.from('bede00011031' + '0000', 'hex'));
  assert.throws(() => oneByteExtensionBlock([{ id: 15, value: Buffer.from('x') }]), RangeError);
  assert.throws(() => oneByteExtensionBlock([{ id: 1, value: Buffer.alloc(17) }]), RangeError);
  const writer = new RtpStreamWriter({ payloadType: 96, ssrc: 7, initialSequence: 9, extensions: [{ id: 3, value: Buffer.from('video') }] });
  const { packet } = writer.write(Buffer.from('vp8'), 0, true);
  assert.equal(packet[0], 0x90, 'X bit set');
  assert.equal(rtpSequenceNumber(packet), 9);
  assert.equal(rtpHeaderExtension(packet, 3)?.toString(), 'video');
  assert.equal(rtpPayloadOf(packet).toString(), 'vp8');
  const plain = new RtpStreamWriter({ payloadType: 96, ssrc: 7 }).write(Buffer.from('vp8'), 0, true).packet;
  assert.equal(plain[0], 0x80, 'no extensions: no X bit, as before');
  assert.equal(plain.length, 15);
});
