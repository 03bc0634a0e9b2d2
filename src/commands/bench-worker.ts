/**
 * The entry point of a bench load worker process (forked by bench/worker-processes.ts): runs
 * the client peers of the jobs the coordinator sends it, and reports back. No options: jobs
 * come over the IPC channel (bench/worker/protocol.ts). Peers of several workers run on
 * several cores, so the generator is not the bottleneck; each worker keeps the sessions of the
 * echo and idle scenarios between jobs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadClientEngine } from '../engines/registry.js';
import type { ClientEngine } from '../engines/engine.js';
import { runConnectJob } from '../bench/worker/connect-job.js';
import { EchoSessions } from '../bench/worker/echo-job.js';
import { runDataChannelJob } from '../bench/worker/datachannel-job.js';
import { IdleSessions } from '../bench/worker/idle-job.js';
import type { JobRequest, WorkerMessage } from '../bench/worker/protocol.js';

const echo = new EchoSessions();
const idle = new IdleSessions();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function post(message: WorkerMessage): void {
  process.send?.(message);
}

async function run(engine: ClientEngine, request: JobRequest): Promise<unknown> {
  const { job, id } = request;
  const progress = (done: number, failed: number) => post({ id, type: 'progress', done, failed });
  switch (job.kind) {
    case 'connect':
      return runConnectJob(engine, job, progress);
    case 'echo-open':
      return echo.open(engine, job, progress);
    case 'echo-step':
      return echo.step(job);
    case 'echo-close':
      return echo.close();
    case 'datachannel':
      return runDataChannelJob(engine, job, progress);
    case 'idle-open':
      return idle.add(engine, job, progress);
    case 'idle-close':
      return idle.release();
    case 'warmup':
      return { engine: engine.name };
  }
}

process.on('message', (request: JobRequest) => {
  loop.reset();
  loadClientEngine(request.engine)
    .then((engine) => run(engine, request))
    .then(
      (result) => post({ id: request.id, type: 'done', result, loop: { p99Ms: nsToMs(loop.percentile(99)), maxMs: nsToMs(loop.max) } }),
      (err: unknown) => post({ id: request.id, type: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
});

// The coordinator went away: close every peer and leave (native threads would keep us alive).
process.on('disconnect', () => {
  echo.close();
  idle.release();
  process.exit(0);
});

function nsToMs(ns: number): number {
  return Math.round(ns / 1e4) / 100;
}
