import multicastDns from 'multicast-dns';
import { isIP } from 'node:net';
import { isMdnsName, type Candidate } from './candidate-line.js';
import { rewriteCandidates, type ParsedOffer } from './parsed-offer.js';

/**
 * Browsers hide host candidates behind mDNS names (`<uuid>.local`, draft-ietf-mmusic-mdns-ice-candidates)
 * unless the page has camera permission. Not every stack resolves them (libdatachannel does not),
 * so the server resolves them before the stack sees the offer, whatever the engine.
 */

/**
 * Bounds on the look-ups of one offer. A browser uses one name per local address, so a real
 * offer has a handful; the time bound is what a browser-only client waits before its answer.
 * Whatever the network answers is only an address: the candidate policy judges it next.
 */
export const MDNS_LIMITS = { maxNames: 8, timeoutMs: 1_500 } as const;

/**
 * Replaces `.local` candidate addresses with the addresses they resolve to; drops those that
 * do not resolve, and those whose name is past the first `maxNames` (never asked).
 */
export async function resolveMdnsCandidates(
  offer: ParsedOffer,
  { timeoutMs = MDNS_LIMITS.timeoutMs, maxNames = MDNS_LIMITS.maxNames }: { timeoutMs?: number; maxNames?: number } = {},
): Promise<{ offer: ParsedOffer; resolved: number; unresolved: number; names: number }> {
  const isName = (candidate: Candidate | undefined): candidate is Candidate => candidate !== undefined && isMdnsName(candidate.ip);
  const names = new Set<string>();
  for (const part of [offer.parsed as { candidates?: Candidate[] }, ...offer.parsed.media]) {
    for (const candidate of part.candidates ?? []) if (isName(candidate)) names.add(candidate.ip.toLowerCase());
  }
  if (names.size === 0) return { offer, resolved: 0, unresolved: 0, names: 0 };
  const addresses = await queryMdns([...names].slice(0, maxNames), timeoutMs);
  let resolved = 0;
  let unresolved = 0;
  const out = rewriteCandidates(offer, (candidate) => {
    if (!isName(candidate)) return 'keep';
    const address = addresses.get(candidate.ip.toLowerCase());
    if (!address) {
      unresolved++;
      return 'drop';
    }
    resolved++;
    return { address };
  });
  return { offer: out, resolved, unresolved, names: names.size };
}

/** One multicast query for every name (A and AAAA), answered or not within `timeoutMs`. */
async function queryMdns(names: string[], timeoutMs: number): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const mdns = multicastDns({ loopback: true, reuseAddr: true });
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      mdns.on('response', (response) => {
        for (const answer of [...response.answers, ...(response.additionals ?? [])]) {
          const name = answer.name.toLowerCase();
          if ((answer.type === 'A' || answer.type === 'AAAA') && names.includes(name) && typeof answer.data === 'string' && isIP(answer.data)) {
            // Prefer IPv4: every stack we drive handles it, and it is what browsers announce first.
            if (!found.has(name) || (answer.type === 'A' && isIP(found.get(name)!) === 6)) found.set(name, answer.data);
          }
        }
        if (names.every((n) => found.has(n))) {
          clearTimeout(timer);
          resolve();
        }
      });
      mdns.on('error', () => {
        clearTimeout(timer);
        resolve();
      });
      mdns.query(names.flatMap((name) => [{ name, type: 'A' as const }, { name, type: 'AAAA' as const }]));
    });
  } finally {
    mdns.destroy();
  }
  return found;
}
