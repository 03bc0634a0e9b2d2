/** What the bench is asked to do, and the plain result object it returns (printed by print.ts). */
import type { EngineName } from '../engines/engine.js';
import type { ClientFailureReason } from '../client/client-error.js';
import type { Step } from '../client/timings.js';
import type { Summary } from './stats.js';
import type { ProcessUsage } from './usage-sampler.js';
import type { GeneratorName, WorkerUsage } from './worker-processes.js';

export const SCENARIOS = ['connect', 'echo', 'datachannel', 'idle'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** The server's /offer URL. */
  url: string;
  /** Engine of the bench's own client peers when the generator is `node`. */
  engine: EngineName;
  /** What generates the load: Node processes of our client peers, or the Go pion load worker. */
  generator: GeneratorName;
  /** Load generator processes. */
  workers: number;
  scenarios: Scenario[];
  /** Per session: from creating the peer to the first echo. */
  timeoutMs: number;
  connect: {
    sequential: number;
    concurrent: number;
    concurrency: number;
    /** The concurrent phase as an open loop: sessions started at this rate (all workers together), `concurrency` capping those in flight. */
    ratePerSecond?: number;
    /** Offer a data channel and time its opening and first echo; false: video only, first echo over RTP. */
    channel: boolean;
  };
  echo: {
    sessions: number;
    packetsPerSecond: number;
    durationMs: number;
    payloadBytes: number;
    drainMs: number;
    /** Raise the rate step by step until loss passes maxLoss. */
    ramp: boolean;
    rampFactor: number;
    maxSteps: number;
    maxLoss: number;
  };
  datachannel: { sessions: number; messageBytes: number; window: number; durationMs: number; maxMessages?: number };
  idle: { levels: number[]; settleMs: number };
  /** Server process to sample (CPU, RSS); set automatically when the bench spawned it. */
  serverPid?: number;
  /** One line describing what is happening now (the CLI shows it on a TTY). */
  onProgress?: (line: string) => void;
}

export interface FailureCount {
  reason: ClientFailureReason | 'unknown';
  count: number;
  example: string;
}

export interface Cost {
  /** The server process and every process it started (a server with worker processes). */
  server?: ProcessUsage;
  generator: WorkerUsage[];
  /** The whole machine, percent of every core: near 100, server and generator were fighting for CPU. */
  machine?: { busyPercent: number; cores: number };
}

export interface ConnectPhaseResult extends Cost {
  sessions: number;
  concurrency: number;
  /** Open loop: the rate sessions were started at (per second); absent for a closed loop. */
  ratePerSecond?: number;
  ok: number;
  failed: number;
  failures: FailureCount[];
  sessionsPerSecond: number;
  elapsedMs: number;
  /** Milliseconds from the start of each session to each step; null where the step does not apply. */
  steps: Record<Step, Summary | null>;
}

export interface ConnectResult {
  channel: boolean;
  firstEchoVia: 'datachannel' | 'rtp';
  sequential?: ConnectPhaseResult;
  concurrent?: ConnectPhaseResult;
}

export interface EchoStepReport extends Cost {
  sessions: number;
  packetsPerSecondPerSession: number;
  packetsPerSecond: number;
  megabitsPerSecond: number;
  sent: number;
  echoed: number;
  echoedFraction: number;
  loss: number;
  duplicates: number;
  renumbered: number;
  rttMs: Summary | null;
  /** Sending took this many times its planned duration (> 1.05: the generator fell behind). */
  sendStretch: number;
  held: boolean;
  /** Server CPU (every thread and process) per echoed packet, µs: receive, decrypt, echo, encrypt, send. */
  serverCpuUsPerPacket?: number;
  /** Generator CPU (every worker) per echoed packet, µs: it sends and receives each one. */
  generatorCpuUsPerPacket?: number;
  /** The worst session of the step (generators that report sessions one by one). */
  worstSession?: { loss: number; rttP99Ms: number };
  /** Why this step says nothing about the server's capacity, if so (generator or machine saturated). */
  limitedBy?: 'generator' | 'machine';
}

export interface EchoResult {
  payloadBytes: number;
  opened: number;
  failures: FailureCount[];
  steps: EchoStepReport[];
  /** Ramp only: the highest total rate held under maxLoss, and why the ramp stopped. */
  capacity?: { packetsPerSecond: number; megabitsPerSecond: number; sessions: number; stoppedBy: 'loss' | 'generator' | 'machine' | 'max-steps' | 'failures' };
}

export interface DataChannelResult extends Cost {
  sessions: number;
  opened: number;
  failures: FailureCount[];
  messageBytes: number;
  window: number;
  sent: number;
  echoed: number;
  mismatched: number;
  messagesPerSecond: number;
  megabitsPerSecond: number;
  rttMs: Summary | null;
}

export interface IdleLevel {
  sessions: number;
  held: number;
  failed: number;
  serverRssMiB?: number;
  /** (RSS at this level − RSS at the first level) / sessions added. */
  rssPerSessionKiB?: number;
}

export interface IdleResult {
  levels: IdleLevel[];
  failures: FailureCount[];
}

export interface BenchResult {
  url: string;
  generator: GeneratorName;
  clientEngine: EngineName;
  workers: number;
  serverPid?: number;
  serverCommand?: string;
  startedAt: string;
  durationSeconds: number;
  connect?: ConnectResult;
  echo?: EchoResult;
  datachannel?: DataChannelResult;
  idle?: IdleResult;
  /** Where the load generator itself was the limit, in words. */
  generatorWarnings: string[];
  errors: string[];
}
