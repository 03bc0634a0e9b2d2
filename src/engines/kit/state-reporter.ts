/**
 * State reporting with the interface's promise kept in one place: repeats are dropped, a
 * listener that throws does not stop the others, and once `closed` is reported nothing follows
 * it, whether the native stack or our own close() said it first.
 */
import type { IceState, PeerState } from '../engine.js';

export class StateReporter<State extends string> {
  #listeners: Array<(state: State) => void> = [];
  #current: State | undefined;
  #closed = false;

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get current(): State | undefined {
    return this.#current;
  }

  listen(listener: (state: State) => void): void {
    if (!this.#closed) this.#listeners.push(listener);
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

/** A peer's two state channels, connection and ICE, closed together. */
export class PeerStates {
  readonly connection: StateReporter<PeerState>;
  readonly ice: StateReporter<IceState>;

  constructor(onListenerError: (err: unknown) => void) {
    this.connection = new StateReporter<PeerState>(onListenerError);
    this.ice = new StateReporter<IceState>(onListenerError);
  }

  /** Reports `closed` on ICE, then on the connection: the last event of each, once. */
  close(): void {
    this.ice.report('closed');
    this.connection.report('closed');
  }
}

const PEER_STATES: ReadonlySet<string> = new Set<PeerState>(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);
const ICE_STATES: ReadonlySet<string> = new Set<IceState>(['new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed']);

/** Stacks name their states as the W3C API does; anything else is not ours to report. */
export function toPeerState(state: string): PeerState | undefined {
  return PEER_STATES.has(state) ? (state as PeerState) : undefined;
}

export function toIceState(state: string): IceState | undefined {
  return ICE_STATES.has(state) ? (state as IceState) : undefined;
}
