/**
 * STUN Binding requests as ICE sends them, and the answers to them (RFC 8445 §7.1.2, §7.2.5):
 * enough to ask a connected ICE agent for a sign of life (src/engines/libdatachannel/liveness.ts).
 * The message format is message.ts; the attributes are attributes.ts.
 */
import { randomBytes } from 'node:crypto';
import { iceRoleAttribute, priorityAttribute, usernameAttribute } from './attributes.js';
import { encodeStun, METHOD_BINDING, parseStun, verifyIntegrity } from './message.js';

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
  const packet = encodeStun({
    class: 'request',
    transactionId,
    attributes: [
      usernameAttribute(request.username),
      priorityAttribute(request.priority),
      iceRoleAttribute('controlled', request.tieBreaker.readBigUInt64BE(0)),
    ],
    integrityKey: request.password,
    fingerprint: true,
  });
  return { packet, transactionId: transactionId.toString('hex') };
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
  const message = parseStun(packet);
  if (!message || message.method !== METHOD_BINDING) return undefined;
  if (message.class !== 'success' && message.class !== 'error') return undefined;
  if (!verifyIntegrity(message, password)) return undefined;
  return { transactionId: message.transactionId.toString('hex'), success: message.class === 'success' };
}
