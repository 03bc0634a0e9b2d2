/**
 * The coordinator's side of the load generator: forks worker processes (each a Node process
 * with its own event loop and native WebRTC threads), hands them jobs, samples their CPU.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../engines/engine.js';
import type { Job, LoopStats, WorkerMessage } from './worker/protocol.js';
import { UsageSampler, type ProcessUsage } from './usage-sampler.js';

/** A worker whose event-loop thread is busier than this (percent of a core) was the bottleneck. */
export const SATURATED_PERCENT = 90;

export interface JobOutcome<T> {
  result: T;
  loop: LoopStats;
  /** Which worker ran it. */
  worker: number;
}

type WorkerOutcome<T> = Omit<JobOutcome<T>, 'worker'>;

export interface WorkerUsage extends ProcessUsage {
  loopP99Ms: number;
  loopMaxMs: number;
  saturated: boolean;
}

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (o: WorkerOutcome<unknown>) => void; reject: (e: Error) => void; onProgress?: (done: number, failed: number) => void }>();
  private exited = false;

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: WorkerMessage) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      if (message.type === 'progress') waiter.onProgress?.(message.done, message.failed);
      else {
        this.pending.delete(message.id);
        if (message.type === 'done') waiter.resolve({ result: message.result, loop: message.loop });
        else waiter.reject(new Error(`bench worker: ${message.message}`));
      }
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`bench worker exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  run<T>(engine: EngineName, job: Job, onProgress?: (done: number, failed: number) => void): Promise<WorkerOutcome<T>> {
    if (this.exited) return Promise.reject(new Error('bench worker is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (o: WorkerOutcome<unknown>) => void, reject, onProgress });
      this.child.send({ id, engine, job });
    });
  }
}

export class WorkerPool {
  private constructor(
    private readonly workers: Worker[],
    readonly engine: EngineName,
  ) {}

  static start(count: number, engine: EngineName): WorkerPool {
    const self = fileURLToPath(import.meta.url);
    const ext = extname(self); // .ts under tsx (tests, compare script), .js when built
    const entry = new URL(`./worker/main${ext}`, import.meta.url);
    const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
    const workers = Array.from({ length: count }, () => new Worker(fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })));
    return new WorkerPool(workers, engine);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!).filter(Boolean);
  }

  /** Runs one job per worker: `jobFor(i)` builds worker i's share, or undefined for none. */
  async each<T>(jobFor: (index: number) => Job | undefined, onProgress?: (done: number, failed: number) => void): Promise<Array<JobOutcome<T>>> {
    const progress = this.workers.map(() => ({ done: 0, failed: 0 }));
    const report = (i: number) => (done: number, failed: number) => {
      progress[i] = { done, failed };
      onProgress?.(
        progress.reduce((sum, p) => sum + p.done, 0),
        progress.reduce((sum, p) => sum + p.failed, 0),
      );
    };
    const runs = this.workers.map((worker, i) => {
      const job = jobFor(i);
      return job ? worker.run<T>(this.engine, job, report(i)).then((outcome) => ({ ...outcome, worker: i })) : undefined;
    });
    return Promise.all(runs.filter((r): r is Promise<JobOutcome<T>> => r !== undefined));
  }

  /** Starts sampling every worker; the returned function stops and summarizes. */
  sample(): () => (outcomes: Array<JobOutcome<unknown>>) => WorkerUsage[] {
    const samplers = this.pids.map((pid) => new UsageSampler(pid));
    return () => {
      const usages = samplers.map((s) => s.stop());
      return (outcomes) =>
        usages.flatMap((usage, i) => {
          if (!usage) return [];
          const loop = outcomes.find((o) => o.worker === i)?.loop ?? { p99Ms: 0, maxMs: 0 };
          return [{ ...usage, loopP99Ms: loop.p99Ms, loopMaxMs: loop.maxMs, saturated: usage.mainThreadCpuPercent > SATURATED_PERCENT }];
        });
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.child.kill('SIGKILL'), 3_000);
            w.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.child.disconnect();
          }),
      ),
    );
  }
}

/** Splits `total` into `parts` near-equal whole shares, largest first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
