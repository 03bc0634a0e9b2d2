/** What the werift echo peer and client peer share: peer configuration and gathering. */
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';

/**
 * Options both sides use. No ICE servers (the Echo Test runs on one host or LAN). IPv4 only:
 * werift paces its connectivity checks 20 ms apart and keeps checking every pair before it
 * reports `connected`, so each IPv6 pair adds 20 ms on both sides (measured, see the report).
 */
export const BASE_PEER_CONFIG: RTCPeerConnectionConfig = {
  iceServers: [],
  iceUseIpv6: false,
  iceUseLinkLocalAddress: false,
};

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
