/**
 * Property-based fuzzing of the STUN codec (src/stun) with fast-check: it takes bytes from any
 * address on the data plane's sockets, so no input may make it throw, a changed byte under
 * MESSAGE-INTEGRITY must never verify, and what we encode must parse back as it was.
 * Deterministic: FUZZ_SEED and FUZZ_RUNS (a multiplier) as in offers.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { errorCode, iceRole, priority, useCandidate, username, xorMappedAddress } from '../../src/stun/attributes.js';
import { ATTR, encodeStun, parseStun, verifyIntegrity, type StunMessage } from '../../src/stun/message.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const params = (numRuns: number) => ({ seed: SEED, numRuns: numRuns * SCALE });

/** Everything a user of the codec reads from a message; none of it may throw. */
function readAll(message: StunMessage): void {
  username(message);
  priority(message);
  useCandidate(message);
  iceRole(message);
  errorCode(message);
  xorMappedAddress(message);
  verifyIntegrity(message, 'password');
}

const attributeArb = fc.record({
  type: fc.oneof(
    fc.constantFrom(ATTR.USERNAME, ATTR.PRIORITY, ATTR.USE_CANDIDATE, ATTR.ICE_CONTROLLED, ATTR.ICE_CONTROLLING, ATTR.ERROR_CODE, ATTR.XOR_MAPPED_ADDRESS, ATTR.SOFTWARE),
    fc.integer({ min: 0, max: 0xffff }).filter((type) => type !== ATTR.MESSAGE_INTEGRITY && type !== ATTR.FINGERPRINT),
  ),
  value: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
});

const messageArb = fc.record({
  cls: fc.constantFrom('request', 'indication', 'success', 'error' as const),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  attributes: fc.array(attributeArb, { maxLength: 8 }),
  integrity: fc.boolean(),
  fingerprint: fc.boolean(),
});

test('arbitrary bytes, and bytes behind a valid STUN header: never a throw', () => {
  const stunHeaded = fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.uint8Array({ maxLength: 120 })).map(([type, body]) => {
    const bytes = Buffer.alloc(20 + body.length);
    bytes.writeUInt16BE(type, 0);
    bytes.writeUInt16BE(body.length, 2);
    bytes.writeUInt32BE(0x2112a442, 4);
    Buffer.from(body).copy(bytes, 20);
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), stunHeaded), (bytes) => {
      const message = parseStun(bytes);
      if (message) readAll(message);
    }),
    params(3000),
  );
});

test('what we encode parses back: class, transaction id, the first of each attribute, integrity and fingerprint', () => {
  fc.assert(
    fc.property(messageArb, ({ cls, transactionId, attributes, integrity, fingerprint }) => {
      const bytes = encodeStun({ class: cls, transactionId, attributes, integrityKey: integrity ? 'password' : undefined, fingerprint });
      const message = parseStun(bytes);
      assert.ok(message);
      assert.equal(message.class, cls);
      assert.deepEqual(message.transactionId, transactionId);
      const firsts = attributes.filter((a, i) => attributes.findIndex((b) => b.type === a.type) === i);
      assert.deepEqual(message.attributes.map((a) => [a.type, a.value.toString('hex')]), firsts.map((a) => [a.type, a.value.toString('hex')]));
      assert.equal(verifyIntegrity(message, 'password'), integrity);
      assert.equal(message.fingerprint, fingerprint);
      readAll(message);
    }),
    params(1000),
  );
});

test('one byte changed, cut or added in a signed message: never a throw, never a valid digest over changed bytes', () => {
  const mutation = fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }), kind: fc.constantFrom('flip', 'cut', 'extend') });
  fc.assert(
    fc.property(messageArb, mutation, ({ cls, transactionId, attributes }, { at, xor, kind }) => {
      const bytes = encodeStun({ class: cls, transactionId, attributes, integrityKey: 'password', fingerprint: true });
      const integrityAt = parseStun(bytes)!.integrityAt!;
      let changed: Buffer;
      if (kind === 'flip') {
        changed = Buffer.from(bytes);
        changed[at % bytes.length]! ^= xor;
      } else if (kind === 'cut') {
        changed = bytes.subarray(0, at % bytes.length);
      } else {
        changed = Buffer.concat([bytes, Buffer.alloc(4 * (1 + (at % 4)))]);
        changed.writeUInt16BE(changed.length - 20, 2);
      }
      const message = parseStun(changed);
      if (!message) return;
      readAll(message);
      // A flip before the digest (header included) must not verify.
      if (kind === 'flip' && at % bytes.length < integrityAt + 24) assert.equal(verifyIntegrity(message, 'password'), false);
    }),
    params(3000),
  );
});
