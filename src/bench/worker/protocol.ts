/** Messages between the bench coordinator and its load-generating worker processes. */
import type { EngineName } from '../../engines/engine.js';
import type { ClientFailureReason } from '../../client/client-error.js';
import type { Timings } from '../../client/timings.js';
import type { SessionPlan } from './bench-session.js';

export type Job =
  /** `ratePerSecond`: open loop, a session started every 1/rate s whatever the others do (`concurrency` then only caps those in flight). */
  | { kind: 'connect'; plan: SessionPlan; count: number; concurrency: number; ratePerSecond?: number }
  | { kind: 'echo-open'; plan: SessionPlan; sessions: number; concurrency: number }
  | { kind: 'echo-step'; packetsPerSecond: number; durationMs: number; drainMs: number; payloadBytes: number }
  | { kind: 'echo-close' }
  | { kind: 'datachannel'; plan: SessionPlan; sessions: number; messageBytes: number; window: number; durationMs: number; maxMessages?: number }
  | { kind: 'idle-open'; plan: SessionPlan; add: number; concurrency: number }
  | { kind: 'idle-close' }
  /** Loads the engine, so start-up (and tsx compiling) is not counted in the first phase. */
  | { kind: 'warmup' };

export interface JobRequest {
  id: number;
  /** The client engine of a Node worker (the pion worker ignores it). */
  engine: EngineName;
  job: Job;
}

export interface SessionRecord {
  ok: boolean;
  timings: Timings;
  reason?: ClientFailureReason;
  message?: string;
}

export interface ConnectJobResult {
  sessions: SessionRecord[];
  elapsedMs: number;
}

export interface OpenJobResult {
  opened: number;
  failures: SessionRecord[];
}

export interface EchoStepResult {
  sessions: number;
  sent: number;
  echoed: number;
  duplicates: number;
  /** Echoes whose sequence number was not the one we sent (a server that renumbers). */
  renumbered: number;
  rttMs: number[];
  /** How long sending took against the planned duration: > 1.05 means the generator fell behind. */
  sendStretch: number;
  /** Each session's share, in the order of the worker's sessions. */
  perSession?: Array<{ sent: number; echoed: number; rttP50Ms: number; rttP99Ms: number }>;
}

export interface DataChannelJobResult extends OpenJobResult {
  sent: number;
  echoed: number;
  mismatched: number;
  bytesEchoed: number;
  rttMs: number[];
  elapsedMs: number;
}

/** Event loop delay of the worker during the job: stalls here are the generator's, not the server's. */
export interface LoopStats {
  p99Ms: number;
  maxMs: number;
}

export type WorkerMessage =
  | { id: number; type: 'progress'; done: number; failed: number }
  /** `loop`: Node workers only. */
  | { id: number; type: 'done'; result: unknown; loop?: LoopStats }
  | { id: number; type: 'error'; message: string };

/** What a job may take beyond its own planned time: start-up, a slow machine. A backstop, not a measure. */
const JOB_MARGIN_MS = 60_000;

/**
 * The longest a worker may take for a job before the coordinator gives up on it (ipc/rpc.ts):
 * sessions opened `concurrency` at a time, each within its plan's timeout, plus what the job
 * runs for. A worker that stopped answering fails its scenario, not the whole bench.
 */
export function jobTimeoutMs(job: Job): number {
  const opening = (count: number, concurrency: number, plan: SessionPlan) => Math.ceil(count / Math.max(1, concurrency)) * plan.timeoutMs;
  switch (job.kind) {
    case 'connect':
      return opening(job.count, job.concurrency, job.plan) + JOB_MARGIN_MS;
    case 'echo-open':
      return opening(job.sessions, job.concurrency, job.plan) + JOB_MARGIN_MS;
    case 'idle-open':
      return opening(job.add, job.concurrency, job.plan) + JOB_MARGIN_MS;
    case 'datachannel':
      return opening(job.sessions, Math.min(job.sessions, 10), job.plan) + job.durationMs + JOB_MARGIN_MS;
    case 'echo-step':
      return job.durationMs + job.drainMs + JOB_MARGIN_MS;
    case 'echo-close':
    case 'idle-close':
    case 'warmup':
      return JOB_MARGIN_MS;
  }
}
