/**
 * Writing an application/trickle-ice-sdpfrag body (RFC 8840 §4.4, §9), as a WHIP/WHEP client
 * sends it in a PATCH (RFC 9725: only the first m= line of the BUNDLE group, the one that
 * gathers; its mid; the ICE credentials; the candidates; end-of-candidates when gathering is
 * done). Plain code, no Node API: the page writes its PATCH bodies with it too.
 */
import type { SdpCandidate } from './candidates.js';

export interface FragmentParts {
  ufrag: string;
  pwd: string;
  candidates: readonly SdpCandidate[];
  /** Gathering is complete: a=end-of-candidates. */
  end: boolean;
}

/** The fragment for the offer's first media section (its m= line and mid, as the offer wrote them). */
export function writeTrickleFragment(offerSdp: string, parts: FragmentParts): string {
  const lines = offerSdp.split(/\r?\n/);
  const first = lines.findIndex((line) => line.startsWith('m='));
  if (first === -1) throw new Error('the offer has no media section');
  const next = lines.findIndex((line, i) => i > first && line.startsWith('m='));
  const section = lines.slice(first, next === -1 ? undefined : next);
  const mid = section.find((line) => line.startsWith('a=mid:'))?.slice('a=mid:'.length) ?? '0';
  const group = lines.find((line) => line.startsWith('a=group:BUNDLE'));
  const out = [
    ...(group ? [group] : []),
    lines[first]!,
    `a=mid:${mid}`,
    `a=ice-ufrag:${parts.ufrag}`,
    `a=ice-pwd:${parts.pwd}`,
    // Bundled, every candidate is the first section's (RFC 9725); a candidate's own mid is kept where it is that one.
    ...parts.candidates.filter((c) => c.mid === mid || !group).map((c) => `a=${c.candidate.replace(/^a=/, '')}`),
    ...(parts.end ? ['a=end-of-candidates'] : []),
  ];
  return `${out.join('\r\n')}\r\n`;
}
