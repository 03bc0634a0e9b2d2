/**
 * A one-line account of the candidates inside an SDP, because with non-trickle ICE they are
 * all there is: "2 host (1 mDNS), 1 srflx · udp". Most failed echoes start here.
 */
export function summarizeCandidates(sdp: string | null): string {
  if (!sdp) return '—';
  const lines = sdp.split(/\r?\n/).filter((line) => line.startsWith('a=candidate:'));
  if (lines.length === 0) return 'none';
  const byType = new Map<string, number>();
  const protocols = new Set<string>();
  let mdns = 0;
  let ipv6 = 0;
  for (const line of lines) {
    // a=candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> …
    const [, , protocol, , address = '', , , type = '?'] = line.slice('a=candidate:'.length).split(' ');
    byType.set(type, (byType.get(type) ?? 0) + 1);
    if (protocol) protocols.add(protocol.toLowerCase());
    if (address.endsWith('.local')) mdns++;
    else if (address.includes(':')) ipv6++;
  }
  const types = [...byType].map(([type, n]) => `${n} ${type}`).join(', ');
  const notes = [mdns > 0 ? `${mdns} mDNS` : '', ipv6 > 0 ? `${ipv6} IPv6` : ''].filter(Boolean).join(', ');
  return `${types}${notes ? ` (${notes})` : ''} · ${[...protocols].join('/')}`;
}
