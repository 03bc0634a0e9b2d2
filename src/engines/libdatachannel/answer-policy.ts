/**
 * How the libdatachannel echo peer takes an offer: whether libjuice checks the client first or
 * only after a hold-off, and which DTLS role the answer takes. Both decide how fast, and
 * whether, a client connects.
 */
import { splitCandidates, type SdpCandidate } from '../../sdp/candidates.js';
import type { ParsedOffer, ParsedSdp } from '../../sdp/parsed-offer.js';
import { racesEarlyChecks } from '../kit/held-candidates.js';

/** The offer as libdatachannel takes it, and what it gets later. */
export interface OfferPolicy {
  /** The offer's SDP: its candidates kept or not, its `a=setup` chosen. */
  sdp: string;
  /** Candidates held back from `sdp`: added once the hold-off has passed without a connection (kit/held-candidates.ts). Empty when none were. */
  heldBack: SdpCandidate[];
}

export function answerPolicy(offer: ParsedOffer): OfferPolicy {
  const weCheckFirst = checksFirst(offer.parsed);
  const { sdp, candidates } = weCheckFirst ? { sdp: offer.sdp, candidates: [] } : splitCandidates(offer.sdp);
  return { sdp: chooseDtlsRole(sdp, offer.parsed, weCheckFirst), heldBack: candidates };
}

/**
 * Whether libjuice may check the offer's candidates itself. Given them, it checks them the
 * moment it has the offer, before the client can have our answer; that is fast for most stacks
 * (our ICE is up before theirs), but not for two:
 *
 * - libdatachannel clients (origin `o=rtc`): libjuice answers our early check (RFC 8445 §7.3,
 *   libjuice agent.c skips the remote ufrag while it has none) and keeps the pair; applying our
 *   answer then connects ICE and DTLS inside setRemoteDescription, before libdatachannel has
 *   stored the answer's fingerprint (libdatachannel 0.24.5 peerconnection.cpp: credentials go to
 *   ICE before processRemoteDescription), so the handshake fails: 22-32% of sessions here
 *   (libdatachannel PR #1612). Our own client also offers no candidates for that reason.
 * - pion clients (16-letter ufrag, 32-letter password): pion reads our early check only when its
 *   agent starts, before its own checks succeed, and after that we send it nothing, so it
 *   nominates on its next 200 ms tick (pion/ice 2.3 selection.go). Learning pion from its
 *   checks, our triggered check back makes it nominate then: ~3 ms instead of ~205 ms (libjuice
 *   sends it 1 ms after the client's check in our patched addon, triggered-check.ts; 50 ms,
 *   STUN_PACING_TIME, in the stock one: ~53 ms).
 *
 * For those libdatachannel gets the offer without its candidates and learns the client's
 * address from its own checks (peer-reflexive, RFC 8445 §7.3.1.3). The candidates are held
 * back, not dropped: a client that has not connected 100 ms after our answer gets them added,
 * and with them our checks (kit/held-candidates.ts). A pion client that we reach first
 * nominates only 1 s after it started checking anyway (pion/ice's prflx acceptance wait). A
 * lite client never checks, so it always keeps its candidates.
 */
export function checksFirst(offer: ParsedSdp): boolean {
  if (offer.icelite !== undefined) return true;
  const fromLibdatachannel = racesEarlyChecks(offer);
  const parts = [offer, ...offer.media];
  const fromPion = parts.some((p) => /^[A-Za-z]{16}$/.test(String(p.iceUfrag ?? ''))) && parts.some((p) => /^[A-Za-z]{32}$/.test(String(p.icePwd ?? '')));
  return !fromLibdatachannel && !fromPion;
}

/**
 * The DTLS role, through the offer's `a=setup` that libdatachannel answers: offered `actpass`, it
 * answers `active` and sends the first ClientHello the moment its ICE connects; offered
 * `active`, it answers `passive` (the answerer's choice, RFC 5763 §5) and waits for the hello.
 *
 * When we check first, our ICE connects before the client's, often before the client has our
 * answer, and a hello sent then is lost and resent after a 1 s timer (13-15 of 25 sessions in a
 * bench): we answer `passive`, and the client's hello starts the handshake when it is ready
 * (~5 ms). With a data channel, only for offerers that pick SCTP stream ids by DTLS role as
 * RFC 8832 §6 says: aiortc (and werift, which copied it) pick them by ICE role, which is right
 * only while the offerer is the DTLS server, so `passive` breaks their data channels. Firefox
 * (origin `o=mozilla...THIS_IS_SDPARTA`) follows the RFC and drops an early hello: 9 of 10
 * Firefox 153 data channel sessions took ~1 s before. Chromium buffers an early hello.
 *
 * When we do not check first, our ICE connects last (our first check, the triggered one, goes
 * out after our response to the client's: 1 ms later with our patched addon, 50 ms without), so
 * a hello from the client would arrive before we can take it (libdatachannel 0.24.5 buffers it
 * but often handles it only with the resend, 1 s later: 6 of 20 sessions measured): we answer
 * `active`, and send the hello to a client whose ICE connected on our response. That needs our
 * check to leave a little after the response: sent with it (0 ms), the hello could reach our own
 * client before its ICE had connected, the same 1 s resend (6 of 300 sessions).
 */
function chooseDtlsRole(sdp: string, offer: ParsedSdp, weCheckFirst: boolean): string {
  if (!weCheckFirst) return sdp;
  const followsRfc8832 = originOf(offer).startsWith('mozilla...THIS_IS_SDPARTA');
  if (offer.media.some((m) => m.type === 'application') && !followsRfc8832) return sdp;
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active');
}

/** The `o=` line's username, as text (the parser makes a numeric one a number). */
function originOf(offer: ParsedSdp): string {
  return String(offer.origin?.username ?? '');
}
