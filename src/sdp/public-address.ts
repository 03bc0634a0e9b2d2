/**
 * 1:1 NAT, as Janus's `nat_1_1_mapping` does it: a server behind a NAT that forwards its UDP
 * ports unchanged (a cloud VM, a container with published ports) announces its public address
 * in the host candidates of its answers, with the ports it bound. The private address is left
 * out: a client outside cannot reach it, and the one inside reaches the public one through the
 * NAT (hairpin) or finds the server peer-reflexively from its own checks.
 */
import { isIP } from 'node:net';

const HOST_CANDIDATE = /^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( (\d+) typ host\b.*)$/;

/** Rewrites the host candidates of `sdp` whose address family has a public address; drops duplicates that makes. */
export function announcePublicAddresses(sdp: string, publicIps: readonly string[]): string {
  const byFamily = new Map<number, string>();
  for (const ip of publicIps) if (!byFamily.has(isIP(ip))) byFamily.set(isIP(ip), ip);
  if (byFamily.size === 0) return sdp;
  const seen = new Set<string>();
  const lines = sdp.split(/\r?\n/).flatMap((line) => {
    const match = HOST_CANDIDATE.exec(line);
    if (!match) return [line];
    const [, head, address, tail, port] = match;
    const publicIp = byFamily.get(isIP(address!));
    if (publicIp === undefined) return [line];
    // A socket bound to every interface is announced once per interface, with one port.
    const key = `${publicIp} ${port} ${head!.split(' ')[2]}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [`${head}${publicIp}${tail}`];
  });
  return lines.join('\r\n');
}
