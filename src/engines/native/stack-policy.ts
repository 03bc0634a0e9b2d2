/**
 * What the native engine does differently by the stack that wrote the offer: how long its ICE
 * agent waits for the client's own first check before checking the client itself
 * (IceAgentOptions.checkHoldOffMs), and which DTLS role it takes when the offer leaves the
 * choice to it (`a=setup:actpass`). Measured: docs/native-control-plane.md.
 */
import type { SessionDescription as ParsedSdp } from 'sdp-transform';

export interface StackPolicy {
  checkHoldOffMs: number;
  /** Our DTLS role for an `actpass` offer: `client` answers `a=setup:active`. */
  dtlsRole: 'client' | 'server';
}

/**
 * libdatachannel clients (origin `o=rtc`): a check that reaches libjuice before the client has
 * applied our answer connects ICE and DTLS inside setRemoteDescription, before libdatachannel
 * has stored our fingerprint, and the handshake fails (libdatachannel PR #1612). Such a client
 * checks us the moment it has our answer, which ends the wait at once when it can reach us; the
 * hold-off only delays the case where it cannot.
 */
export const LIBDATACHANNEL_HOLD_OFF_MS = 100;
/**
 * Everyone else: at once. RFC 8445 §7.3 has an agent take checks that come before the answer,
 * and libwebrtc does: it learns our address from such a check and pings it the moment it has the
 * answer, while a check after that waits for its ~48 ms ping schedule (a libwebrtc client that
 * could not reach us: answer -> connected p50 8-11 ms at 0, 59-60 ms at 10 ms). A stack that
 * drops an early check (pion) loses nothing: its own first check gets ours back at once.
 */
export const DEFAULT_HOLD_OFF_MS = 0;

export function stackPolicy(offer: ParsedSdp): StackPolicy {
  if (offer.origin?.username === 'rtc') {
    // DTLS server: libdatachannel sends its ClientHello as soon as one pair works, while it
    // nominates (and so lets us send ours) only once every better pair has failed: 2 s with a
    // candidate of ours it cannot reach. RFC 8832 stream ids need nothing of us: we open no
    // channel, and libdatachannel as DTLS client picks even ids as the RFC says.
    return { checkHoldOffMs: LIBDATACHANNEL_HOLD_OFF_MS, dtlsRole: 'server' };
  }
  // DTLS client (RFC 5763 §5 recommends it): werift waits 100 ms before its own ClientHello but
  // answers ours at once; the offerer, DTLS server, picks odd SCTP stream ids, which is what
  // RFC 8832 §6 says and what aiortc and werift pick by ICE role anyway. Our hello leaves once
  // the client nominated the pair and answered our own check on it (src/ice/agent.ts), so it
  // never reaches a client whose ICE is not connected yet: the early hello that Firefox drops
  // (src/engines/libdatachannel/answer-policy.ts) does not happen. A lite client never checks;
  // it answers ours once it has our answer.
  return { checkHoldOffMs: DEFAULT_HOLD_OFF_MS, dtlsRole: 'client' };
}
