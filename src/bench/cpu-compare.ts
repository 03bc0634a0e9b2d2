/**
 * The comparison behind `webrtc-echo bench-cpu` (`npm run bench:cpu`, commands/bench-cpu.ts):
 * server CPU per echoed packet at one fixed rate, several servers side by side in one run
 * (round-robin, repeated), driven by the pion load worker. CPU is counted over the whole
 * server: every thread of it and of every process it started.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_CLIENT_ENGINE, DEFAULT_SERVER_ENGINE } from '../engines/registry.js';
import { BENCH_DEFAULTS } from './defaults.js';
import { run } from './run.js';
import { ownServerCommand, spawnServer } from './server-process.js';
import { median, round } from './stats.js';
import type { ProcessUsage } from './usage-sampler.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CpuTarget {
  name: string;
  command: string;
}

export interface CpuOptions {
  rate: number;
  sessions: number;
  durationMs: number;
  payloadBytes: number;
  repeats: number;
  workers: number;
}

export interface CpuRun {
  serverUsPerPacket?: number;
  /** Server CPU over the packets the generator sent (a lost packet costs CPU too). */
  serverUsPerSentPacket?: number;
  generatorUsPerPacket?: number;
  loss: number;
  rttP50Ms?: number;
  rttP99Ms?: number;
  serverCpuPercent?: number;
  machineBusyPercent?: number;
  limitedBy?: string;
  busiestThreads?: ProcessUsage['busiestThreads'];
}

export interface CpuEntry {
  command: string;
  runs: CpuRun[];
  median: { serverUsPerPacket?: number; serverUsPerSentPacket?: number; generatorUsPerPacket?: number; loss?: number; rttP99Ms?: number; machineBusyPercent?: number };
}

export function defaultCpuTargets(): CpuTarget[] {
  return [
    { name: 'ours', command: ownServerCommand(DEFAULT_SERVER_ENGINE) },
    { name: 'pion', command: `${root}interop/peers/pion/bin/pion-server --host 127.0.0.1 --port {port}` },
  ];
}

/** Runs every target `repeats` times, round-robin, so that a noisy machine hurts them alike. */
export async function measureCpu(targets: CpuTarget[], options: CpuOptions, log: (line: string) => void = () => {}): Promise<Record<string, CpuEntry>> {
  const entries: Record<string, CpuEntry> = {};
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const target of targets) {
      const entry = (entries[target.name] ??= { command: target.command, runs: [], median: {} });
      const server = await spawnServer(target.command);
      try {
        const result = await run({
          ...BENCH_DEFAULTS,
          url: server.url,
          serverPid: server.pid,
          engine: DEFAULT_CLIENT_ENGINE,
          generator: 'pion',
          workers: options.workers,
          scenarios: ['echo'],
          timeoutMs: 15_000,
          connect: { ...BENCH_DEFAULTS.connect, channel: false },
          echo: { ...BENCH_DEFAULTS.echo, sessions: options.sessions, packetsPerSecond: Math.round(options.rate / options.sessions), durationMs: options.durationMs, payloadBytes: options.payloadBytes, drainMs: 500, ramp: false },
        });
        const step = result.echo?.steps[0];
        if (!step) {
          log(`[${repeat + 1}/${options.repeats}] ${target.name}: no echo step (${result.errors.join('; ')})`);
          continue;
        }
        const one: CpuRun = {
          serverUsPerPacket: step.serverCpuUsPerPacket,
          serverUsPerSentPacket: step.server && step.sent ? round((step.server.cpuSeconds * 1e6) / step.sent, 1) : undefined,
          generatorUsPerPacket: step.generatorCpuUsPerPacket,
          loss: step.loss,
          rttP50Ms: step.rttMs?.p50,
          rttP99Ms: step.rttMs?.p99,
          serverCpuPercent: step.server?.cpuPercent,
          machineBusyPercent: step.machine?.busyPercent,
          limitedBy: step.limitedBy,
          busiestThreads: step.server?.busiestThreads,
        };
        entry.runs.push(one);
        log(`[${repeat + 1}/${options.repeats}] ${target.name}: ${one.serverUsPerPacket} µs/packet, ${one.serverUsPerSentPacket} per packet sent (generator ${one.generatorUsPerPacket}), loss ${(one.loss * 100).toFixed(2)}%, rtt p99 ${one.rttP99Ms} ms, machine ${one.machineBusyPercent}%`);
      } finally {
        await server.stop();
      }
    }
  }
  for (const entry of Object.values(entries)) {
    const m = (pick: (r: CpuRun) => number | undefined) => {
      const v = median(entry.runs.map(pick).filter((x): x is number => typeof x === 'number'));
      return v === undefined ? undefined : round(v, 2);
    };
    entry.median = {
      serverUsPerPacket: m((r) => r.serverUsPerPacket),
      serverUsPerSentPacket: m((r) => r.serverUsPerSentPacket),
      generatorUsPerPacket: m((r) => r.generatorUsPerPacket),
      loss: m((r) => r.loss),
      rttP99Ms: m((r) => r.rttP99Ms),
      machineBusyPercent: m((r) => r.machineBusyPercent),
    };
  }
  return entries;
}

export function cpuTable(entries: Record<string, CpuEntry>, reference = 'pion'): string {
  const ref = entries[reference]?.median.serverUsPerPacket;
  const rows = Object.entries(entries).map(([name, e]) => {
    const m = e.median;
    const ratio = ref && m.serverUsPerPacket ? `${round(m.serverUsPerPacket / ref, 2)}×` : 'n/a';
    return `| ${name} | ${e.runs.length} | ${m.serverUsPerPacket ?? 'n/a'} | ${ratio} | ${m.serverUsPerSentPacket ?? 'n/a'} | ${m.generatorUsPerPacket ?? 'n/a'} | ${m.loss === undefined ? 'n/a' : `${round(m.loss * 100, 2)}%`} | ${m.rttP99Ms ?? 'n/a'} | ${m.machineBusyPercent ?? 'n/a'}% |`;
  });
  return [
    `| server | runs | server CPU µs per echoed packet (median) | ratio to ${reference} | µs per packet sent | generator µs per packet | loss | rtt p99 ms | machine busy |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
