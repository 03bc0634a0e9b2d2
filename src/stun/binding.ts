/**
 * STUN Binding requests as ICE sends them, and the answers to them: just enough of RFC 8489
 * (message format, MESSAGE-INTEGRITY, FINGERPRINT) and RFC 8445 §7.1.2 (USERNAME, PRIORITY,
 * ICE-CONTROLLED) to ask a connected ICE agent for a sign of life.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;

const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  PRIORITY: 0x0024,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
} as const;

const FINGERPRINT_XOR = 0x5354554e;
const INTEGRITY_BYTES = 20;

export interface BindingRequest {
  /** `<receiver's ufrag>:<sender's ufrag>` (RFC 8445 §7.2.2). */
  username: string;
  /** The receiver's ICE password: the MESSAGE-INTEGRITY key (short-term credentials). */
  password: string;
  /** The PRIORITY attribute: what the receiver records for a peer-reflexive candidate of ours. */
  priority: number;
  /** ICE-CONTROLLED tie-breaker; 8 bytes. */
  tieBreaker: Buffer;
}

/** A request with a fresh random transaction id, returned with it (hex). */
export function encodeBindingRequest(request: BindingRequest): { packet: Buffer; transactionId: string } {
  const transactionId = randomBytes(12);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(request.priority >>> 0);
  const attributes = [
    attribute(ATTR.USERNAME, Buffer.from(request.username, 'utf8')),
    attribute(ATTR.PRIORITY, priority),
    attribute(ATTR.ICE_CONTROLLED, request.tieBreaker),
  ];
  let message: Buffer = Buffer.concat([header(BINDING_REQUEST, transactionId, 0), ...attributes]);
  message = appendIntegrity(message, request.password);
  message = appendFingerprint(message);
  return { packet: message, transactionId: transactionId.toString('hex') };
}

export interface BindingAnswer {
  transactionId: string;
  success: boolean;
}

/**
 * A Binding success or error response whose MESSAGE-INTEGRITY holds for `password`, or
 * undefined for anything else (other methods, requests, indications, a bad or missing digest).
 */
export function parseBindingAnswer(packet: Buffer, password: string): BindingAnswer | undefined {
  if (packet.length < HEADER_BYTES || packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const type = packet.readUInt16BE(0);
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) return undefined;
  const length = packet.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_BYTES + length > packet.length) return undefined;
  const integrityAt = findAttribute(packet, HEADER_BYTES + length, ATTR.MESSAGE_INTEGRITY);
  if (integrityAt === undefined || packet.readUInt16BE(integrityAt + 2) !== INTEGRITY_BYTES) return undefined;
  // The digest covers everything before the attribute, with the length field counting up to its end.
  const covered = Buffer.from(packet.subarray(0, integrityAt));
  covered.writeUInt16BE(integrityAt + 4 + INTEGRITY_BYTES - HEADER_BYTES, 2);
  const expected = createHmac('sha1', password).update(covered).digest();
  const actual = packet.subarray(integrityAt + 4, integrityAt + 4 + INTEGRITY_BYTES);
  if (!timingSafeEqual(expected, actual)) return undefined;
  return { transactionId: packet.subarray(8, 20).toString('hex'), success: type === BINDING_SUCCESS };
}

function header(type: number, transactionId: Buffer, length: number): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  buf.writeUInt16BE(type, 0);
  buf.writeUInt16BE(length, 2);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(buf, 8);
  return buf;
}

/** Type, length, value, zero padding to a multiple of 4. */
function attribute(type: number, value: Buffer): Buffer {
  const buf = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  buf.writeUInt16BE(type, 0);
  buf.writeUInt16BE(value.length, 2);
  value.copy(buf, 4);
  return buf;
}

function appendIntegrity(message: Buffer, password: string): Buffer {
  const withLength = Buffer.from(message);
  withLength.writeUInt16BE(message.length + 4 + INTEGRITY_BYTES - HEADER_BYTES, 2);
  const digest = createHmac('sha1', password).update(withLength).digest();
  return Buffer.concat([withLength, attribute(ATTR.MESSAGE_INTEGRITY, digest)]);
}

function appendFingerprint(message: Buffer): Buffer {
  const withLength = Buffer.from(message);
  withLength.writeUInt16BE(message.length + 8 - HEADER_BYTES, 2);
  const value = Buffer.alloc(4);
  value.writeUInt32BE((crc32(withLength) ^ FINGERPRINT_XOR) >>> 0);
  return Buffer.concat([withLength, attribute(ATTR.FINGERPRINT, value)]);
}

function findAttribute(packet: Buffer, end: number, type: number): number | undefined {
  let at = HEADER_BYTES;
  while (at + 4 <= end) {
    const attrType = packet.readUInt16BE(at);
    const attrLength = packet.readUInt16BE(at + 2);
    if (attrType === type) return at;
    at += 4 + Math.ceil(attrLength / 4) * 4;
  }
  return undefined;
}
