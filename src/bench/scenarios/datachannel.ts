import { countFailures } from '../failures.js';
import { round, summarize } from '../stats.js';
import type { BenchOptions, DataChannelResult } from '../types.js';
import type { DataChannelJobResult } from '../worker/protocol.js';
import { split, type WorkerPool } from '../worker-processes.js';
import { measured } from './measure.js';

/** Message echo rate and round trip at one message size, `window` messages in flight per channel. */
export async function runDataChannel(pool: WorkerPool, options: BenchOptions): Promise<DataChannelResult> {
  const dc = options.datachannel;
  const plan = { url: options.url, channel: true, video: false, firstEcho: false, timeoutMs: options.timeoutMs };
  const shares = split(dc.sessions, pool.size);
  options.onProgress?.(`datachannel: ${dc.sessions} sessions, ${dc.messageBytes}-byte messages, ${dc.window} in flight each`);
  const { outcomes, cost } = await measured(pool, options.serverPid, () =>
    pool.each<DataChannelJobResult>((i) =>
      shares[i]! > 0
        ? { kind: 'datachannel', plan, sessions: shares[i]!, messageBytes: dc.messageBytes, window: dc.window, durationMs: dc.durationMs, maxMessages: dc.maxMessages }
        : undefined,
    ),
  );
  const parts = outcomes.map((o) => o.result);
  const echoed = parts.reduce((s, p) => s + p.echoed, 0);
  const bytes = parts.reduce((s, p) => s + p.bytesEchoed, 0);
  const seconds = Math.max(...parts.map((p) => p.elapsedMs), 1) / 1000;
  return {
    sessions: dc.sessions,
    opened: parts.reduce((s, p) => s + p.opened, 0),
    failures: countFailures(parts.flatMap((p) => p.failures)),
    messageBytes: Math.max(8, dc.messageBytes),
    window: dc.window,
    sent: parts.reduce((s, p) => s + p.sent, 0),
    echoed,
    mismatched: parts.reduce((s, p) => s + p.mismatched, 0),
    messagesPerSecond: round(echoed / seconds, 1),
    megabitsPerSecond: round((bytes * 8) / 1e6 / seconds, 2),
    rttMs: summarize(parts.flatMap((p) => p.rttMs)) ?? null,
    ...cost,
  };
}
