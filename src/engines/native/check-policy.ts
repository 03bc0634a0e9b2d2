/**
 * How long the native engine's ICE agent waits for the client's own first check before it
 * checks the client itself (IceAgentOptions.checkHoldOffMs), by what the offer says about the
 * stack that wrote it. Measured: docs/native-ice.md.
 */
import type { SessionDescription as ParsedSdp } from 'sdp-transform';

/**
 * libdatachannel clients (origin `o=rtc`): a check that reaches libjuice before the client has
 * applied our answer connects ICE and DTLS inside setRemoteDescription, before libdatachannel
 * has stored our fingerprint, and the handshake fails (libdatachannel PR #1612). Such a client
 * checks us the moment it has our answer, which ends the wait at once when it can reach us; the
 * hold-off only delays the case where it cannot.
 */
export const LIBDATACHANNEL_HOLD_OFF_MS = 100;
/**
 * Everyone else: long enough for the client to have applied our answer (pion drops a check that
 * comes before: it has no remote credentials yet, and we would resend only after the RTO), short
 * enough that a client that cannot reach us is reached as soon as from a pion server.
 */
export const DEFAULT_HOLD_OFF_MS = 10;

export function checkHoldOffMs(offer: ParsedSdp): number {
  // A lite client never checks; it answers ours once it has our answer.
  if (offer.icelite === 'ice-lite') return DEFAULT_HOLD_OFF_MS;
  if (offer.origin?.username === 'rtc') return LIBDATACHANNEL_HOLD_OFF_MS;
  return DEFAULT_HOLD_OFF_MS;
}
