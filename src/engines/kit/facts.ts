/** TransportFacts as each engine fills them: what the stack says, or why it cannot say. */
import type { TransportFact } from '../engine.js';

export function known<T>(value: T): TransportFact<T> {
  return { known: true, value };
}

export function unknown<T = never>(why: string): TransportFact<T> {
  return { known: false, why };
}

/** IANA "DTLS-SRTP Protection Profiles" names (RFC 5764 §4.1.2, RFC 7714 §14.2), by profile number. */
export const SRTP_PROFILE_NAMES: Record<number, string> = {
  0x0001: 'SRTP_AES128_CM_HMAC_SHA1_80',
  0x0002: 'SRTP_AES128_CM_HMAC_SHA1_32',
  0x0005: 'SRTP_NULL_HMAC_SHA1_80',
  0x0006: 'SRTP_NULL_HMAC_SHA1_32',
  0x0007: 'SRTP_AEAD_AES_128_GCM',
  0x0008: 'SRTP_AEAD_AES_256_GCM',
};
