import type { SessionDescription } from '../sdp/description.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import type { CloseReason } from './session.js';

/**
 * One offer's way to a session, in one direction: reserve a slot (the limits decide, before
 * any work is done on the offer), then answer the offer in it. Whatever the caller does in
 * between (mDNS look-ups, the candidate policy) holds the slot, and is refused once shutdown
 * has begun.
 */
export interface OfferReservation {
  /** Answers the checked offer with a new session; throws EchoError when it cannot. At most once. */
  answer(offer: ParsedOffer): Promise<{ id: string; answer: SessionDescription }>;
  /** Gives the slot back unanswered. Idempotent; a no-op once answer() has been called. */
  release(): void;
}

/**
 * What the HTTP layer needs from whoever holds the sessions: the registry of this process
 * (SessionRegistry), or the worker processes of `serve --workers` (echo/worker-pool.ts). Both
 * admit through the same Admission (echo/admission.ts).
 */
export interface SessionHost {
  readonly engineName: string;
  /** Live sessions (in every worker). */
  readonly size: number;
  readonly isDraining: boolean;
  /** A slot for one client's offer (clientKey), or the EchoError that says why not. */
  reserve(client: string): OfferReservation;
  /** Stops accepting offers (ECHO_ERR_DRAINING) and leaves live sessions alone. */
  startDraining(): void;
  /** Resolves once no session is alive and no offer holds a slot. */
  whenEmpty(): Promise<void>;
  /** Stops accepting offers, closes every session, and resolves once all are gone. */
  closeAll(reason?: CloseReason): Promise<void>;
  /** More for /healthz (the worker processes, one by one); {} for one process. */
  health(): Record<string, unknown>;
  /** The Prometheus exposition of /metrics. */
  metricsText(): Promise<string>;
}
