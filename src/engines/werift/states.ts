/** werift's connection and ICE events, as our PeerStates report them. */
import type { RTCPeerConnection } from 'werift';
import type { IceState } from '../engine.js';
import type { PeerStates } from '../kit/state-reporter.js';

/**
 * Subscribes `states` to the peer's events and returns the unsubscribers. `closed` from werift
 * goes to `onWeriftClosed` (our close() reports it, once and last), not to `states`.
 */
export function followStates(pc: RTCPeerConnection, states: PeerStates, onWeriftClosed: () => void): Array<() => void> {
  let lastIce: IceState = 'new';
  return [
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'closed') onWeriftClosed();
      else states.connection.report(state);
    }).unSubscribe,
    pc.iceConnectionStateChange.subscribe((state) => {
      if (state === 'closed') return;
      // werift 0.24 reports `completed` once before `checking` when the gatherer finishes;
      // RTCIceConnectionState only reaches `completed` after checking, so that one is dropped.
      if (state === 'completed' && (lastIce === 'new' || lastIce === 'checking')) return;
      lastIce = state;
      states.ice.report(state);
    }).unSubscribe,
  ];
}
