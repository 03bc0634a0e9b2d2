import type { BenchOptions } from './types.js';

/** The bench's defaults; the CLI and the compare script start from these. */
export const BENCH_DEFAULTS: Omit<BenchOptions, 'url' | 'engine' | 'onProgress' | 'serverPid'> = {
  generator: 'node',
  workers: 1,
  // Idle first: on a fresh server the RSS each session adds is not hidden by memory that
  // earlier scenarios freed and the allocator kept.
  scenarios: ['idle', 'connect', 'echo', 'datachannel'],
  timeoutMs: 15_000,
  connect: { sequential: 200, concurrent: 200, concurrency: 20, channel: true },
  echo: {
    sessions: 10,
    packetsPerSecond: 100,
    durationMs: 5_000,
    payloadBytes: 1_200,
    drainMs: 1_000,
    ramp: false,
    rampFactor: 1.5,
    maxSteps: 12,
    maxLoss: 0.01,
  },
  datachannel: { sessions: 4, messageBytes: 1_024, window: 16, durationMs: 5_000 },
  idle: { levels: [0, 100, 500], settleMs: 1_500 },
};
