/**
 * The offer's candidates that an echo peer held back so as not to check the client first,
 * added to its stack once a hold-off has passed and the client has not connected: then the
 * stack checks them, and a client that cannot reach us but that we can reach (our host
 * candidates are private and not forwarded, no --public-ip; a client that keeps only loopback
 * candidates) connects, as RFC 8445 has both agents check (docs/triggered-check.md, "Checking
 * the client after a hold-off").
 *
 * The signal is the stack's ICE state: a client that checks us first connects ICE within a few
 * ms of having our answer, and its candidates are then never added, so nothing changes for it.
 * libdatachannel shows JavaScript none of its ICE traffic, so a client that checked but is not
 * connected yet looks the same as one that could not check: both get our checks.
 */
import type { IceState } from '../engine.js';
import type { ParsedSdp } from '../../sdp/parsed-offer.js';
import type { SdpCandidate } from '../../sdp/candidates.js';

/**
 * How long a server waits for a racing client's own first check before checking it. A client
 * that can reach us checks within a few ms of having our answer (p50 3-6 ms on loopback) and
 * ends the wait. 100 ms, as the native engine's ICE agent (src/engines/native/stack-policy.ts):
 * room for an answer that reaches the client later than our check would, through a TLS proxy or
 * a load balancer.
 */
export const CHECK_HOLD_OFF_MS = 100;

/**
 * A libdatachannel client (origin `o=rtc`): checked before it has applied our answer, it
 * connects ICE and DTLS inside setRemoteDescription before it has stored our fingerprint, and the
 * handshake fails (libdatachannel PR #1612). Every engine holds back its candidates.
 */
export function racesEarlyChecks(offer: ParsedSdp): boolean {
  return String(offer.origin?.username ?? '') === 'rtc';
}

export interface HeldCandidatesOptions {
  candidates: readonly SdpCandidate[];
  /** Hands one candidate to the stack (it may throw or reject: logged, the others still go). */
  add(candidate: SdpCandidate): void | Promise<void>;
  /** The stack's ICE state as last reported. */
  iceState(): IceState | undefined;
  holdOffMs?: number;
  log: { debug(obj: object, msg: string): void };
}

/** ICE states in which the client has been heard and answered: its candidates are not needed. */
const HEARD: ReadonlySet<IceState | undefined> = new Set<IceState | undefined>(['connected', 'completed', 'disconnected', 'failed', 'closed']);

/** Adds the held candidates after the hold-off unless ICE connected first. `cancel()` on close. */
export class HeldCandidates {
  #timer: NodeJS.Timeout | undefined;

  /** Starts the hold-off: from the answer, since the client can check us only once it has it. */
  constructor(private readonly options: HeldCandidatesOptions) {
    if (options.candidates.length === 0) return;
    this.#timer = setTimeout(() => this.#release(), options.holdOffMs ?? CHECK_HOLD_OFF_MS);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #release(): void {
    this.#timer = undefined;
    const { candidates, add, iceState, log } = this.options;
    if (HEARD.has(iceState())) return;
    // Bundled sections repeat the same candidates: the stack gets each once.
    const seen = new Set<string>();
    for (const held of candidates) {
      if (seen.has(held.candidate)) continue;
      seen.add(held.candidate);
      const failed = (err: unknown) => log.debug({ err, candidate: held.candidate }, 'held candidate not added');
      try {
        void Promise.resolve(add(held)).catch(failed);
      } catch (err) {
        failed(err);
      }
    }
    log.debug({ candidates: seen.size, iceState: iceState() }, 'the client did not connect within the hold-off: checking its candidates');
  }
}
