import { readProc } from '../proc-stat.js';
import { countFailures } from '../failures.js';
import { median, round } from '../stats.js';
import { mib } from '../usage-sampler.js';
import type { BenchOptions, IdleLevel, IdleResult } from '../types.js';
import type { OpenJobResult, SessionRecord } from '../worker/protocol.js';
import { split, type WorkerPool } from '../worker-processes.js';

/**
 * Server RSS with 0, 100, 500… idle connected sessions held open, and the RSS each live session
 * adds. Needs the server's pid; sessions are added level by level, then all released.
 */
export async function runIdle(pool: WorkerPool, options: BenchOptions): Promise<IdleResult> {
  const levels = [...new Set(options.idle.levels)].sort((a, b) => a - b);
  const plan = { url: options.url, channel: options.connect.channel, video: !options.connect.channel, firstEcho: false, timeoutMs: options.timeoutMs };
  const result: IdleResult = { levels: [], failures: [] };
  const failures: SessionRecord[] = [];
  let held = 0;
  let baseline: { sessions: number; rss: number } | undefined;
  try {
    for (const target of levels) {
      const add = target - held;
      if (add > 0) {
        const shares = split(add, pool.size);
        const outcomes = await pool.each<OpenJobResult>(
          (i) => (shares[i]! > 0 ? { kind: 'idle-open', plan, add: shares[i]!, concurrency: Math.min(shares[i]!, 10) } : undefined),
          (done, failed) => options.onProgress?.(`idle: opening sessions ${held + done}/${target}, ${failed} failed`),
        );
        for (const o of outcomes) {
          held += o.result.opened;
          failures.push(...o.result.failures);
        }
      }
      options.onProgress?.(`idle: ${held} sessions held, letting the server settle`);
      await new Promise((r) => setTimeout(r, options.idle.settleMs));
      const rss = options.serverPid ? await medianRss(options.serverPid) : undefined;
      const level: IdleLevel = { sessions: target, held, failed: Math.max(0, target - held) };
      if (rss !== undefined) {
        level.serverRssMiB = mib(rss);
        baseline ??= { sessions: held, rss };
        if (held > baseline.sessions) level.rssPerSessionKiB = round((rss - baseline.rss) / 1024 / (held - baseline.sessions), 1);
      }
      result.levels.push(level);
    }
  } finally {
    await pool.each(() => ({ kind: 'idle-close' }));
  }
  result.failures = countFailures(failures);
  return result;
}

/** The median of a few readings a quarter second apart (the server and every process it started): a garbage-collected server's RSS breathes. */
async function medianRss(pid: number): Promise<number | undefined> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const rss = readProc(pid, { tree: true })?.rssBytes;
    if (rss !== undefined) readings.push(rss);
    await new Promise((r) => setTimeout(r, 250));
  }
  return median(readings);
}
