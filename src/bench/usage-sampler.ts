import { readProc, type ProcSnapshot } from './proc-stat.js';
import { round } from './stats.js';

/** CPU as percent of one core (200 = two cores busy), memory in MiB. */
export interface ProcessUsage {
  pid: number;
  cpuPercent: number;
  peakCpuPercent: number;
  /** The main thread alone: for a Node process, how busy its event loop was. */
  mainThreadCpuPercent: number;
  peakMainThreadCpuPercent: number;
  rssMiB: number;
  peakRssMiB: number;
  threads: number;
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
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const snap = readProc(this.pid);
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
    return {
      pid: this.pid,
      cpuPercent: round((100 * (last.snap.cpuSeconds - first.snap.cpuSeconds)) / seconds, 1),
      peakCpuPercent: round(this.peakCpu, 1),
      mainThreadCpuPercent: round((100 * (last.snap.mainThreadCpuSeconds - first.snap.mainThreadCpuSeconds)) / seconds, 1),
      peakMainThreadCpuPercent: round(this.peakMain, 1),
      rssMiB: mib(last.snap.rssBytes),
      peakRssMiB: mib(this.peakRss),
      threads: last.snap.threads,
    };
  }
}

export function mib(bytes: number): number {
  return round(bytes / 1024 / 1024, 1);
}
