/**
 * The body of a WHIP/WHEP PATCH: an SDP fragment of media type application/trickle-ice-sdpfrag
 * (RFC 8840 §4.4, §9): ICE credentials, and candidates under the m= line and a=mid of the
 * section they belong to. Checked like an offer's text (characters, line length, candidate
 * count) and parsed once; the candidates then go through the same mDNS resolution and candidate
 * policy as an offer's (they are rewritten as a ParsedOffer is), and on to the session.
 */
import sdpTransform from 'sdp-transform';
import { EchoError } from '../errors/echo-error.js';
import { candidateKey, isCandidateLine, parseCandidate } from './candidate-line.js';
import { splitCandidates, type SdpCandidate } from './candidates.js';
import { MAX_SDP_LINE_BYTES, checkCharacters, distinctCandidates, typedCandidates } from './offer.js';
import type { ParsedOffer } from './parsed-offer.js';

export const SDPFRAG_MEDIA_TYPE = 'application/trickle-ice-sdpfrag';

export interface TrickleFragment {
  /** The fragment's ICE credentials; new ones ask for an ICE restart (RFC 9725, ICE restarts). */
  ufrag?: string;
  pwd?: string;
  /**
   * The fragment in the form the offer rewrites take (`sdp` its text, `parsed` sdp-transform's
   * parse), so that mDNS names and the candidate policy apply to it as to an offer.
   */
  asOffer: ParsedOffer;
  endOfCandidates: boolean;
}

/** Checks and parses a PATCH body; throws 400 ECHO_ERR_INVALID_SDPFRAG (or the offer checks' codes) when it cannot be used. */
export function parseTrickleFragment(text: string, maxCandidates: number): TrickleFragment {
  if (text.trim() === '') throw EchoError.invalidSdpFragment('the body is empty');
  checkCharacters(text);
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  let inMedia = false;
  let mids = 0;
  lines.forEach((line, index) => {
    if (Buffer.byteLength(line) > MAX_SDP_LINE_BYTES) throw EchoError.invalidSdpFragment(`line ${index + 1} is longer than ${MAX_SDP_LINE_BYTES} bytes`);
    if (!/^[a-z]=/.test(line)) throw EchoError.invalidSdpFragment(`line ${index + 1} is not an SDP line: ${JSON.stringify(line.slice(0, 60))}`);
    if (line.startsWith('m=')) inMedia = true;
    if (line.startsWith('a=mid:')) mids++;
    if (isCandidateLine(line) && !inMedia) throw EchoError.invalidSdpFragment(`line ${index + 1}: a candidate before any m= line (RFC 8840 puts each under its section's m= line and a=mid)`);
  });
  const count = distinctCandidates(lines);
  if (count > maxCandidates) throw EchoError.tooManyCandidates(count, maxCandidates);
  const parsed = sdpTransform.parse(text);
  typedCandidates(parsed);
  const media = parsed.media ?? [];
  if (media.some((m) => (m.candidates?.length ?? 0) > 0 && m.mid === undefined) || (count > 0 && mids === 0)) {
    throw EchoError.invalidSdpFragment('a section with candidates has no a=mid');
  }
  const parts = [parsed, ...media];
  const ufrag = parts.find((p) => p.iceUfrag !== undefined)?.iceUfrag;
  const pwd = parts.find((p) => p.icePwd !== undefined)?.icePwd;
  if ((ufrag === undefined) !== (pwd === undefined)) throw EchoError.invalidSdpFragment('it has one of a=ice-ufrag and a=ice-pwd without the other');
  return {
    ...(ufrag !== undefined ? { ufrag: String(ufrag), pwd: String(pwd) } : {}),
    asOffer: { type: 'offer', sdp: text.endsWith('\n') ? text : `${text}\r\n`, parsed: { ...parsed, media } },
    endOfCandidates: lines.includes('a=end-of-candidates'),
  };
}

/** A trickled candidate on its way to the session: the line, its mid, and what it counts as (candidateKey). */
export interface TrickledCandidate extends SdpCandidate {
  key: string;
}

/** The candidates left in a (rewritten) fragment, each with its section's mid; lines the grammar cannot read are left out. */
export function fragmentCandidates(fragment: ParsedOffer): TrickledCandidate[] {
  return splitCandidates(fragment.sdp).candidates.flatMap((c) => {
    const read = parseCandidate(c.candidate);
    return read ? [{ ...c, key: candidateKey(read) }] : [];
  });
}
