/** Messages between the primary process (HTTP listener) and its session worker processes. */
import type { LevelWithSilent } from 'pino';
import type { EngineName } from '../engines/engine.js';
import type { EchoErrorCode } from '../errors/echo-error.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import type { SessionRegistryOptions } from './sessions.js';
import type { AnsweredSession, SessionRole, TricklePatch } from './session-host.js';
import type { CloseReason } from './session.js';

/** What a worker needs to hold sessions, passed in its environment as JSON. */
export interface WorkerConfig extends SessionRegistryOptions {
  engine: EngineName;
  index: number;
  logLevel: LevelWithSilent;
}

export const WORKER_CONFIG_ENV = 'WEBRTC_ECHO_WORKER';

/** Requests; the RPC channel (ipc/rpc.ts) adds the id its reply carries back. */
export type ToWorker =
  /** An offer checked, parsed and prepared by the primary (limits, mDNS, candidate policy): the worker does not parse it again. */
  | { type: 'offer'; offer: ParsedOffer; client: string; role: SessionRole }
  /** End one session (a WHIP/WHEP DELETE); answered `ended`. */
  | { type: 'end'; sessionId: string; reason: CloseReason }
  /** Trickled candidates for one session (a WHIP/WHEP PATCH), resolved and judged by the primary; answered `trickled` or `error`. */
  | { type: 'trickle'; sessionId: string; patch: TricklePatch }
  | { type: 'metrics' }
  /** Close every session, answer `closed`, then exit. */
  | { type: 'close' };

export type WorkerReply =
  | { type: 'answer'; id: number; session: AnsweredSession }
  | { type: 'ended'; id: number; found: boolean }
  | { type: 'trickled'; id: number }
  | { type: 'error'; id: number; error: { code: EchoErrorCode; message: string; context?: Record<string, unknown> } }
  | { type: 'metrics'; id: number; metrics: object[] }
  | { type: 'closed'; id: number };

/** What a worker says unasked. */
export type WorkerEvent =
  | { type: 'ready'; engine: string }
  /** One of its sessions connected: it no longer counts against its client's unconnected cap. */
  | { type: 'session-connected'; sessionId: string }
  /** One of its sessions ended (any reason). */
  | { type: 'session-closed'; sessionId: string };

export type FromWorker = WorkerReply | WorkerEvent;
