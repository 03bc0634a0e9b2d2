/**
 * Candidate descriptions, in the form the Engine interface reports them. Plain code, no Node
 * API. (STUN and TURN server URLs are net/ice-server.ts.)
 */
import type { CandidateInfo, CandidateType } from '../engine.js';

const TYPES: ReadonlySet<string> = new Set<CandidateType>(['host', 'srflx', 'prflx', 'relay']);

/** A candidate as the stack described it, or undefined when the stack said something we do not know. */
export function candidateInfo(type: string, protocol: string, address: string, port: number): CandidateInfo | undefined {
  const kind = type.toLowerCase();
  if (!TYPES.has(kind)) return undefined;
  return { type: kind as CandidateType, protocol: /tcp/i.test(protocol) ? 'tcp' : 'udp', address, port };
}
