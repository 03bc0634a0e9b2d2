/** What the werift echo peer and client peer share: peer configuration, gathering, the selected pair. */
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import type { CandidatePair, NetworkOptions } from '../engine.js';
import { candidateInfo } from '../kit/ice.js';

/**
 * NetworkOptions as werift's configuration. `ipv6`: the echo peer gathers IPv6 host candidates
 * (a server must reach IPv6 clients); our client does not by default: werift paces its checks
 * 20 ms apart and checks every pair before it reports `connected`, so each IPv6 pair adds
 * 20 ms to its set-up.
 */
export function peerConfig(network: NetworkOptions = {}, { ipv6 }: { ipv6: boolean }): Partial<RTCPeerConnectionConfig> {
  if (network.udpMux !== undefined) throw new Error('werift cannot share one UDP port between peers (no ICE UDP mux)');
  return {
    iceServers: (network.iceServers ?? []).map((server) => ({ ...server })),
    iceTransportPolicy: network.relayOnly ? 'relay' : 'all',
    icePortRange: network.portRange ? [network.portRange.min, network.portRange.max] : undefined,
    iceUseIpv6: ipv6,
    iceUseLinkLocalAddress: false,
    ...(network.loopbackOnly ? loopbackOnly(ipv6) : {}),
  };
}

/**
 * werift gathers the non-internal interfaces' addresses of each family it uses (lib/ice/src/ice.js
 * gatherCandidates, getHostAddresses) and then adds `iceAdditionalHostAddresses`; with neither
 * family on, those additional ones are all it announces. Its sockets are bound to the same
 * loopback addresses (`iceInterfaceAddresses`), so no check leaves from another interface's
 * address either.
 */
function loopbackOnly(ipv6: boolean): Partial<RTCPeerConnectionConfig> {
  return {
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ipv6 ? ['::1', '127.0.0.1'] : ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1', udp6: '::1' },
  };
}

/** The pair werift's ICE nominated, on the (bundled) first transport. */
export function selectedPairOf(pc: RTCPeerConnection): CandidatePair | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (!pair) return undefined;
  const { localCandidate: l, remoteCandidate: r } = pair;
  const local = candidateInfo(l.type, l.transport, l.host, l.port);
  const remote = candidateInfo(r.type, r.transport, r.host, r.port);
  return local && remote ? { local, remote } : undefined;
}

/** Resolves when werift says gathering is complete; the subscription ends with it. */
export function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const subscription = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      subscription.unSubscribe();
      resolve();
    });
  });
}

/**
 * werift's ICE asks stun.l.google.com:19302 for a server-reflexive candidate whenever it was
 * given no STUN server (werift 0.24 lib/ice/src/ice.js, `new Connection`), even with
 * `iceServers: []`: every session would send test traffic to Google, and where that name does
 * not resolve (a closed network, a namespace) each answer waits 5 s for the lookup. Without a
 * STUN server of our own, gathering asks none. Call before setLocalDescription(), which gathers.
 */
export function withoutDefaultStun(pc: RTCPeerConnection, network: NetworkOptions = {}): void {
  if ((network.iceServers ?? []).some((server) => /^stuns?:/i.test(server.urls))) return;
  for (const transport of pc.iceTransports) (transport.connection as { stunServer?: unknown }).stunServer = undefined;
}
