import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  errorCode,
  errorCodeAttribute,
  iceRole,
  iceRoleAttribute,
  priority,
  priorityAttribute,
  useCandidate,
  useCandidateAttribute,
  username,
  usernameAttribute,
  xorMappedAddress,
  xorMappedAddressAttribute,
} from '../../src/stun/attributes.js';
import { ATTR, encodeStun, parseStun, verifyIntegrity } from '../../src/stun/message.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
/** RFC 5769 §2: the password of every sample. */
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

/** RFC 5769 §2.1, "Sample Request" (its padding bytes are spaces: a parser must not look at them). */
const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);

/** RFC 5769 §2.2, "Sample IPv4 Response". */
const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);

/** RFC 5769 §2.3, "Sample IPv6 Response". */
const SAMPLE_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);

test('RFC 5769 sample request: class, method, ICE attributes, integrity and fingerprint', () => {
  const message = parseStun(SAMPLE_REQUEST);
  assert.ok(message);
  assert.equal(message.class, 'request');
  assert.equal(message.method, 1);
  assert.equal(message.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
  assert.equal(username(message), 'evtj:h6vY');
  assert.equal(priority(message), 0x6e0001ff);
  assert.deepEqual(iceRole(message), { role: 'controlled', tieBreaker: 0x932ff9b151263b36n });
  assert.equal(useCandidate(message), false);
  assert.equal(message.fingerprint, true);
  assert.equal(verifyIntegrity(message, PASSWORD), true);
  assert.equal(verifyIntegrity(message, 'another password'), false);
});

test('RFC 5769 sample responses: XOR-MAPPED-ADDRESS over IPv4 and IPv6', () => {
  const v4 = parseStun(SAMPLE_IPV4_RESPONSE);
  assert.equal(v4?.class, 'success');
  assert.deepEqual(xorMappedAddress(v4!), { address: '192.0.2.1', port: 32853 });
  assert.equal(verifyIntegrity(v4!, PASSWORD), true);
  const v6 = parseStun(SAMPLE_IPV6_RESPONSE);
  assert.deepEqual(xorMappedAddress(v6!), { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
  assert.equal(verifyIntegrity(v6!, PASSWORD), true);
  assert.equal(v6!.fingerprint, true);
});

test('what we encode parses back: every ICE attribute, each class, both address families', () => {
  const transactionId = randomBytes(12);
  for (const cls of ['request', 'indication', 'success', 'error'] as const) {
    for (const mapped of [{ address: '127.0.0.1', port: 5000 }, { address: '::1', port: 65535 }, { address: 'fd00::2', port: 1 }]) {
      const bytes = encodeStun({
        class: cls,
        transactionId,
        attributes: [
          usernameAttribute('ab:cdefg'),
          priorityAttribute(0xfffffffe),
          useCandidateAttribute(),
          iceRoleAttribute('controlling', 0xfedcba9876543210n),
          errorCodeAttribute(487, 'Role Conflict'),
          xorMappedAddressAttribute(mapped, transactionId),
        ],
        integrityKey: 'pwd',
        fingerprint: true,
      });
      const message = parseStun(bytes);
      assert.ok(message, cls);
      assert.equal(message.class, cls);
      assert.equal(message.method, 1);
      assert.equal(username(message), 'ab:cdefg');
      assert.equal(priority(message), 0xfffffffe);
      assert.equal(useCandidate(message), true);
      assert.deepEqual(iceRole(message), { role: 'controlling', tieBreaker: 0xfedcba9876543210n });
      assert.deepEqual(errorCode(message), { code: 487, reason: 'Role Conflict' });
      assert.deepEqual(xorMappedAddress(message), mapped);
      assert.equal(verifyIntegrity(message, 'pwd'), true);
      assert.equal(message.fingerprint, true);
    }
  }
});

test('attributes after MESSAGE-INTEGRITY do not count, a repeated attribute counts once, FINGERPRINT comes last', () => {
  const transactionId = randomBytes(12);
  const signed = encodeStun({ class: 'request', transactionId, attributes: [usernameAttribute('a:b'), priorityAttribute(1)], integrityKey: 'pwd' });
  // An attacker on the path appends USE-CANDIDATE after the digest and fixes the length: ignored.
  const appended = Buffer.concat([signed, hex('00250000')]);
  appended.writeUInt16BE(appended.length - 20, 2);
  const message = parseStun(appended);
  assert.ok(message);
  assert.equal(useCandidate(message), false);
  assert.equal(verifyIntegrity(message, 'pwd'), true);

  const twice = parseStun(encodeStun({ class: 'request', transactionId, attributes: [priorityAttribute(1), priorityAttribute(2)] }));
  assert.equal(priority(twice!), 1);

  const withFingerprint = encodeStun({ class: 'request', transactionId, attributes: [usernameAttribute('a:b')], fingerprint: true });
  const afterFingerprint = Buffer.concat([withFingerprint, hex('00250000')]);
  afterFingerprint.writeUInt16BE(afterFingerprint.length - 20, 2);
  assert.equal(parseStun(afterFingerprint), undefined);
  const badCrc = Buffer.from(withFingerprint);
  badCrc[badCrc.length - 1]! ^= 1;
  assert.equal(parseStun(badCrc), undefined);
});

test('not STUN, or not whole: undefined', () => {
  assert.equal(parseStun(Buffer.alloc(0)), undefined);
  assert.equal(parseStun(SAMPLE_REQUEST.subarray(0, 19)), undefined);
  assert.equal(parseStun(SAMPLE_REQUEST.subarray(0, SAMPLE_REQUEST.length - 4)), undefined, 'length says more than the datagram holds');
  assert.equal(parseStun(Buffer.concat([SAMPLE_REQUEST, Buffer.alloc(4)])), undefined, 'bytes after the message');
  const dtls = Buffer.from(SAMPLE_REQUEST);
  dtls[0] = 22;
  assert.equal(parseStun(dtls), undefined);
  const cookie = Buffer.from(SAMPLE_REQUEST);
  cookie[4] = 0;
  assert.equal(parseStun(cookie), undefined);
  const shortIntegrity = encodeStun({ class: 'request', transactionId: randomBytes(12), attributes: [{ type: ATTR.MESSAGE_INTEGRITY, value: Buffer.alloc(16) }] });
  assert.equal(parseStun(shortIntegrity), undefined);
  // An address of the wrong length for its family is no address.
  const transactionId = randomBytes(12);
  const bad = encodeStun({ class: 'success', transactionId, attributes: [{ type: ATTR.XOR_MAPPED_ADDRESS, value: hex('0001a147e112a6') }] });
  assert.equal(xorMappedAddress(parseStun(bad)!), undefined);
});
