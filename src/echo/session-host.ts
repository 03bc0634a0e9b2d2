import type { SessionDescription } from '../sdp/description.js';
import type { CloseReason } from './session.js';

export interface CreateOptions {
  /** The client, as clientKey() names it: per-address limits count by it. */
  client: string;
  /**
   * Work on the offer done while its slot is held (mDNS look-ups, candidate policy): it counts
   * against the limits like the answer itself, and is refused once shutdown has begun.
   */
  prepare?: (offer: SessionDescription) => Promise<SessionDescription>;
}

/**
 * What the HTTP layer needs from whoever holds the sessions: the registry of this process
 * (SessionRegistry), or the worker processes of `serve --workers` (signaling/worker-pool.ts).
 */
export interface SessionHost {
  readonly engineName: string;
  /** Live sessions (in every worker). */
  readonly size: number;
  readonly isDraining: boolean;
  /** Answers an offer with a new session; throws EchoError when it cannot. */
  create(offer: SessionDescription, options: CreateOptions): Promise<{ id: string; answer: SessionDescription }>;
  /** Stops accepting offers (ECHO_ERR_DRAINING) and leaves live sessions alone. */
  startDraining(): void;
  /** Resolves once no session is alive and no offer is being answered. */
  whenEmpty(): Promise<void>;
  /** Stops accepting offers, closes every session, and resolves once all are gone. */
  closeAll(reason?: CloseReason): Promise<void>;
  /** More for /healthz (the worker processes, one by one); {} for one process. */
  health(): Record<string, unknown>;
  /** The Prometheus exposition of /metrics. */
  metricsText(): Promise<string>;
}
