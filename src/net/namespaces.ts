/**
 * Small networks of our own, in Linux network namespaces joined by veth pairs, for what
 * loopback cannot show: a client behind a symmetric NAT, a client whose UDP is blocked except
 * to a TURN server, a server behind a NAT that forwards its ports, a server behind a NAT that
 * forwards only HTTP (only the server can open the UDP path). Each is three hosts,
 * client — router — server, and nothing in them is routed to the machine's own interfaces.
 * The router is a namespace with forwarding on and nftables rules (masquerade, DNAT, filter).
 * Needs root, iproute2 and nftables; coturn for the relay network.
 *
 *   public side  203.0.113.0/24 (TEST-NET-3): the server, or the router's outside
 *   private side 10.77.0.0/24: the client behind its NAT, or the server behind its NAT
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IceServer } from './ice-server.js';

const run = promisify(execFile);

/** `direct`: loopback, no namespaces. The others are built here. */
export const NETWORKS = ['direct', 'nat', 'relay', 'server-nat', 'server-outbound'] as const;
export type NetworkName = (typeof NETWORKS)[number];

export const NETWORK_LABELS: Record<NetworkName, string> = {
  direct: 'direct (loopback)',
  nat: 'client behind a symmetric NAT',
  relay: 'client UDP blocked except to TURN, relay only',
  'server-nat': 'server behind a NAT with DNAT and --public-ip',
  'server-outbound': 'server behind a NAT that forwards only HTTP, no --public-ip: only the server can open the path',
};

const PUBLIC = { router: '203.0.113.1', host: '203.0.113.2', turn: '203.0.113.3' } as const;
const PRIVATE = { router: '10.77.0.1', host: '10.77.0.2' } as const;

/** The TURN server of the relay network (coturn in the server's namespace). */
export const TURN = { address: PUBLIC.turn, port: 3478, username: 'echo', credential: 'echo-secret', realm: 'webrtc-echo.test' } as const;

/** The server's UDP ports that the server-nat router forwards; our server gets them as --udp-port-range. */
export const FORWARDED_UDP = { min: 42000, max: 42199 } as const;

