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
 * libwebrtc (Chromium, @roamhq/wrtc: origin `- <id> 2 IN IP4 127.0.0.1`): at once. RFC 8445 §7.3
 * has an agent take checks that come before the answer, and libwebrtc does: it learns our
 * address from such a check and pings it the moment it has the answer, while a check after that
 * waits for its ~48 ms ping schedule (a libwebrtc client that could not reach us: answer ->
 * connected p50 8-11 ms at 0, 59-60 ms at 10 ms).
 */
export const LIBWEBRTC_HOLD_OFF_MS = 0;
/**
 * Everyone else (pion, aiortc, werift, GStreamer, Firefox: origin address 0.0.0.0): like
 * libdatachannel, 100 ms or the client's own first check, whichever comes first. pion/ice takes
 * a check that arrives after SetRemoteDescription set our credentials but before its agent loop
 * added our candidates as a peer-reflexive remote (agent.go handleInbound); the host candidate
 * that follows has the same address, so the success of pion's own check is filed under the
 * prflx one too (findRemoteCandidate takes the first), and pion nominates a prflx pair only
 * after PrflxAcceptanceMinWait, 1 s. Checking at once hit that window in ~1% of sessions at
 * concurrency 10 (2-4 of 200 per run at 1.02-1.29 s); after the client's first check it cannot
 * happen, because pion checks only candidates it has added. docs/native-control-plane.md.
 */
export const DEFAULT_HOLD_OFF_MS = 100;

export function stackPolicy(offer: ParsedSdp): StackPolicy {
  if (offer.origin?.username === 'rtc') {
    // DTLS server: libdatachannel sends its ClientHello as soon as one pair works, while it
    // nominates (and so lets us send ours) only once every better pair has failed: 2 s with a
    // candidate of ours it cannot reach. RFC 8832 stream ids need nothing of us: we open no
    // channel, and libdatachannel as DTLS client picks even ids as the RFC says.
    return { checkHoldOffMs: LIBDATACHANNEL_HOLD_OFF_MS, dtlsRole: 'server' };
  }
  const libwebrtc = offer.origin?.username === '-' && offer.origin.address === '127.0.0.1';
  const checkHoldOffMs = libwebrtc ? LIBWEBRTC_HOLD_OFF_MS : DEFAULT_HOLD_OFF_MS;
  // DTLS client (RFC 5763 §5 recommends it): werift waits 100 ms before its own ClientHello but
  // answers ours at once; the offerer, DTLS server, picks odd SCTP stream ids, which is what
  // RFC 8832 §6 says and what aiortc and werift pick by ICE role anyway. Our hello leaves once
  // the client nominated the pair and answered our own check on it (src/ice/agent.ts), so it
  // never reaches a client whose ICE is not connected yet: the early hello that Firefox drops
  // (src/engines/libdatachannel/answer-policy.ts) does not happen. A lite client never checks;
  // it answers ours once it has our answer.
  return { checkHoldOffMs, dtlsRole: 'client' };
}
