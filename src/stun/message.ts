/**
 * STUN messages (RFC 8489) as ICE uses them: the header, attributes as type-length-value,
 * MESSAGE-INTEGRITY (HMAC-SHA1 with a short-term credential) and FINGERPRINT (CRC-32).
 *
 * Parsing takes untrusted bytes from any address: it is bounded by the header's length, reads
 * only inside the buffer, and returns undefined instead of throwing. It keeps the rules that
 * make MESSAGE-INTEGRITY mean something: attributes after it are ignored but FINGERPRINT
 * (RFC 8489 §14.5), nothing may follow FINGERPRINT (§14.7), and of a repeated attribute only
 * the first counts (§14).
 *
 * Why not werift's STUN classes (werift/lib/ice-server/src/stun, not in werift's exports map):
 * its parser takes attributes that follow MESSAGE-INTEGRITY as authenticated (a USE-CANDIDATE
 * appended after a valid digest would count), lets a repeated attribute overwrite the first,
 * ignores the header's length, and re-serializes the whole message twice for each digest.
 * `stun` and `@msimerson/stun` on npm decode with binary-data, which throws on short input, and
 * verify MESSAGE-INTEGRITY by re-encoding the decoded message. What ICE needs is small.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
const INTEGRITY_BYTES = 20;
const FINGERPRINT_XOR = 0x5354554e;
/** A bound on what is parsed (and hashed): ICE checks are ~100 bytes, and RFC 8489 §6 keeps STUN over UDP within a path MTU. */
export const MAX_MESSAGE_BYTES = 4096;

export const METHOD_BINDING = 0x001;

export type StunClass = 'request' | 'indication' | 'success' | 'error';

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  class: StunClass;
  /** 12 bytes. */
  transactionId: Buffer;
  /** Each type once (the first), in order, up to MESSAGE-INTEGRITY (FINGERPRINT excluded). */
  attributes: StunAttribute[];
  /** Offset of the MESSAGE-INTEGRITY attribute in `bytes`, when there is one. */
  integrityAt: number | undefined;
  /** The FINGERPRINT attribute was present and its CRC matched. */
  fingerprint: boolean;
  /** The whole message. */
  bytes: Buffer;
}

/** RFC 7983: the first byte of a STUN message is 0-3. Cheap test before a parse. */
export function looksLikeStun(data: Buffer): boolean {
  return data.length >= HEADER_BYTES && data[0]! < 4 && data.readUInt32BE(4) === MAGIC_COOKIE;
}

