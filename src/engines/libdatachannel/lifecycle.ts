/**
 * What the libdatachannel echo peer and client peer share: one teardown of the native objects
 * a peer owns, and the process-wide release of node-datachannel's native callbacks.
 */
import { cleanup, type PeerConnection } from 'node-datachannel';
import type { PeerState } from '../engine.js';
import { closeQuietly } from '../kit/close.js';
import { toIceState, toPeerState, type PeerStates } from '../kit/state-reporter.js';

/** What one of our node-datachannel peers owns; `teardown` releases all of it. */
export interface OwnedPeer {
  pc: PeerConnection;
  channels: { close(): void }[];
  tracks: { close(): void }[];
  gathered: { resolve: () => void };
  states: PeerStates;
  log: (err: unknown) => void;
}

/**
 * The native events both peers follow the same way: gathering complete wakes `gathered`, ICE
 * states go to `states.ice`, and connection states (`closed` included) to `onState`, where each
 * peer decides what to report.
 */
export function followNative(pc: PeerConnection, gathered: { resolve: () => void }, states: PeerStates, onState: (state: PeerState) => void): void {
  pc.onGatheringStateChange((state) => {
    if (state === 'complete') gathered.resolve();
  });
  pc.onStateChange((native) => {
    const state = toPeerState(native);
    if (state !== undefined) onState(state);
  });
  pc.onIceStateChange((native) => {
    const state = toIceState(native);
    if (state !== undefined) states.ice.report(state);
  });
}

/**
 * Closes channels, tracks and the connection (every step, even when one throws), wakes a
 * pending gathering wait, reports `closed` last, and lets the process-wide cleanup run once
 * this was the last peer.
 */
export function teardown(peer: OwnedPeer): void {
  closeQuietly(
    [...peer.channels.map((channel) => () => channel.close()), ...peer.tracks.map((track) => () => track.close()), () => peer.pc.close()],
    peer.log,
  );
  peer.gathered.resolve();
  peer.states.close();
  peerClosed(peer.log);
}

/**
 * node-datachannel keeps the event loop alive through one native callback per peer connection,
 * channel and track, released only when that object's closed event reaches JavaScript. For an
 * incoming data channel that closes while its wrapper is on its way to JavaScript, that event
 * sometimes never comes (we saw about one run in six on loopback; node-datachannel 0.33.4,
 * compare murat-dogan/node-datachannel#349), and the process then never exits. So once the
 * last of our peers in this process has closed, we also run the library's global cleanup(),
 * which releases every native callback (a few milliseconds; libdatachannel starts again on the
 * next PeerConnection). Every node-datachannel user in this process goes through this engine.
 */
let livePeers = 0;
let cleanupScheduled = false;

/** Every new PeerConnection calls this; teardown() balances it. */
export function peerOpened(): void {
  livePeers++;
}

/**
 * For a node-datachannel peer that is not one of ours (a test's bare client): the global cleanup
 * waits until it is closed too, instead of destroying it under its user, and then releases its
 * callbacks as well. Call the returned function once the peer is closed.
 */
export function foreignPeerOpened(log: (err: unknown) => void): () => void {
  peerOpened();
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    peerClosed(log);
  };
}

function peerClosed(log: (err: unknown) => void): void {
  livePeers--;
  if (livePeers > 0 || cleanupScheduled) return;
  cleanupScheduled = true;
  // Not at once: cleanup() also drops libdatachannel's cached DTLS certificate and its thread
  // pool, and rebuilding them costs every next session ~6 ms (the bench saw the answer take
  // 9 ms instead of 3). A server with a steady trickle of clients never gets here; an idle
  // process exits this much later. The timer is unref'd: it never holds a process up itself.
  setTimeout(() => {
    cleanupScheduled = false;
    if (livePeers > 0) return;
    try {
      cleanup();
    } catch (err) {
      log(err);
    }
  }, IDLE_CLEANUP_MS).unref();
}

const IDLE_CLEANUP_MS = 2_000;
