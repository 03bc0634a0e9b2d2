/**
 * A server that listens on loopback announces loopback candidates only (NetworkOptions
 * `loopbackOnly`). Each engine is told to gather nothing else; this is the answer's last word for
 * the stacks that cannot be told (libwebrtc gathers every interface and has no filter), so a
 * client on this machine is never handed another interface's address to check and send to.
 */
import { isCandidateLine, parseCandidate } from './candidate-line.js';
import { isLoopbackHost } from './candidate-policy.js';

/** `sdp` without its candidate lines whose address is not loopback (mDNS names and unreadable lines too). */
export function keepLoopbackCandidates(sdp: string): string {
  const lines = sdp.split(/\r?\n/).filter((line) => {
    if (!isCandidateLine(line)) return true;
    const candidate = parseCandidate(line);
    return candidate !== undefined && isLoopbackHost(candidate.ip) && candidate.ip !== 'localhost';
  });
  return lines.join('\r\n');
}
