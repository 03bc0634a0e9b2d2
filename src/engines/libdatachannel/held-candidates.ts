/**
 * The offer's candidates that the echo peer held back (answer-policy.ts), added to libjuice
 * once the hold-off has passed and the client has not connected: then libjuice checks them,
 * and a client that cannot reach us but that we can reach (our host candidates are private and
 * not forwarded, no --public-ip; a client that keeps only loopback candidates) connects.
 *
 * The signal is libjuice's ICE state: a client that checks us first connects ICE within a few
 * ms of having our answer (our triggered check back, 1 ms later: triggered-check.ts), and its
 * candidates are then never added, so nothing changes for it. libdatachannel shows JavaScript
 * none of its ICE traffic, so a client that checked but is not yet connected looks the same as
 * one that could not check: both get our checks, which RFC 8445 has both agents send anyway.
 */
import type { PeerConnection } from 'node-datachannel';
import type { IceState } from '../engine.js';
import type { SdpCandidate } from '../../sdp/candidates.js';

export interface HeldCandidatesOptions {
  pc: PeerConnection;
  candidates: readonly SdpCandidate[];
  holdOffMs: number;
  /** libjuice's ICE state as last reported. */
  iceState: () => IceState | undefined;
  log: { debug(obj: object, msg: string): void };
}

/** ICE states in which the client has been heard and answered: its candidates are not needed. */
const HEARD: ReadonlySet<IceState | undefined> = new Set<IceState | undefined>(['connected', 'completed', 'disconnected', 'failed', 'closed']);

/** Adds the held candidates after the hold-off unless ICE connected first. `cancel()` on close. */
export class HeldCandidates {
  #timer: NodeJS.Timeout | undefined;
  /** Whether the candidates went to libjuice (for tests and the session log). */
  added = false;

  constructor(private readonly options: HeldCandidatesOptions) {
    if (options.candidates.length === 0) return;
    this.#timer = setTimeout(() => this.#release(), options.holdOffMs);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #release(): void {
    this.#timer = undefined;
    const { pc, candidates, iceState, log } = this.options;
    if (HEARD.has(iceState())) return;
    // Bundled sections repeat the same candidates; libjuice gets each address once.
    const seen = new Set<string>();
    for (const { candidate, mid } of candidates) {
      if (seen.has(candidate)) continue;
      seen.add(candidate);
      try {
        pc.addRemoteCandidate(candidate, mid);
      } catch (err) {
        log.debug({ err, candidate }, 'held candidate not added');
      }
    }
    this.added = true;
    log.debug({ candidates: seen.size, iceState: iceState() }, 'the client did not connect within the hold-off: checking its candidates');
  }
}
