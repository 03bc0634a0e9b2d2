/** Messages between the primary process (HTTP listener) and its session worker processes. */
import type { LevelWithSilent } from 'pino';
import type { EngineName } from '../engines/engine.js';
import type { SessionDescription } from '../sdp/description.js';
import type { EchoErrorCode } from '../errors/echo-error.js';
import type { SessionRegistryOptions } from '../echo/sessions.js';

/** What a worker needs to hold sessions, passed in its environment as JSON. */
export interface WorkerConfig extends SessionRegistryOptions {
  engine: EngineName;
  index: number;
  logLevel: LevelWithSilent;
}

export const WORKER_CONFIG_ENV = 'WEBRTC_ECHO_WORKER';

export type ToWorker =
  /** An offer already checked and prepared by the primary (limits, candidate policy, mDNS). */
  | { type: 'offer'; id: number; offer: SessionDescription; client: string }
  | { type: 'metrics'; id: number }
  /** Close every session, answer `closed`, then exit. */
  | { type: 'close'; id: number };

export type FromWorker =
  | { type: 'ready'; engine: string }
  | { type: 'answer'; id: number; session: { id: string; answer: SessionDescription } }
  | { type: 'error'; id: number; error: { code: EchoErrorCode; message: string; context?: Record<string, unknown> } }
  | { type: 'metrics'; id: number; metrics: object[] }
  | { type: 'closed'; id: number }
  /** One of its sessions connected: it no longer counts against its client's unconnected cap. */
  | { type: 'session-connected'; sessionId: string }
  /** One of its sessions ended (any reason). */
  | { type: 'session-closed'; sessionId: string };
