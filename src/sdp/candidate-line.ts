/**
 * The one codec of `a=candidate` lines (RFC 8839 §5.1): the server's offer checks and rewriting,
 * the engines and the browser pages read candidate lines here and nowhere else. The grammar is
 * sdp-transform's own, so a line reads here exactly as it reads inside a parsed session
 * (`ParsedOffer.parsed`), and a line it cannot read is no candidate in either.
 *
 *   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr <a> rport <p>] …
 *
 * Plain code, no Node API: the pages bundle it.
 */
import sdpTransform from 'sdp-transform';

/** A candidate as sdp-transform reads it: `ip` is the address, numbers are numbers. */
export type Candidate = NonNullable<sdpTransform.MediaAttributes['candidates']>[number];

const PREFIX = 'a=candidate:';

/** Whether an SDP line (without its line ending) is a candidate attribute, readable or not. */
export function isCandidateLine(line: string): boolean {
  return line.startsWith(PREFIX);
}

/**
 * The candidate of one line, `a=candidate:…` or the bare `candidate:…` of RTCIceCandidate, or
 * undefined when it is not one sdp-transform's grammar reads (no `typ`, a missing field).
 */
export function parseCandidate(line: string): Candidate | undefined {
  const attribute = line.startsWith('a=') ? line.trimEnd() : `a=${line.trimEnd()}`;
  if (!isCandidateLine(attribute)) return undefined;
  // One line is a session with one attribute: the parser's own rule, nothing of ours.
  const session = sdpTransform.parse(attribute) as { candidates?: Candidate[] };
  const read = session.candidates?.[0];
  return read && asTyped(read);
}

/**
 * sdp-transform turns every field that looks like a whole number into one (an address written
 * `2130706433`, a foundation `1`); its types say strings. Text fields are made text again, so
 * that what reads a candidate (the candidate policy above all) gets what the types promise.
 */
export function asTyped(candidate: Candidate): Candidate {
  const text = (value: unknown) => (value === undefined ? undefined : String(value));
  const { foundation, transport, ip, type, raddr, tcptype } = candidate;
  return {
    ...candidate,
    foundation: String(foundation),
    transport: String(transport),
    ip: String(ip),
    type: String(type),
    ...(raddr === undefined ? {} : { raddr: text(raddr) }),
    ...(tcptype === undefined ? {} : { tcptype: text(tcptype) }),
  };
}

/**
 * The same line with another address and everything else as it was (extensions sdp-transform
 * does not name, such as `ufrag`, included). Only for a line parseCandidate reads: its first
 * seven fields are separated by single spaces, and the address is the fifth.
 */
export function withAddress(line: string, address: string): string {
  const fields = line.split(' ');
  fields[4] = address;
  return fields.join(' ');
}

/** The candidate lines of an SDP, in order, as RTCIceCandidate.candidate writes them (no `a=`). */
export function candidateLines(sdp: string): string[] {
  return sdp
    .split(/\r?\n/)
    .filter(isCandidateLine)
    .map((line) => line.slice(2));
}

/** The readable candidates of an SDP, in order. */
export function candidatesOf(sdp: string): Candidate[] {
  return candidateLines(sdp).flatMap((line) => parseCandidate(line) ?? []);
}

/** Whether an address is an mDNS name (`<uuid>.local`, draft-ietf-mmusic-mdns-ice-candidates), as browsers hide host addresses. */
export function isMdnsName(address: string): boolean {
  return /\.local$/i.test(address);
}
