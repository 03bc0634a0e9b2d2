/**
 * 1:1 NAT, as Janus's `nat_1_1_mapping` does it: a server behind a NAT that forwards its UDP
 * ports unchanged (a cloud VM, a container with published ports) announces its public address
 * in the host candidates of its answers, with the ports it bound. The private address is left
 * out: a client outside cannot reach it, and the one inside reaches the public one through the
 * NAT (hairpin) or finds the server peer-reflexively from its own checks.
 */
import { isIP } from 'node:net';
import { parseCandidate, withAddress } from './candidate-line.js';

/** Rewrites the host candidates of `sdp` whose address family has a public address; drops duplicates that makes. */
export function announcePublicAddresses(sdp: string, publicIps: readonly string[]): string {
  const byFamily = new Map<number, string>();
  for (const ip of publicIps) if (!byFamily.has(isIP(ip))) byFamily.set(isIP(ip), ip);
  if (byFamily.size === 0) return sdp;
  const seen = new Set<string>();
  const lines = sdp.split(/\r?\n/).flatMap((line) => {
    const candidate = parseCandidate(line);
    if (!candidate || candidate.type !== 'host') return [line];
    const publicIp = byFamily.get(isIP(candidate.ip));
    if (publicIp === undefined) return [line];
    // A socket bound to every interface is announced once per interface, with one port.
    const key = `${publicIp} ${candidate.port} ${candidate.transport}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [withAddress(line, publicIp)];
  });
  return lines.join('\r\n');
}
