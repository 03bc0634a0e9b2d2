import { descendants, readMachine, readProc, readThreads, type ProcSnapshot, type ReadOptions } from './proc-stat.js';
import { round } from './stats.js';

/** CPU as percent of one core (200 = two cores busy), memory in MiB. */
export interface ProcessUsage {
  pid: number;
  /** CPU seconds used over the phase: every thread (and, for a server, every descendant process). */
  cpuSeconds: number;
  cpuPercent: number;
  peakCpuPercent: number;
  /** The main thread alone: for a Node process, how busy its event loop was. */
  mainThreadCpuPercent: number;
  peakMainThreadCpuPercent: number;
  rssMiB: number;
  peakRssMiB: number;
  threads: number;
  /** Processes counted (more than 1: a server with worker processes). */
  processes: number;
  /** With more than one process: each one's main thread (a worker's event loop), percent of a core. */
  mainThreadsCpuPercent?: Array<{ pid: number; cpuPercent: number }>;
  /** The busiest threads over the phase (of every process counted), by name, percent of a core. */
  busiestThreads: Array<{ name: string; cpuPercent: number }>;
}

/**
 * Samples one process every `intervalMs` while a phase runs. Peaks are over sampling intervals;
 * averages are over the whole phase (first to last snapshot).
 */
export class UsageSampler {
  private first: { at: number; snap: ProcSnapshot } | undefined;
  private last: { at: number; snap: ProcSnapshot } | undefined;
  private peakCpu = 0;
  private peakMain = 0;
  private peakRss = 0;
  private readonly threadsAtStart: Map<string, { name: string; cpuSeconds: number }>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    private readonly options: ReadOptions & { intervalMs?: number } = {},
  ) {
    this.threadsAtStart = new Map(this.threads().map((t) => [t.key, t]));
    this.sample();
    this.timer = setInterval(() => this.sample(), options.intervalMs ?? 250);
    this.timer.unref();
  }

  private sample(): void {
    const snap = readProc(this.pid, this.options);
    if (!snap) return;
    const at = performance.now();
    if (this.last) {
      const seconds = (at - this.last.at) / 1000;
      if (seconds > 0.05) {
        this.peakCpu = Math.max(this.peakCpu, (100 * (snap.cpuSeconds - this.last.snap.cpuSeconds)) / seconds);
        this.peakMain = Math.max(this.peakMain, (100 * (snap.mainThreadCpuSeconds - this.last.snap.mainThreadCpuSeconds)) / seconds);
      }
    }
    this.peakRss = Math.max(this.peakRss, snap.rssBytes);
    this.first ??= { at, snap };
    this.last = { at, snap };
  }

  /** Stops sampling and summarizes; undefined when the process could not be read at all. */
  stop(): ProcessUsage | undefined {
    clearInterval(this.timer);
    this.sample();
    const { first, last } = this;
    if (!first || !last) return undefined;
    const seconds = Math.max((last.at - first.at) / 1000, 1e-3);
    const cpuSeconds = Math.max(0, last.snap.cpuSeconds - first.snap.cpuSeconds);
    return {
      pid: this.pid,
      cpuSeconds: round(cpuSeconds, 3),
      cpuPercent: round((100 * cpuSeconds) / seconds, 1),
      peakCpuPercent: round(this.peakCpu, 1),
      mainThreadCpuPercent: round((100 * (last.snap.mainThreadCpuSeconds - first.snap.mainThreadCpuSeconds)) / seconds, 1),
      peakMainThreadCpuPercent: round(this.peakMain, 1),
      rssMiB: mib(last.snap.rssBytes),
      peakRssMiB: mib(this.peakRss),
      threads: last.snap.threads,
      processes: last.snap.processes,
      mainThreadsCpuPercent:
        last.snap.processes > 1
          ? Object.entries(last.snap.mainThreads).map(([pid, cpu]) => ({ pid: Number(pid), cpuPercent: round((100 * (cpu - (first.snap.mainThreads[Number(pid)] ?? cpu))) / seconds, 1) }))
          : undefined,
      busiestThreads: this.busiestThreads(seconds),
    };
  }

  private threads(): Array<{ key: string; name: string; cpuSeconds: number }> {
    const pids = [this.pid, ...(this.options.tree ? descendants(this.pid) : [])];
    return pids.flatMap((pid) => readThreads(pid).map((t) => ({ key: `${pid}/${t.tid}`, name: t.name, cpuSeconds: t.cpuSeconds })));
  }

  /** Threads by CPU over the phase, names summed (Go and libuv name many threads alike), top 4. */
  private busiestThreads(seconds: number): ProcessUsage['busiestThreads'] {
    const byName = new Map<string, number>();
    for (const thread of this.threads()) {
      const before = this.threadsAtStart.get(thread.key)?.cpuSeconds ?? 0;
      byName.set(thread.name, (byName.get(thread.name) ?? 0) + Math.max(0, thread.cpuSeconds - before));
    }
    return [...byName]
      .map(([name, cpu]) => ({ name, cpuPercent: round((100 * cpu) / seconds, 1) }))
      .filter((t) => t.cpuPercent > 0)
      .sort((a, b) => b.cpuPercent - a.cpuPercent)
      .slice(0, 4);
  }
}

/** How busy the whole machine was over a phase: percent of all its cores (100 = every core busy). */
export class MachineSampler {
  private readonly start = readMachine();

  stop(): { busyPercent: number; cores: number } | undefined {
    const end = readMachine();
    if (!this.start || !end) return undefined;
    const total = end.totalSeconds - this.start.totalSeconds;
    return { busyPercent: total > 0 ? round((100 * (end.busySeconds - this.start.busySeconds)) / total, 1) : 0, cores: end.cores };
  }
}

export function mib(bytes: number): number {
  return round(bytes / 1024 / 1024, 1);
}
