/** NetworkOptions as libdatachannel's RtcConfig, and its view of the selected pair. */
import type { IceServer as RtcIceServer, PeerConnection, RtcConfig } from 'node-datachannel';
import type { CandidatePair, NetworkOptions } from '../engine.js';
import type { IceServer } from '../../net/ice-server.js';
import { parseIceUrl } from '../../net/ice-server.js';
import { candidateInfo } from '../kit/ice.js';

export function rtcConfig(network: NetworkOptions = {}, extra: Partial<RtcConfig> = {}): RtcConfig {
  const config: RtcConfig = { iceServers: (network.iceServers ?? []).map(toRtcIceServer), ...extra };
  if (network.relayOnly) config.iceTransportPolicy = 'relay';
  // libjuice bound to one address gathers that address alone (IPv4 loopback: libjuice has one
  // socket, and 127.0.0.1 is what every client on this machine reaches).
  if (network.loopbackOnly) config.bindAddress = '127.0.0.1';
  if (network.udpMux !== undefined) {
    // libjuice's mux: every agent of the process shares the one port, told apart by ufrag.
    config.enableIceUdpMux = true;
    config.portRangeBegin = config.portRangeEnd = network.udpMux;
  } else if (network.portRange) {
    config.portRangeBegin = network.portRange.min;
    config.portRangeEnd = network.portRange.max;
  }
  return config;
}

function toRtcIceServer(server: IceServer): RtcIceServer {
  const url = parseIceUrl(server.urls);
  if (url.scheme === 'stuns') throw new Error('libdatachannel has no STUN over TLS (stuns:)');
  const relayType = url.scheme === 'turns' ? 'TurnTls' : url.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
  return url.scheme === 'stun'
    ? { hostname: url.host, port: url.port }
    : { hostname: url.host, port: url.port, username: server.username, password: server.credential, relayType };
}

/**
 * libdatachannel names candidate types as RTCStats do; its transport is `UDP` or `TCP_*`.
 * Undefined before there is a pair, and once the native peer is gone (it throws then).
 */
export function selectedPairOf(pc: PeerConnection): CandidatePair | undefined {
  let pair: ReturnType<PeerConnection['getSelectedCandidatePair']>;
  try {
    pair = pc.getSelectedCandidatePair();
  } catch {
    return undefined;
  }
  if (!pair) return undefined;
  const local = candidateInfo(pair.local.type, pair.local.transportType, pair.local.address, pair.local.port);
  const remote = candidateInfo(pair.remote.type, pair.remote.transportType, pair.remote.address, pair.remote.port);
  return local && remote ? { local, remote } : undefined;
}
