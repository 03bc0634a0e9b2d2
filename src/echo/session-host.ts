import type { EngineCapabilities } from '../engines/engine.js';
import type { SessionDescription } from '../sdp/description.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import type { TrickledCandidate } from '../sdp/sdpfrag.js';
import type { CloseReason } from './session.js';

/**
 * What a session is for: the Echo Test's (`POST /offer`), a WHIP publisher's (`POST /whip`,
 * echoed too where it offers sendrecv), or a WHEP viewer's of one publisher (`POST /whep/{id}`).
 * Plain data: it crosses to worker processes.
 */
export type SessionRole = { readonly kind: 'echo' } | { readonly kind: 'publisher' } | { readonly kind: 'viewer'; readonly publisher: string };

export const ECHO_ROLE: SessionRole = { kind: 'echo' };

/** Whether `actual` is the role a resource URL names (a viewer under its own publisher). */
export function sameRole(actual: SessionRole | undefined, wanted: SessionRole): boolean {
  if (!actual || actual.kind !== wanted.kind) return false;
  return actual.kind !== 'viewer' || (wanted.kind === 'viewer' && actual.publisher === wanted.publisher);
}

/** A session just answered: its id, the answer the client gets, and the entity-tag of its ICE session (WHIP/WHEP ETag). */
export interface AnsweredSession {
  id: string;
  answer: SessionDescription;
  etag: string;
}

/**
 * A PATCH's trickled candidates (RFC 8840), resolved and judged by the candidate policy in the
 * signaling layer, with what the session checks: the precondition (RFC 9725: 428 without
 * If-Match, 412 for another ICE session), new credentials (an ICE restart), the candidate limit.
 */
export interface TricklePatch {
  /** The If-Match header as sent, or undefined. */
  ifMatch: string | undefined;
  ufrag?: string;
  pwd?: string;
  candidates: TrickledCandidate[];
  /** Distinct candidates the session may have in all, the offer's and trickled ones (--max-candidates). */
  maxCandidates: number;
}

/**
 * One offer's way to a session, in one direction: reserve a slot (the limits decide, before
 * any work is done on the offer), then answer the offer in it. Whatever the caller does in
 * between (mDNS look-ups, the candidate policy) holds the slot, and is refused once shutdown
 * has begun.
 */
export interface OfferReservation {
  /** Answers the checked offer with a new session of `role` (default: echo); throws EchoError when it cannot. At most once. */
  answer(offer: ParsedOffer, role?: SessionRole): Promise<AnsweredSession>;
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
  /** What the engine can do: whether WHEP (playback) and PATCH (trickle) can be offered at all. */
  readonly capabilities: EngineCapabilities;
  /** Live sessions (in every worker). */
  readonly size: number;
  readonly isDraining: boolean;
  /** A slot for one client's offer (clientKey), or the EchoError that says why not. */
  reserve(client: string): OfferReservation;
  /** The role of live session `id`, or undefined: how a resource URL is told from one that names nothing. */
  roleOf(id: string): SessionRole | undefined;
  /** Ends session `id` (a WHIP/WHEP DELETE; a publisher's viewers go with it). False when there was none. */
  end(id: string, reason: CloseReason): Promise<boolean>;
  /** Adds trickled candidates to session `id`; throws EchoError (404, 412, 422, 428) when it cannot. */
  trickle(id: string, patch: TricklePatch): Promise<void>;
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
