/**
 * Candidates and their priorities (RFC 8445 §5.1.2, §6.1.2.3), host candidates from the
 * machine's interfaces, and the candidates of an offer as sdp-transform parses them.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { LocalCandidate, RemoteCandidate, UdpAddress } from './types.js';

export const TYPE_PREFERENCE = { host: 126, prflx: 110, srflx: 100, relay: 0 } as const;

/** RFC 8445 §5.1.2.1, component 1 (RTP and RTCP are multiplexed). */
export function candidatePriority(type: keyof typeof TYPE_PREFERENCE, localPreference: number): number {
  return TYPE_PREFERENCE[type] * 2 ** 24 + (localPreference & 0xffff) * 2 ** 8 + (256 - 1);
}

/** RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority, D the controlled one's. */
export function pairPriority(controlling: number, controlled: number): bigint {
  const g = BigInt(controlling);
  const d = BigInt(controlled);
  const [min, max] = g < d ? [g, d] : [d, g];
  return (min << 32n) + 2n * max + (g > d ? 1n : 0n);
}

/** The PRIORITY our checks from `local` carry: a peer-reflexive candidate's with its local preference (RFC 8445 §7.1.1). */
export function checkPriority(local: Pick<LocalCandidate, 'priority'>): number {
  return candidatePriority('prflx', local.priority >>> 8);
}

export function family(address: string): 4 | 6 | 0 {
  return isIP(address) as 4 | 6 | 0;
}

/** Which host addresses to announce: every usable interface's (the default), or loopback only. */
export interface HostAddressOptions {
  /** Loopback addresses only (NetworkOptions.loopbackOnly): a server for clients on this machine. */
  loopbackOnly?: boolean;
}

/**
 * How long one read of the machine's interfaces serves. Every answer lists them, and reading
 * them (`os.networkInterfaces()`: getifaddrs and an object per address) is per offer work that
 * grows with the host's interfaces (a container host has one per container); an address that
 * comes or goes is announced at most this much later.
 */
const INTERFACES_TTL_MS = 1_000;
let interfacesRead: { at: number; interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> } | undefined;

function currentInterfaces(): NodeJS.Dict<NetworkInterfaceInfo[]> {
  const now = performance.now();
  if (!interfacesRead || now - interfacesRead.at > INTERFACES_TTL_MS) interfacesRead = { at: now, interfaces: networkInterfaces() };
  return interfacesRead.interfaces;
}

/**
 * The addresses a socket bound to `bound` is reached at, as the other engines announce them
 * here: every interface address of the bound family (both for `::`, dual stack), without
 * link-local ones (a client would need our zone) and without loopback unless there is nothing
 * else (libjuice and werift do the same). A socket bound to one address: that address.
 * `loopbackOnly`: the loopback addresses among those, and nothing else.
 */
export function hostAddresses(
  bound: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = currentInterfaces(),
  { loopbackOnly = false }: HostAddressOptions = {},
): string[] {
  if (bound !== '::' && bound !== '0.0.0.0') return !loopbackOnly || isLoopbackAddress(bound) ? [bound] : [];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const wanted = all.filter((i) => (bound === '::' || i.family === 'IPv4') && !isLinkLocal(i.address));
  const external = wanted.filter((i) => !i.internal);
  const chosen = loopbackOnly ? wanted.filter((i) => isLoopbackAddress(i.address)) : external.length > 0 ? external : wanted;
  return [...new Set(chosen.map((i) => i.address))];
}

/** 127.0.0.0/8 and ::1 (and ::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '');
  return (isIP(v4) === 4 && v4.startsWith('127.')) || address === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(address);
}

function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address) || address.startsWith('169.254.');
}

/**
 * Host candidates for sockets, IPv6 first (RFC 8421 §4: prefer IPv6 when both work), each
 * address a foundation of its own.
 */
export function hostCandidates(
  sockets: ReadonlyArray<{ socket: number; local: UdpAddress }>,
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>,
  options: HostAddressOptions = {},
): LocalCandidate[] {
  const found: Array<{ socket: number; address: string; port: number }> = [];
  for (const { socket, local } of sockets) {
    for (const address of hostAddresses(local.address, interfaces, options)) found.push({ socket, address, port: local.port });
  }
  found.sort((a, b) => family(b.address) - family(a.address));
  return found.map((c, index) => ({ ...c, foundation: String(index + 1), priority: candidatePriority('host', 65535 - index) }));
}

/** `a=candidate:...` without the `a=`, as the answer carries it. */
export function candidateLine(candidate: LocalCandidate, address = candidate.address): string {
  return `candidate:${candidate.foundation} 1 udp ${candidate.priority} ${address} ${candidate.port} typ host`;
}

/** What sdp-transform makes of an `a=candidate` line. */
export interface ParsedCandidate {
  foundation: string | number;
  component: number;
  transport: string;
  priority: number | string;
  ip: string;
  port: number;
  type: string;
}

/**
 * The offer's candidates the agent can check: UDP, component 1 (RTCP is multiplexed), an IP
 * address (an mDNS name the route could not resolve is left to the client's own checks).
 */
export function remoteCandidates(parsed: readonly ParsedCandidate[]): RemoteCandidate[] {
  const out: RemoteCandidate[] = [];
  for (const c of parsed) {
    const type = String(c.type).toLowerCase();
    const priority = Number(c.priority);
    if (String(c.transport).toLowerCase() !== 'udp' || Number(c.component) !== 1 || family(c.ip) === 0) continue;
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535 || !Number.isInteger(priority) || priority < 1 || priority > 0xffffffff) continue;
    if (type !== 'host' && type !== 'srflx' && type !== 'prflx' && type !== 'relay') continue;
    const address = c.ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
    if (out.some((o) => o.address === address && o.port === c.port)) continue;
    out.push({ address, port: c.port, priority, type, foundation: String(c.foundation) });
  }
  return out;
}
