/**
 * The coordinator's side of the load generator: starts worker processes, hands them jobs,
 * samples their CPU. Two kinds of worker speak the same jobs and results
 * (worker/protocol.ts): a Node process of our own client peers (worker/main.ts, over the
 * IPC channel), or the pion load worker (interop/peers/pion/load, Go, JSON lines on its
 * stdin and stdout), which uses every core and costs less per packet than the servers it drives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../engines/engine.js';
import { forkModule } from '../ipc/fork.js';
import { ipcLink, RpcChannel, type MessageLink } from '../ipc/rpc.js';
import { jobTimeoutMs, type Job, type LoopStats, type WorkerMessage } from './worker/protocol.js';
import { UsageSampler, type ProcessUsage } from './usage-sampler.js';

/** A worker busier than this (percent of what it can use) was the bottleneck. */
export const SATURATED_PERCENT = 90;

export const GENERATORS = ['node', 'pion'] as const;
/** `node`: our own client peers (`--client-engine`) in Node processes; `pion`: the Go pion load worker. */
export type GeneratorName = (typeof GENERATORS)[number];

/** The pion load worker, built by interop/setup/pion.sh. */
export const PION_LOAD_BINARY = fileURLToPath(new URL('../../interop/peers/pion/bin/pion-load', import.meta.url));

/** The Node worker's entry point (commands/bench-worker.ts), without extension (forkModule adds it). */
const NODE_WORKER_MODULE = new URL('../commands/bench-worker', import.meta.url);

export interface JobOutcome<T> {
  result: T;
  loop?: LoopStats;
  /** Which worker ran it. */
  worker: number;
}

type WorkerOutcome<T> = Omit<JobOutcome<T>, 'worker'>;

export interface WorkerUsage extends ProcessUsage {
  generator: GeneratorName;
  /** Node workers: event loop delay during the job. */
  loopP99Ms?: number;
  loopMaxMs?: number;
  /** Percent of what this worker can use: its event loop thread (Node), every core of the machine (Go). */
  loadPercent: number;
  saturated: boolean;
}

/** A worker process and how it is reached: Node's IPC channel, or JSON lines on stdio. */
interface WorkerLink {
  readonly child: ChildProcess;
  readonly link: MessageLink;
  /** Asks the worker to leave: it closes its peers and exits. */
  end(): void;
}

function nodeWorker(): WorkerLink {
  const child = forkModule(NODE_WORKER_MODULE, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return { child, link: ipcLink(child), end: () => child.connected && child.disconnect() };
}

function pionWorker(): WorkerLink {
  if (!existsSync(PION_LOAD_BINARY)) throw new Error(`the pion load worker is not built (${PION_LOAD_BINARY}): run interop/setup/pion.sh`);
  const child = spawn(PION_LOAD_BINARY, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const listeners: Array<(message: unknown) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      process.stderr.write(`pion-load: ${line}\n`);
      return;
    }
    for (const listener of listeners) listener(message);
  });
  child.stdin!.on('error', () => {}); // the worker died: its exit is reported
  return {
    child,
    link: {
      send: (message, done) => void child.stdin!.write(`${JSON.stringify(message)}\n`, (err) => done(err ?? null)),
      onMessage: (listener) => void listeners.push(listener),
    },
    end: () => void child.stdin!.end(),
  };
}

class Worker {
  readonly rpc: RpcChannel;

  constructor(
    readonly index: number,
    readonly spawned: WorkerLink,
  ) {
    this.rpc = new RpcChannel(`bench worker ${index} (pid ${spawned.child.pid})`, spawned.link);
    spawned.child.on('exit', (code, signal) => this.rpc.close(`exited (${signal ?? code})`));
  }

  get child(): ChildProcess {
    return this.spawned.child;
  }

  /** One job, within its deadline (jobTimeoutMs); progress as it comes. */
  async run<T>(engine: EngineName, job: Job, onProgress?: (done: number, failed: number) => void): Promise<WorkerOutcome<T>> {
    const reply = await this.rpc.request<WorkerMessage>(
      { engine, job },
      {
        timeoutMs: jobTimeoutMs(job),
        label: `its ${job.kind} job`,
        onProgress: (message) => onProgress?.(Number(message.done), Number(message.failed)),
      },
    );
    if (reply.type === 'error') throw new Error(`bench worker: ${reply.message}`);
    if (reply.type !== 'done') throw new Error(`bench worker: unexpected ${reply.type} reply`);
    return { result: reply.result as T, loop: reply.loop };
  }
}

export class WorkerPool {
  private constructor(
    private readonly workers: Worker[],
    readonly engine: EngineName,
    readonly generator: GeneratorName,
  ) {}

/** `count` worker processes of `generator`; `engine` is the client engine of Node workers. */
  static start(count: number, engine: EngineName, generator: GeneratorName = 'node'): WorkerPool {
    const workers = Array.from({ length: count }, (_, i) => new Worker(i, generator === 'pion' ? pionWorker() : nodeWorker()));
    return new WorkerPool(workers, engine, generator);
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
    const cores = cpus().length;
    return () => {
      const usages = samplers.map((s) => s.stop());
      return (outcomes) =>
        usages.flatMap((usage, i) => {
          if (!usage) return [];
          const loop = outcomes.find((o) => o.worker === i)?.loop;
          // A Node worker is limited by its event loop thread; Go schedules over every core.
          const loadPercent = this.generator === 'node' ? usage.mainThreadCpuPercent : usage.cpuPercent / cores;
          return [{ ...usage, generator: this.generator, loopP99Ms: loop?.p99Ms, loopMaxMs: loop?.maxMs, loadPercent: Math.round(loadPercent * 10) / 10, saturated: loadPercent > SATURATED_PERCENT }];
        });
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.child.kill('SIGKILL'), 5_000);
            w.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.spawned.end();
          }),
      ),
    );
  }
}

/** Splits `total` into `parts` near-equal whole shares, largest first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
