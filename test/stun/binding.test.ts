import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBindingRequest, parseBindingAnswer } from '../../src/stun/binding.js';

/** RFC 5769 §2.2, "Sample IPv4 Response" (short-term credentials). */
const RFC5769_RESPONSE = Buffer.from(
  '0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220' +
    '002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7' +
    '80280004c07d4c96',
  'hex',
);
const RFC5769_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

test('the RFC 5769 sample response verifies with its password, and with no other', () => {
  assert.deepEqual(parseBindingAnswer(RFC5769_RESPONSE, RFC5769_PASSWORD), { transactionId: 'b7e7a701bc34d686fa87dfae', success: true });
  assert.equal(parseBindingAnswer(RFC5769_RESPONSE, 'another password'), undefined);
  assert.equal(parseBindingAnswer(RFC5769_RESPONSE.subarray(0, 40), RFC5769_PASSWORD), undefined);
  const tampered = Buffer.from(RFC5769_RESPONSE);
  tampered.writeUInt8(tampered.readUInt8(30) ^ 1, 30); // inside XOR-MAPPED-ADDRESS
  assert.equal(parseBindingAnswer(tampered, RFC5769_PASSWORD), undefined);
});

test('a binding request carries USERNAME, PRIORITY, ICE-CONTROLLED, MESSAGE-INTEGRITY and FINGERPRINT', () => {
  const tieBreaker = Buffer.from('0102030405060708', 'hex');
  const { packet, transactionId } = encodeBindingRequest({ username: 'abcd:wxyz', password: 'secret-password-of-22c', priority: 255, tieBreaker });
  assert.equal(packet.readUInt16BE(0), 0x0001);
  assert.equal(packet.readUInt16BE(2), packet.length - 20);
  assert.equal(packet.readUInt32BE(4), 0x2112a442);
  assert.equal(packet.subarray(8, 20).toString('hex'), transactionId);
  const attributes = new Map<number, { at: number; value: Buffer }>();
  for (let at = 20; at < packet.length; ) {
    const length = packet.readUInt16BE(at + 2);
    attributes.set(packet.readUInt16BE(at), { at, value: packet.subarray(at + 4, at + 4 + length) });
    at += 4 + Math.ceil(length / 4) * 4;
  }
  assert.equal(attributes.get(0x0006)?.value.toString(), 'abcd:wxyz');
  assert.equal(attributes.get(0x0024)?.value.readUInt32BE(0), 255);
  assert.deepEqual(attributes.get(0x8029)?.value, tieBreaker);
  // MESSAGE-INTEGRITY: HMAC-SHA1 over what precedes it, the length counting up to its end.
  const integrity = attributes.get(0x0008)!;
  const covered = Buffer.from(packet.subarray(0, integrity.at));
  covered.writeUInt16BE(integrity.at + 24 - 20, 2);
  assert.deepEqual(integrity.value, createHmac('sha1', 'secret-password-of-22c').update(covered).digest());
  // FINGERPRINT, last: CRC-32 of everything before it, XOR 0x5354554e.
  const fingerprint = attributes.get(0x8028)!;
  assert.equal(fingerprint.at, packet.length - 8);
  assert.equal(fingerprint.value.readUInt32BE(0), (crc32(packet.subarray(0, fingerprint.at)) ^ 0x5354554e) >>> 0);
  // A request is not an answer.
  assert.equal(parseBindingAnswer(packet, 'secret-password-of-22c'), undefined);
});