export interface Topology {
  readonly name: NetworkName;
  /** Prefix that runs a command on the client's host ([] for direct). */
  readonly clientExec: string[];
  readonly serverExec: string[];
  /** Where a server listens. */
  readonly serverListen: string;
  /** The host of the server's URL, as the client reaches it. */
  readonly serverHost: string;
  /** What our own server needs to be reachable here (--public-ip, --udp-port-range). */
  readonly serveArgs: string[];
  /** What a client needs here: the TURN server, and whether it may use relay candidates only. */
  readonly client: { iceServers: IceServer[]; relayOnly: boolean };
  /** Removes the namespaces (and with them the veths and rules). Idempotent, never throws. */
  remove(): Promise<void>;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  for (const [command, args] of [['ip', ['netns', 'list']], ['nft', ['--version']]] as const) {
    try {
      await run(command, [...args], { timeout: 5_000 });
    } catch (err) {
      return `${command} is unavailable: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

/** Loopback: no namespaces, server and client on 127.0.0.1. */
export const DIRECT: Topology = {
  name: 'direct',
  clientExec: [],
  serverExec: [],
  serverListen: '127.0.0.1',
  serverHost: '127.0.0.1',
  // What serve does by itself on 127.0.0.1, said here: this machine's other addresses carry none
  // of the matrix's packets (the namespaces' own networks are where the other topologies go).
  serveArgs: ['--ice-addresses', 'loopback'],
  client: { iceServers: [], relayOnly: false },
  remove: async () => undefined,
};

/** Builds `name` under names tagged with `tag` (unique per concurrent use: a pid, a cell number). */
export async function createTopology(name: NetworkName, tag: string): Promise<Topology> {
  if (name === 'direct') return DIRECT;
  const ns = { client: `we-${tag}-c`, router: `we-${tag}-r`, server: `we-${tag}-s` };
  const exec = (namespace: string) => ['ip', 'netns', 'exec', namespace];
  const remove = async () => {
    // Deleting a namespace deletes its ends of the veths, and with them the other ends.
    for (const namespace of Object.values(ns)) await run('ip', ['netns', 'del', namespace], { timeout: 5_000 }).catch(() => undefined);
  };
  try {
    await build(name, ns, tag);
  } catch (err) {
    await remove();
    throw err;
  }
  const serverBehindNat = name === 'server-nat' || name === 'server-outbound';
  return {
    name,
    clientExec: exec(ns.client),
    serverExec: exec(ns.server),
    serverListen: serverBehindNat ? PRIVATE.host : PUBLIC.host,
    serverHost: serverBehindNat ? PUBLIC.router : PUBLIC.host,
    serveArgs: name === 'server-nat' ? ['--public-ip', PUBLIC.router, '--udp-port-range', `${FORWARDED_UDP.min}-${FORWARDED_UDP.max}`] : [],
    client:
      name === 'relay'
        ? { iceServers: [{ urls: `turn:${TURN.address}:${TURN.port}?transport=udp`, username: TURN.username, credential: TURN.credential }], relayOnly: true }
        : { iceServers: [], relayOnly: false },
    remove,
  };
}

async function build(name: Exclude<NetworkName, 'direct'>, ns: { client: string; router: string; server: string }, tag: string): Promise<void> {
  const ip = (...args: string[]) => run('ip', args, { timeout: 5_000 });
  const inside = (namespace: string, command: string, ...args: string[]) => run('ip', ['netns', 'exec', namespace, command, ...args], { timeout: 5_000 });
  for (const namespace of Object.values(ns)) {
    await ip('netns', 'add', namespace);
    await ip('-n', namespace, 'link', 'set', 'lo', 'up');
  }
  // The router's two links: `in` towards the client, `out` towards the server.
  const veth = { client: `wc${tag}`.slice(0, 15), routerIn: `wri${tag}`.slice(0, 15), routerOut: `wro${tag}`.slice(0, 15), server: `ws${tag}`.slice(0, 15) };
  await ip('link', 'add', veth.client, 'type', 'veth', 'peer', 'name', veth.routerIn);
  await ip('link', 'add', veth.server, 'type', 'veth', 'peer', 'name', veth.routerOut);
  for (const [dev, namespace] of [[veth.client, ns.client], [veth.routerIn, ns.router], [veth.routerOut, ns.router], [veth.server, ns.server]] as const) {
    await ip('link', 'set', dev, 'netns', namespace);
    await ip('-n', namespace, 'link', 'set', dev, 'up');
  }
  await inside(ns.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');

  const serverBehindNat = name === 'server-nat' || name === 'server-outbound';
  // Client behind NAT: the client is private, the server public. Server behind NAT: the reverse.
  const [clientSide, serverSide] = serverBehindNat ? [PUBLIC, PRIVATE] : [PRIVATE, PUBLIC];
  await ip('-n', ns.client, 'addr', 'add', `${clientSide.host}/24`, 'dev', veth.client);
  await ip('-n', ns.router, 'addr', 'add', `${clientSide.router}/24`, 'dev', veth.routerIn);
  await ip('-n', ns.router, 'addr', 'add', `${serverSide.router}/24`, 'dev', veth.routerOut);
  await ip('-n', ns.server, 'addr', 'add', `${serverSide.host}/24`, 'dev', veth.server);
  if (name === 'relay') await ip('-n', ns.server, 'addr', 'add', `${TURN.address}/24`, 'dev', veth.server);
  // Default routes through the router (Chromium gathers nothing on a host without one).
  await ip('-n', ns.client, 'route', 'add', 'default', 'via', clientSide.router);
  await ip('-n', ns.server, 'route', 'add', 'default', 'via', serverSide.router);

  await nft(ns.router, rules(name, veth.routerIn, veth.routerOut));
}

/** The router's nftables ruleset for each network. */
function rules(name: Exclude<NetworkName, 'direct'>, inside: string, outside: string): string {
  if (name === 'server-nat') {
    // `inside` faces the public client, `outside` the private server. Only what is forwarded
    // reaches the server (HTTP and its UDP range, DNAT), and the server can only answer: a
    // new flow from it is dropped, so it is reachable at the router's address or not at all.
    return `
table ip nat {
  chain prerouting {
    type nat hook prerouting priority -100;
    iifname "${inside}" ip daddr ${PUBLIC.router} tcp dport 1024-65535 dnat to ${PRIVATE.host}
    iifname "${inside}" ip daddr ${PUBLIC.router} udp dport ${FORWARDED_UDP.min}-${FORWARDED_UDP.max} dnat to ${PRIVATE.host}
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct status dnat accept
  }
}`;
  }
  if (name === 'server-outbound') {
    // `inside` faces the public client, `outside` the private server. Only HTTP (TCP) is
    // forwarded to the server, no UDP; the server's own new flows go out masqueraded, as from a
    // home or office router. The server announces its private address, which the client cannot
    // reach (a new flow to it is dropped), so ICE works only when the server checks the client:
    // the client then sees a peer-reflexive address of the router, and answers through that flow.
    return `
table ip nat {
  chain prerouting {
    type nat hook prerouting priority -100;
    iifname "${inside}" ip daddr ${PUBLIC.router} tcp dport 1024-65535 dnat to ${PRIVATE.host}
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "${inside}" ip saddr ${PRIVATE.host} masquerade
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct status dnat accept
    iifname "${outside}" accept
  }
}`;
  }
  // The client's NAT: a new mapping (address and port) for every flow, so what the server
  // sees of the client differs per destination (RFC 4787 "address and port-dependent"), and
  // nothing from outside reaches the inside but answers to what the inside sent.
  // relay: besides, the client may open TCP (signaling) anywhere, UDP only to the TURN server.
  const outbound =
    name === 'nat'
      ? `iifname "${inside}" accept`
      : `iifname "${inside}" meta l4proto tcp accept
    iifname "${inside}" ip daddr ${TURN.address} udp dport ${TURN.port} accept`;
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "${outside}" masquerade fully-random
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ${outbound}
  }
}`;
}

async function nft(namespace: string, ruleset: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', namespace, 'nft', '-f', '-'], { timeout: 5_000 }, (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(ruleset);
  });
}
