import { isCandidateLine } from './candidate-line.js';

/** A candidate line of an SDP, without its `a=`, and the mid of the section it came from. */
export interface SdpCandidate {
  candidate: string;
  mid: string;
}

/**
 * Takes the candidates out of a description: the SDP without them, and the candidates with
 * their section's mid, to be added one by one after the description is applied.
 */
export function splitCandidates(sdp: string): { sdp: string; candidates: SdpCandidate[] } {
  const candidates: SdpCandidate[] = [];
  const sections = sdp.split(/\r?\n(?=m=)/).map((section, index) => {
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1] ?? String(index - 1);
    return section
      .split(/\r?\n/)
      .filter((line) => {
        if (isCandidateLine(line)) {
          candidates.push({ candidate: line.slice(2), mid });
          return false;
        }
        return !line.startsWith('a=end-of-candidates');
      })
      .join('\r\n');
  });
  const out = sections.join('\r\n');
  return { sdp: out.endsWith('\r\n') ? out : `${out}\r\n`, candidates };
}
