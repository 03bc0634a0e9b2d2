/**
 * What the libdatachannel echo peer and client peer share: state mapping, a bounded wait for
 * ICE gathering, and a reporter that guarantees `closed` comes once and last.
 */
import { cleanup, type PeerConnection } from 'node-datachannel';
import type { IceState, PeerState } from './engine.js';

const PEER_STATES: ReadonlySet<string> = new Set<PeerState>([
  'new', 'connecting', 'connected', 'disconnected', 'failed', 'closed',
]);
const ICE_STATES: ReadonlySet<string> = new Set<IceState>([
  'new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed',
]);

/** libdatachannel names its states as the W3C API does; anything else is ignored. */
export function toPeerState(state: string): PeerState | undefined {
  return PEER_STATES.has(state) ? (state as PeerState) : undefined;
}

export function toIceState(state: string): IceState | undefined {
  return ICE_STATES.has(state) ? (state as IceState) : undefined;
}

/**
 * Fans state changes out to listeners. Repeats are dropped, and once `closed` is reported
 * nothing follows it, whether the native stack or our own close() said it first.
 */
export class StateReporter<State extends string> {
  #listeners: Array<(state: State) => void> = [];
  #current: State | undefined;
  #closed = false;

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get current(): State | undefined {
    return this.#current;
  }

  listen(listener: (state: State) => void): void {
    this.#listeners.push(listener);
  }

  report(state: State): void {
    if (this.#closed || state === this.#current) return;
    this.#current = state;
    if (state === 'closed') this.#closed = true;
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    if (this.#closed) this.#listeners = [];
  }
}

/**
 * Resolves once gathering is complete, or after `timeoutMs` with whatever was gathered so far
 * (non-trickle: the description we hand out must carry every candidate we will ever have).
 * libdatachannel accepts one gathering callback per peer connection, so the caller passes the
 * event in through `gatheringDone`, a promise it resolves from its own callback.
 */
export async function waitForGathering(
  pc: PeerConnection,
  gatheringDone: Promise<void>,
  timeoutMs: number,
): Promise<'complete' | 'timeout'> {
  if (pc.gatheringState() === 'complete') return 'complete';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([gatheringDone.then(() => 'complete' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve function, for events that fire once. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Data channel messages arrive as string, Buffer or ArrayBuffer; we hand out string or Buffer. */
export function toMessage(message: string | Buffer | ArrayBuffer): string | Buffer {
  return typeof message === 'string' || Buffer.isBuffer(message) ? message : Buffer.from(message);
}

/** What one of our node-datachannel peers owns; `teardown` releases all of it. */
export interface OwnedPeer {
  pc: PeerConnection;
  channels: { close(): void }[];
  tracks: { close(): void }[];
  gathered: { resolve: () => void };
  states: StateReporter<PeerState>;
  iceStates: StateReporter<IceState>;
  log: (err: unknown) => void;
}

/**
 * Closes channels, tracks and the connection (every step, even when one throws), wakes a
 * pending gathering wait, and reports `closed` last. Shared by the client and the echo peer:
 * they own the same kinds of native objects. Callers then call peerClosed().
 */
export function teardown(peer: OwnedPeer): void {
  closeQuietly(
    [...peer.channels.map((channel) => () => channel.close()), ...peer.tracks.map((track) => () => track.close()), () => peer.pc.close()],
    peer.log,
  );
  peer.gathered.resolve();
  peer.iceStates.report('closed');
  peer.states.report('closed');
}

/** Runs every cleanup step even when one throws: close() must never stop partway. */
export function closeQuietly(steps: Iterable<() => void>, log: (err: unknown) => void): void {
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      log(err);
    }
  }
}

/**
 * libdatachannel hands a compound RTCP packet to a track once per SSRC in it that belongs to
 * the track (impl/peerconnection.cpp, dispatchMedia): a PLI from the client's SSRC about our
 * SSRC arrives twice in a row. This drops a packet equal to the one just before it on the
 * same track; any RTP in between resets it.
 */
export class RtcpRepeatFilter {
  #last: Buffer | undefined;

  isRepeat(rtcp: Buffer): boolean {
    if (this.#last !== undefined && this.#last.equals(rtcp)) return true;
    this.#last = rtcp;
    return false;
  }

  reset(): void {
    this.#last = undefined;
  }
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

export function peerOpened(): void {
  livePeers++;
}

export function peerClosed(log: (err: unknown) => void): void {
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
