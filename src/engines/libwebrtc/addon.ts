/**
 * What the libwebrtc echo peer and client peer share: the addon, peer configuration, and the
 * W3C events turned into our gathering promise and state reports.
 *
 * npm `@roamhq/wrtc` wraps Chromium's libwebrtc behind the W3C API, so its types are the DOM's
 * (RTCPeerConnection, MediaStreamTrack…), which TypeScript's default lib provides.
 */
import wrtc from '@roamhq/wrtc';
import type { NetworkOptions } from '../engine.js';
import { closeQuietly } from '../kit/close.js';
import type { PeerStates } from '../kit/state-reporter.js';
import { toIceState, toPeerState } from '../kit/state-reporter.js';

export const { RTCPeerConnection: WrtcPeerConnection, nonstandard } = wrtc;

/** NetworkOptions as an RTCConfiguration; `portRange` is wrtc's own, non-standard field. */
export function peerConfig(network: NetworkOptions = {}): RTCConfiguration & { portRange?: { min: number; max: number } } {
  if (network.udpMux !== undefined) throw new Error('libwebrtc (wrtc) cannot share one UDP port between peers (no ICE UDP mux)');
  return {
    iceServers: (network.iceServers ?? []).map((server) => ({ ...server })),
    iceTransportPolicy: network.relayOnly ? 'relay' : 'all',
    ...(network.portRange ? { portRange: { ...network.portRange } } : {}),
  };
}

/** Resolves when libwebrtc says gathering is complete; the listener goes with it. */
export function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const listener = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', listener);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', listener);
  });
}

/**
 * Forwards the peer connection's states to `states`. wrtc dispatches its events on a later tick
 * and handlers read the state at dispatch time, so the same state often arrives twice in a row
 * (PeerStates drops repeats). libwebrtc reports `closed` only after a local close(): it goes to
 * `onNativeClosed`, and our close() reports it, once and last.
 */
export function followStates(pc: RTCPeerConnection, states: PeerStates, onNativeClosed: () => void): void {
  pc.onconnectionstatechange = () => {
    const state = toPeerState(pc.connectionState);
    if (state === 'closed') onNativeClosed();
    else if (state !== undefined) states.connection.report(state);
  };
  pc.oniceconnectionstatechange = () => {
    const state = toIceState(pc.iceConnectionState);
    if (state !== undefined && state !== 'closed') states.ice.report(state);
  };
}

/**
 * Closes `channels` (their handlers dropped first, so nothing of theirs runs after), then the
 * peer connection, after any `before` steps; every step runs even when one throws.
 */
export function closePeer(pc: RTCPeerConnection, channels: RTCDataChannel[], log: (err: unknown) => void, before: Array<() => void> = []): void {
  closeQuietly(
    [
      ...before,
      ...channels.map((channel) => () => {
        channel.onopen = null;
        channel.onmessage = null;
        channel.onclose = null;
        channel.close();
      }),
      () => pc.close(),
    ],
    log,
  );
}
