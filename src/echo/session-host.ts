import type { SessionDescription } from '../engines/engine.js';
import type { CloseReason } from './session.js';

/**
 * What the HTTP layer needs from whoever holds the sessions: the registry of this process
 * (SessionRegistry), or the worker processes behind one listener (signaling/worker-pool.ts).
 */
export interface SessionHost {
  readonly engineName: string;
  /** Live sessions (in every worker). */
  readonly size: number;
  /** Answers an offer with a new session; throws EchoError when it cannot. */
  create(offer: SessionDescription): Promise<{ id: string; answer: SessionDescription }>;
  /** Stops accepting offers, closes every session, and resolves once all are gone. */
  closeAll(reason?: CloseReason): Promise<void>;
  /** More for /healthz (the worker processes, one by one). */
  health?(): Record<string, unknown>;
  /** The Prometheus exposition of /metrics when it is not this process's registry alone. */
  metricsText?(): Promise<string>;
}