/** A STUN message, or undefined for anything that is not one (never throws). */
export function parseStun(data: Buffer): StunMessage | undefined {
  if (!looksLikeStun(data) || data.length > MAX_MESSAGE_BYTES) return undefined;
  const length = data.readUInt16BE(2);
  // Over UDP the message fills the datagram; the length counts whole 4-byte attributes.
  if (length % 4 !== 0 || HEADER_BYTES + length !== data.length) return undefined;
  const type = data.readUInt16BE(0);
  const attributes: StunAttribute[] = [];
  const seen = new Set<number>();
  let integrityAt: number | undefined;
  let fingerprint = false;
  for (let at = HEADER_BYTES; at < data.length; ) {
    if (fingerprint) return undefined; // FINGERPRINT is last
    if (at + 4 > data.length) return undefined;
    const attrType = data.readUInt16BE(at);
    const attrLength = data.readUInt16BE(at + 2);
    const end = at + 4 + attrLength;
    if (end > data.length) return undefined;
    const value = data.subarray(at + 4, end);
    if (attrType === ATTR.FINGERPRINT) {
      if (attrLength !== 4) return undefined;
      const crc = (crc32(withLength(data.subarray(0, at), at + 8)) ^ FINGERPRINT_XOR) >>> 0;
      if (value.readUInt32BE(0) !== crc) return undefined;
      fingerprint = true;
    } else if (integrityAt === undefined) {
      if (attrType === ATTR.MESSAGE_INTEGRITY) {
        if (attrLength !== INTEGRITY_BYTES) return undefined;
        integrityAt = at;
      } else if (!seen.has(attrType)) {
        seen.add(attrType);
        attributes.push({ type: attrType, value });
      }
    }
    at = end + padding(attrLength);
  }
  return {
    method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
    class: CLASSES[((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)]!,
    transactionId: data.subarray(8, HEADER_BYTES),
    attributes,
    integrityAt,
    fingerprint,
    bytes: data,
  };
}

const CLASSES: StunClass[] = ['request', 'indication', 'success', 'error'];

/** Whether the message's MESSAGE-INTEGRITY is the HMAC-SHA1 of what precedes it under `key` (RFC 8489 §14.5). */
export function verifyIntegrity(message: StunMessage, key: string | Buffer): boolean {
  const at = message.integrityAt;
  if (at === undefined) return false;
  const expected = createHmac('sha1', key).update(withLength(message.bytes.subarray(0, at), at + 4 + INTEGRITY_BYTES)).digest();
  return timingSafeEqual(expected, message.bytes.subarray(at + 4, at + 4 + INTEGRITY_BYTES));
}

export function attribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

/** Comprehension-required attributes (0x0000-0x7fff) this codec's users do not know (RFC 8489 §6.3.1). */
export function unknownRequired(message: StunMessage, known: ReadonlySet<number>): number[] {
  return message.attributes.map((a) => a.type).filter((type) => type < 0x8000 && !known.has(type));
}

export interface EncodeOptions {
  method?: number;
  class: StunClass;
  transactionId: Buffer;
  attributes?: StunAttribute[];
  /** Adds MESSAGE-INTEGRITY with this key (the password of the receiver of a request, or our own in a response). */
  integrityKey?: string | Buffer;
  /** Adds FINGERPRINT (ICE always does, RFC 8445 §7.2.2). */
  fingerprint?: boolean;
}

export function encodeStun(options: EncodeOptions): Buffer {
  const attributes = options.attributes ?? [];
  const attributeBytes = attributes.reduce((sum, a) => sum + 4 + a.value.length + padding(a.value.length), 0);
  const total = HEADER_BYTES + attributeBytes + (options.integrityKey !== undefined ? 4 + INTEGRITY_BYTES : 0) + (options.fingerprint ? 8 : 0);
  const out = Buffer.alloc(total);
  out.writeUInt16BE(messageType(options.method ?? METHOD_BINDING, options.class), 0);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  options.transactionId.copy(out, 8, 0, 12);
  let at = HEADER_BYTES;
  for (const a of attributes) {
    out.writeUInt16BE(a.type, at);
    out.writeUInt16BE(a.value.length, at + 2);
    a.value.copy(out, at + 4);
    at += 4 + a.value.length + padding(a.value.length);
  }
  if (options.integrityKey !== undefined) {
    out.writeUInt16BE(at + 4 + INTEGRITY_BYTES - HEADER_BYTES, 2);
    const digest = createHmac('sha1', options.integrityKey).update(out.subarray(0, at)).digest();
    out.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, at);
    out.writeUInt16BE(INTEGRITY_BYTES, at + 2);
    digest.copy(out, at + 4);
    at += 4 + INTEGRITY_BYTES;
  }
  if (options.fingerprint) {
    out.writeUInt16BE(at + 8 - HEADER_BYTES, 2);
    const crc = (crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0;
    out.writeUInt16BE(ATTR.FINGERPRINT, at);
    out.writeUInt16BE(4, at + 2);
    out.writeUInt32BE(crc, at + 4);
    at += 8;
  }
  out.writeUInt16BE(at - HEADER_BYTES, 2);
  return out;
}

function messageType(method: number, cls: StunClass): number {
  const c = CLASSES.indexOf(cls);
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7);
}

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** A copy of a message prefix whose length field counts up to `end` (what the digest and CRC cover). */
function withLength(prefix: Buffer, end: number): Buffer {
  const copy = Buffer.from(prefix);
  copy.writeUInt16BE(end - HEADER_BYTES, 2);
  return copy;
}
