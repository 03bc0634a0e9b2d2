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

/** sdp-transform's rule for `a=candidate` (lib/grammar.js): exported, not in its typings. */
interface GrammarRule {
  push?: string;
  reg: RegExp;
  names?: string[];
}
const RULE = (sdpTransform as unknown as { grammar: { a: GrammarRule[] } }).grammar.a.find((rule) => rule.push === 'candidates')!;

/** sdp-transform's own conversion: a field written as a whole number becomes one. */
function toIntIfInt(value: string): string | number {
  return String(Number(value)) === value ? Number(value) : value;
}

/** Whether an SDP line (without its line ending) is a candidate attribute, readable or not. */
export function isCandidateLine(line: string): boolean {
  return line.startsWith(PREFIX);
}

/**
 * The candidate of one line, `a=candidate:…` or the bare `candidate:…` of RTCIceCandidate, or
 * undefined when it is not one sdp-transform's grammar reads (no `typ`, a missing field).
 */
export function parseCandidate(line: string): Candidate | undefined {
  const value = (line.startsWith('a=') ? line.slice(2) : line).trimEnd();
  // The parser's own rule and conversion, nothing of ours (the first rule a candidate line meets).
  const match = value.startsWith('candidate:') ? RULE.reg.exec(value) : null;
  if (!match) return undefined;
  const read: Record<string, string | number> = {};
  RULE.names!.forEach((name, i) => {
    if (match[i + 1] != null) read[name] = toIntIfInt(match[i + 1]!);
  });
  return asTyped(read as unknown as Candidate);
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

/** Whether a line reads as a candidate, without building it (the rule's pattern alone). */
export function readsAsCandidate(line: string): boolean {
  return isCandidateLine(line) && RULE.reg.test(line.slice(2));
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

/** What makes two candidates the same for the candidate limits: component, transport, address, port. */
export function candidateKey(candidate: Candidate): string {
  return `${candidate.component} ${String(candidate.transport).toLowerCase()} ${String(candidate.ip).toLowerCase()} ${candidate.port}`;
}
