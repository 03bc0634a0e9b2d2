/**
 * The attribute values ICE reads and writes (RFC 8489 §14, RFC 8445 §16.1): each as a decoder
 * that returns undefined for a malformed value, and an encoder.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ATTR, MAGIC_COOKIE, attribute, type StunAttribute, type StunMessage } from './message.js';

export interface TransportAddress {
  address: string;
  port: number;
}

export function username(message: StunMessage): string | undefined {
  const value = attribute(message, ATTR.USERNAME);
  // RFC 8489 §14.3: fewer than 513 bytes.
  return value && value.length <= 512 ? value.toString('utf8') : undefined;
}

export function priority(message: StunMessage): number | undefined {
  const value = attribute(message, ATTR.PRIORITY);
  return value?.length === 4 ? value.readUInt32BE(0) : undefined;
}

export function useCandidate(message: StunMessage): boolean {
  return attribute(message, ATTR.USE_CANDIDATE) !== undefined;
}

/** The role the sender claims and its tie-breaker (RFC 8445 §7.1.3), or undefined when it claims none. */
export function iceRole(message: StunMessage): { role: 'controlling' | 'controlled'; tieBreaker: bigint } | undefined {
  const controlling = attribute(message, ATTR.ICE_CONTROLLING);
  if (controlling?.length === 8) return { role: 'controlling', tieBreaker: controlling.readBigUInt64BE(0) };
  const controlled = attribute(message, ATTR.ICE_CONTROLLED);
  if (controlled?.length === 8) return { role: 'controlled', tieBreaker: controlled.readBigUInt64BE(0) };
  return undefined;
}

export function errorCode(message: StunMessage): { code: number; reason: string } | undefined {
  const value = attribute(message, ATTR.ERROR_CODE);
  if (!value || value.length < 4) return undefined;
  const code = (value[2]! & 0x07) * 100 + value[3]!;
  return code >= 300 && code < 700 ? { code, reason: value.subarray(4).toString('utf8') } : undefined;
}

/** XOR-MAPPED-ADDRESS (RFC 8489 §14.2), IPv4 or IPv6. */
export function xorMappedAddress(message: StunMessage): TransportAddress | undefined {
  const value = attribute(message, ATTR.XOR_MAPPED_ADDRESS);
  if (!value || value.length < 8) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const bytes = Buffer.from(value.subarray(4));
  const pad = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), message.transactionId]);
  if ((family === 1 && bytes.length !== 4) || (family === 2 && bytes.length !== 16) || (family !== 1 && family !== 2)) return undefined;
  for (let i = 0; i < bytes.length; i++) bytes[i]! ^= pad[i]!;
  return { address: ipaddr.fromByteArray([...bytes]).toString(), port };
}

export function usernameAttribute(value: string): StunAttribute {
  return { type: ATTR.USERNAME, value: Buffer.from(value, 'utf8') };
}

export function priorityAttribute(value: number): StunAttribute {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value >>> 0);
  return { type: ATTR.PRIORITY, value: buf };
}

export function useCandidateAttribute(): StunAttribute {
  return { type: ATTR.USE_CANDIDATE, value: Buffer.alloc(0) };
}

export function iceRoleAttribute(role: 'controlling' | 'controlled', tieBreaker: bigint): StunAttribute {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt.asUintN(64, tieBreaker));
  return { type: role === 'controlling' ? ATTR.ICE_CONTROLLING : ATTR.ICE_CONTROLLED, value: buf };
}

export function errorCodeAttribute(code: number, reason: string): StunAttribute {
  const text = Buffer.from(reason, 'utf8').subarray(0, 763);
  const buf = Buffer.alloc(4 + text.length);
  buf[2] = Math.floor(code / 100) & 0x07;
  buf[3] = code % 100;
  text.copy(buf, 4);
  return { type: ATTR.ERROR_CODE, value: buf };
}

/** Throws on a string that is not an IP address: callers pass addresses a socket gave them. */
export function xorMappedAddressAttribute(to: TransportAddress, transactionId: Buffer): StunAttribute {
  const family = isIP(to.address);
  if (family === 0) throw new Error(`not an IP address: ${to.address}`);
  const bytes = Buffer.from(ipaddr.parse(to.address.replace(/%.*$/, '')).toByteArray());
  const pad = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const buf = Buffer.alloc(4 + bytes.length);
  buf[1] = family === 4 ? 1 : 2;
  buf.writeUInt16BE((to.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  for (let i = 0; i < bytes.length; i++) buf[4 + i] = bytes[i]! ^ pad[i]!;
  return { type: ATTR.XOR_MAPPED_ADDRESS, value: buf };
}
