import sdpTransform from 'sdp-transform';
import { EchoError } from '../errors/echo-error.js';
import { asTyped, candidateKey, isCandidateLine, parseCandidate, type Candidate } from './candidate-line.js';
import type { ParsedOffer, ParsedSdp } from './parsed-offer.js';

/** What an offer may ask of the server; docs/security.md gives the reasons for the defaults. */
export interface OfferLimits {
  /** m= sections (rejected ones included: stacks build a transceiver for each). Default 16. */
  maxMediaSections: number;
  /**
   * Distinct ICE candidates (component, transport, address, port): a candidate repeated in
   * every bundled section, as Chromium writes it, counts once. Default 64.
   */
  maxCandidates: number;
}

export const OFFER_LIMIT_DEFAULTS: OfferLimits = { maxMediaSections: 16, maxCandidates: 64 };

/** No line of a real offer comes near this (the longest are fmtp and ssrc lines, ~200 bytes). */
export const MAX_SDP_LINE_BYTES = 4096;

/**
 * Checks that a request body is a usable offer before any WebRTC stack sees it: stacks
 * disagree on what they accept, and some crash or hang on garbage, so we refuse it first.
 * The one place an offer is parsed: what it returns goes on to the session host and the engine.
 */
export function parseOfferBody(body: unknown, limits: OfferLimits = OFFER_LIMIT_DEFAULTS): ParsedOffer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw EchoError.invalidBody('expected a JSON object');
  }
  const { type, sdp } = body as Record<string, unknown>;
  if (type !== 'offer') throw EchoError.notAnOffer(type);
  if (sdp === undefined || sdp === null || sdp === '') throw EchoError.missingSdp();
  if (typeof sdp !== 'string') throw EchoError.invalidBody('"sdp" must be a string');
  return parseOffer(sdp, limits);
}

/** The checks of parseOfferBody on an SDP string: the text, then its parse, once. Throws EchoError. */
export function parseOffer(sdp: string, limits: OfferLimits = OFFER_LIMIT_DEFAULTS): ParsedOffer {
  checkCharacters(sdp);
  return { type: 'offer', sdp, parsed: checkOfferSdp(sdp, limits) };
}

/**
 * SDP is text: lines end in CRLF (or LF), and no line carries NUL or another control character
 * (RFC 8866 §5 and §9 leave out NUL, CR and LF; we also refuse the rest of C0 but TAB, DEL and
 * C1, which no stack writes and some C/C++ parsers cut a string at).
 */
export function checkCharacters(sdp: string): void {
  const control = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x80-\x9F]|\r(?!\n)/.exec(sdp);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    const line = sdp.slice(0, control.index).split('\n').length;
    throw EchoError.invalidSdpCharacters(`control character U+${code} on line ${line}`);
  }
}

/**
 * What an offer needs for a non-trickle ICE + DTLS session (RFC 8829 §5.2, RFC 8839 §5), within
 * the limits; the limits are counted on the raw lines, before the parser builds anything.
 */
function checkOfferSdp(sdp: string, limits: OfferLimits): ParsedSdp {
  if (!/^v=0\r?\n/.test(sdp)) throw EchoError.unparsableSdp('it does not start with "v=0"');
  const lines = sdp.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.length > MAX_SDP_LINE_BYTES / 3 && Buffer.byteLength(line) > MAX_SDP_LINE_BYTES) {
      throw EchoError.unparsableSdp(`line ${index + 1} is longer than ${MAX_SDP_LINE_BYTES} bytes`);
    }
  });
  // Counted on the raw lines, before the parser builds anything for them.
  const sections = lines.filter((line) => line.startsWith('m=')).length;
  if (sections > limits.maxMediaSections) throw EchoError.tooManyMediaSections(sections, limits.maxMediaSections);
  const candidates = distinctCandidates(lines);
  if (candidates > limits.maxCandidates) throw EchoError.tooManyCandidates(candidates, limits.maxCandidates);

  checkCodecLines(lines);
  const session = sdpTransform.parse(sdp);
  typedCandidates(session);
  textCredentials(session);
  const media = session.media ?? [];
  if (media.length === 0) throw EchoError.unparsableSdp('it has no media section (m=)');
  checkBundle(session.groups ?? [], media);
  const usable = media.filter((m) => m.port !== 0);
  if (usable.length === 0) throw EchoError.unparsableSdp('every media section is rejected (port 0)');
  for (const m of usable) {
    if (!['audio', 'video', 'application'].includes(m.type)) {
      throw EchoError.unparsableSdp(`media type "${m.type}" is not audio, video or application`);
    }
    const missing = missingTransport(session, m);
    if (missing) throw EchoError.unparsableSdp(missing);
  }
  return session;
}

/**
 * What a section lacks for ICE and DTLS (its own attribute, or the session's), in words, or
 * undefined. The offer checks ask it of every section; werift, which applies an SDP without
 * either and then waits for a connection that cannot come, asks it of the parse it is given.
 */
