/**
 * Which remote candidates the server lets its WebRTC stack send to. An offer's candidates say
 * where the stack sends STUN checks (and, for TCP candidates, where it connects), so an offer
 * from anyone would otherwise aim the server's UDP at any host and port the sender chooses.
 * Refused candidates are taken out of the offer before any stack sees it; a client whose
 * candidates are all refused still connects when its own checks reach the server (ICE learns
 * it as a peer-reflexive candidate, RFC 8445 §7.3.1.3).
 *
 * Pure: an offer in, the offer and what was dropped out, so it composes with other offer rewriting.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { rewriteCandidates, type ParsedOffer } from './parsed-offer.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type Cidr = [Address, number];

export type RefusalReason =
  /** Not an IP address in its usual form (a hostname: the stack would resolve it through DNS). */
  | 'not-an-address'
  | 'multicast'
  | 'broadcast'
  | 'unspecified'
  /** 127.0.0.0/8, ::1: refused by default when the server listens on a non-loopback address. */
  | 'loopback'
  /** 169.254.0.0/16, fe80::/10: as loopback. */
  | 'link-local'
  /** Not 127.0.0.0/8 or ::1, on a server whose ICE is on loopback only (it listens on loopback). */
  | 'not-loopback'
  /** In --candidate-deny. */
  | 'denied'
  /** --candidate-allow is set and the address is outside it. */
  | 'not-allowed';

export interface CandidatePolicy {
  /** When non-empty, only addresses in these ranges pass (after the refusals that always apply and `deny`). */
  allow: readonly Cidr[];
  deny: readonly Cidr[];
  /** Refuse loopback and link-local addresses (outside `allow`). */
  refuseLocal: boolean;
  /** Refuse every address but loopback (NetworkOptions.loopbackOnly), `allow` included. */
  loopbackOnly?: boolean;
}

export interface DroppedCandidate {
  address: string;
  port: string;
  reason: RefusalReason;
}

/** Parses `10.0.0.0/8,fd00::/8,192.0.2.7` (a bare address is a /32 or /128). Throws on anything else. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      if (part.includes('/')) {
        const [address, bits] = ipaddr.parseCIDR(part);
        return [unmap(address), address.kind() === 'ipv6' && unmap(address).kind() === 'ipv4' ? bits - 96 : bits] as Cidr;
      }
      const address = unmap(ipaddr.parse(part));
      return [address, address.kind() === 'ipv4' ? 32 : 128] as Cidr;
    });
}

/**
 * The policy for a server listening on `listenHost`: loopback and link-local are refused unless
 * it listens on loopback; with `loopbackOnly` (its ICE is on loopback only), everything else is.
 */
export function candidatePolicy(options: { allow?: readonly Cidr[]; deny?: readonly Cidr[]; listenHost: string; loopbackOnly?: boolean }): CandidatePolicy {
  return { allow: options.allow ?? [], deny: options.deny ?? [], refuseLocal: !isLoopbackHost(options.listenHost), loopbackOnly: options.loopbackOnly ?? false };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  return ipaddr.isValid(host) && unmap(ipaddr.parse(host)).range() === 'loopback';
}

/** Why `address` is refused, or undefined when it passes. */
export function judgeAddress(address: string, policy: CandidatePolicy): RefusalReason | undefined {
  // Strict forms only: ipaddr.js (like inet_aton) also reads 2130706433 or 0x7f.1 as 127.0.0.1,
  // and a stack that took them for a hostname would ask DNS.
  if (isIP(address) === 0 || !ipaddr.isValid(address)) return 'not-an-address';
  const ip = unmap(ipaddr.parse(address));
  const range = ip.range();
  if (range === 'multicast' || range === 'broadcast' || range === 'unspecified') return range;
  if (policy.deny.some((cidr) => inRange(ip, cidr))) return 'denied';
  if (policy.loopbackOnly && range !== 'loopback') return 'not-loopback';
  if (policy.allow.length > 0) return policy.allow.some((cidr) => inRange(ip, cidr)) ? undefined : 'not-allowed';
  if (policy.refuseLocal && range === 'loopback') return 'loopback';
  if (policy.refuseLocal && range === 'linkLocal') return 'link-local';
  return undefined;
}

/**
 * Drops every `a=candidate` line whose address the policy refuses (and every one the grammar
 * cannot read: it names no address in a form we can judge); the rest of the SDP is untouched,
 * but for `a=end-of-candidates`, which goes too once anything was dropped: a stack told that no
 * candidate will follow may give up as soon as it has checked the ones it got (werift's
 * connect() fails at once on an empty check list, lib/ice/src/ice.js), before the client's own
 * checks teach it the client's address. Nothing refused: the same offer back.
 */
export function applyCandidatePolicy(offer: ParsedOffer, policy: CandidatePolicy): { offer: ParsedOffer; dropped: DroppedCandidate[] } {
  const dropped: DroppedCandidate[] = [];
  const filtered = rewriteCandidates(
    offer,
    (candidate) => {
      const address = candidate?.ip ?? '';
      const reason = judgeAddress(address, policy);
      if (reason === undefined) return 'keep';
      dropped.push({ address, port: candidate ? String(candidate.port) : '', reason });
      return 'drop';
    },
    { dropEndOfCandidates: true },
  );
  return { offer: filtered, dropped };
}

/** ::ffff:a.b.c.d is a.b.c.d: judged, and matched against IPv4 ranges, as such. */
function unmap(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

function inRange(ip: Address, [base, bits]: Cidr): boolean {
  return ip.kind() === base.kind() && ip.match(base, bits);
}
