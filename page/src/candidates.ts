import { candidateLines, isMdnsName, parseCandidate } from '../../src/sdp/candidate-line.js';

/**
 * A one-line account of the candidates inside an SDP, because with non-trickle ICE they are
 * all there is: "2 host (1 mDNS), 1 srflx · udp". Most failed echoes start here.
 */
export function summarizeCandidates(sdp: string | null): string {
  if (!sdp) return '—';
  const lines = candidateLines(sdp);
  if (lines.length === 0) return 'none';
  const byType = new Map<string, number>();
  const protocols = new Set<string>();
  let mdns = 0;
  let ipv6 = 0;
  for (const line of lines) {
    const candidate = parseCandidate(line);
    const type = candidate?.type ?? '?';
    byType.set(type, (byType.get(type) ?? 0) + 1);
    if (!candidate) continue;
    protocols.add(candidate.transport.toLowerCase());
    if (isMdnsName(candidate.ip)) mdns++;
    else if (candidate.ip.includes(':')) ipv6++;
  }
  const types = [...byType].map(([type, n]) => `${n} ${type}`).join(', ');
  const notes = [mdns > 0 ? `${mdns} mDNS` : '', ipv6 > 0 ? `${ipv6} IPv6` : ''].filter(Boolean).join(', ');
  return `${types}${notes ? ` (${notes})` : ''} · ${[...protocols].join('/')}`;
}