export function missingTransport(session: ParsedSdp, m: ParsedSdp['media'][number]): string | undefined {
  if (!(m.iceUfrag ?? session.iceUfrag) || !(m.icePwd ?? session.icePwd)) {
    return `media section ${m.mid ?? m.type} has no ICE credentials (a=ice-ufrag/a=ice-pwd)`;
  }
  if (!(m.fingerprint ?? session.fingerprint)) return `media section ${m.mid ?? m.type} has no DTLS fingerprint (a=fingerprint)`;
  return undefined;
}

/**
 * `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` as RFC 8866 §6.6 and RFC 4585 §4.2 write them: a payload
 * type 0-127 and whole numbers for the clock rate and channels. node-datachannel hands these
 * lines to libdatachannel's Media::parseSdpLine without catching what it throws, so
 * `a=rtpmap:96 VP8/:90000` (an std::invalid_argument) or a clock rate past 2^31 aborted the
 * whole server process (found by test/fuzz).
 */
function checkCodecLines(lines: string[]): void {
  const payloadType = String.raw`(?:\d|[1-9]\d|1[01]\d|12[0-7])`;
  const rules: [string, RegExp][] = [
    ['a=rtpmap:', new RegExp(String.raw`^a=rtpmap:${payloadType} [^\s/]+/[1-9]\d{0,8}(?:/[1-9]\d{0,2})?$`)],
    ['a=fmtp:', new RegExp(String.raw`^a=fmtp:${payloadType} \S`)],
    ['a=rtcp-fb:', new RegExp(String.raw`^a=rtcp-fb:(?:${payloadType}|\*) \S`)],
  ];
  lines.forEach((line, index) => {
    for (const [prefix, rule] of rules) {
      if (line.startsWith(prefix) && !rule.test(line)) {
        throw EchoError.unparsableSdp(`line ${index + 1} is not a valid ${prefix.slice(2, -1)} line: ${JSON.stringify(line.slice(0, 80))}`);
      }
    }
  });
}

/** The candidates of the parse as candidate-line.ts reads them (text fields as text). */
export function typedCandidates(session: ParsedSdp): void {
  const parts: Array<{ candidates?: Candidate[] }> = [session as { candidates?: Candidate[] }, ...session.media];
  for (const part of parts) if (part.candidates) part.candidates = part.candidates.map(asTyped);
}

/**
 * ICE credentials as text: sdp-transform makes a number of a value that reads as one
 * (`a=ice-ufrag:6018`, which werift writes now and then), and the native plane takes strings
 * only. Lossless: a value whose number does not print back the same (`0207`, 22 digits) stays text.
 */
function textCredentials(session: ParsedSdp): void {
  for (const part of [session, ...session.media] as Array<{ iceUfrag?: unknown; icePwd?: unknown }>) {
    if (part.iceUfrag !== undefined) part.iceUfrag = String(part.iceUfrag);
    if (part.icePwd !== undefined) part.icePwd = String(part.icePwd);
  }
}

/** A line the grammar cannot read counts as one of its own: it still costs the stack a line. */
export function distinctCandidates(lines: string[]): number {
  const seen = new Set<string>();
  for (const line of lines) {
    if (!isCandidateLine(line)) continue;
    const c = parseCandidate(line);
    seen.add(c ? candidateKey(c) : line);
  }
  return seen.size;
}

/**
 * A BUNDLE group must name sections that exist, each once, and every section must say which
 * it is (RFC 8843 §7.2, RFC 8829 §5.2.1: each m= section carries a unique a=mid). Stacks guess
 * otherwise: libdatachannel takes a missing mid for the section's index, so one section could
 * stand for another.
 */
function checkBundle(groups: { type: string; mids: string | number }[], media: { mid?: string | number; type: string }[]): void {
  const mids = media.map((m) => (m.mid === undefined ? undefined : String(m.mid)));
  const seen = new Set<string>();
  for (const mid of mids) {
    if (mid === undefined) continue;
    if (seen.has(mid)) throw EchoError.unparsableSdp(`two media sections carry a=mid:${mid}`);
    seen.add(mid);
  }
  const bundles = groups.filter((group) => group.type.toUpperCase() === 'BUNDLE');
  if (bundles.length === 0) return;
  for (const group of bundles) {
    for (const mid of String(group.mids).split(' ').filter(Boolean)) {
      if (!seen.has(mid)) throw EchoError.unparsableSdp(`the BUNDLE group names mid "${mid}", which no media section carries`);
    }
  }
  const unnamed = mids.indexOf(undefined);
  if (unnamed !== -1) throw EchoError.unparsableSdp(`media section ${unnamed} (${media[unnamed]!.type}) has no a=mid in an offer with a BUNDLE group`);
}
