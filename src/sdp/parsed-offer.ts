/**
 * The offer as it travels through the server: the route parses and checks it once
 * (offer.ts, parseOffer), and that parsed form goes to the session host and on to the engine.
 * What rewrites it on the way (mDNS names, the candidate policy) returns a new ParsedOffer with
 * the text and the parse kept in step (rewriteCandidates), so no later step parses it again.
 */
import type sdpTransform from 'sdp-transform';
import { isCandidateLine, readsAsCandidate, withAddress, type Candidate } from './candidate-line.js';

/** sdp-transform's parse of a whole SDP. */
export type ParsedSdp = sdpTransform.SessionDescription;

export interface ParsedOffer {
  readonly type: 'offer';
  /** The SDP as the stack is to apply it. */
  readonly sdp: string;
  /**
   * sdp-transform's parse of `sdp`, made once by parseOffer (and kept in step by
   * rewriteCandidates). Read it, never change it: one object may reach several steps.
   */
  readonly parsed: ParsedSdp;
}

/** What becomes of one `a=candidate` line. `candidate` is undefined for a line the grammar cannot read. */
export type CandidateDecision = 'keep' | 'drop' | { address: string };

export interface RewriteOptions {
  /**
   * Take out `a=end-of-candidates` too once a candidate was dropped. Default false. A stack told
   * that no candidate will follow may give up as soon as it has checked the ones it got.
   */
  dropEndOfCandidates?: boolean;
}

/**
 * Applies `decide` to every candidate line of the offer: kept, dropped, or given another
 * address, every other line untouched byte for byte (line endings included). Returns the same
 * object when nothing changed.
 */
export function rewriteCandidates(
  offer: ParsedOffer,
  decide: (candidate: Candidate | undefined, line: string) => CandidateDecision,
  options: RewriteOptions = {},
): ParsedOffer {
  // Each line with its own ending; section -1 is the session part, before the first m=.
  const lines = offer.sdp.split(/(?<=\n)/);
  let section = -1;
  let read = 0;
  let changed = false;
  let dropped = false;
  /** The parse's candidates of a section (-1: the session's), in the order of their lines. */
  const parsedOf = (index: number) => ((index < 0 ? offer.parsed : offer.parsed.media[index]) as { candidates?: Candidate[] } | undefined)?.candidates ?? [];
  /** Per section, the candidates left, in order: what sdp-transform would read from the new text. */
  const candidates = new Map<number, Candidate[]>();
  const kept: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\r?\n$/, '');
    if (line.startsWith('m=')) {
      section++;
      read = 0;
    }
    if (!isCandidateLine(line)) {
      kept.push(raw);
      continue;
    }
    // The line's candidate from the one parse, not parsed again: the parse holds every line the grammar reads, in order.
    const candidate = readsAsCandidate(line) ? parsedOf(section)[read++] : undefined;
    const decision = decide(candidate, line);
    if (decision === 'drop') {
      changed = dropped = true;
      continue;
    }
    let out = raw;
    let left = candidate;
    if (decision !== 'keep' && candidate) {
      out = withAddress(line, decision.address) + raw.slice(line.length);
      left = { ...candidate, ip: decision.address };
      changed = true;
    }
    kept.push(out);
    if (left) candidates.set(section, [...(candidates.get(section) ?? []), left]);
  }
  if (!changed) return offer;
  const dropEnd = dropped && options.dropEndOfCandidates === true;
  const sdp = (dropEnd ? kept.filter((raw) => !raw.startsWith('a=end-of-candidates')) : kept).join('');
  const inStep = <T extends { candidates?: Candidate[]; endOfCandidates?: 'end-of-candidates' }>(part: T, index: number): T => {
    const { candidates: _old, endOfCandidates, ...rest } = part;
    const left = candidates.get(index);
    return {
      ...rest,
      ...(left?.length ? { candidates: left } : {}),
      ...(endOfCandidates && !dropEnd ? { endOfCandidates } : {}),
    } as T;
  };
  const parsed = inStep(offer.parsed as ParsedSdp & { candidates?: Candidate[] }, -1);
  return { type: 'offer', sdp, parsed: { ...parsed, media: offer.parsed.media.map((m, i) => inStep(m, i)) } };
}

/** Whether the offer carries any candidate the grammar reads, in any section. */
export function hasCandidates(offer: ParsedOffer): boolean {
  const session = offer.parsed as ParsedSdp & { candidates?: Candidate[] };
  return Boolean(session.candidates?.length) || offer.parsed.media.some((m) => Boolean(m.candidates?.length));
}
