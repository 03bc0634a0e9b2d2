import { STEPS, type Step } from '../../client/timings.js';
import { countFailures } from '../failures.js';
import { summarize } from '../stats.js';
import type { BenchOptions, ConnectPhaseResult, ConnectResult } from '../types.js';
import type { ConnectJobResult, SessionRecord } from '../worker/protocol.js';
import { split, type WorkerPool } from '../worker-processes.js';
import { measured } from './measure.js';

/** N sessions one after another (one worker), then N at a concurrency (or a rate) spread over every worker. */
export async function runConnect(pool: WorkerPool, options: BenchOptions): Promise<ConnectResult> {
  const { connect } = options;
  const plan = { url: options.url, channel: connect.channel, video: !connect.channel, firstEcho: true, timeoutMs: options.timeoutMs };
  const result: ConnectResult = { channel: connect.channel, firstEchoVia: connect.channel ? 'datachannel' : 'rtp' };
  if (connect.sequential > 0) {
    result.sequential = await phase(pool, options, 'sequential', connect.sequential, 1, (i) =>
      i === 0 ? { kind: 'connect', plan, count: connect.sequential, concurrency: 1 } : undefined,
    );
  }
  if (connect.concurrent > 0) {
    const counts = split(connect.concurrent, pool.size);
    const lanes = split(connect.concurrency, pool.size);
    // Open loop: each worker starts its share of the sessions at its share of the rate.
    const rate = connect.ratePerSecond;
    const label = rate ? `${rate} sessions/s` : `concurrency ${connect.concurrency}`;
    result.concurrent = await phase(pool, options, label, connect.concurrent, connect.concurrency, (i) =>
      counts[i]! > 0
        ? { kind: 'connect', plan, count: counts[i]!, concurrency: Math.max(1, lanes[i]!), ...(rate ? { ratePerSecond: (rate * counts[i]!) / connect.concurrent } : {}) }
        : undefined,
    );
    if (rate) result.concurrent.ratePerSecond = rate;
  }
  return result;
}

async function phase(
  pool: WorkerPool,
  options: BenchOptions,
  label: string,
  total: number,
  concurrency: number,
  jobFor: Parameters<WorkerPool['each']>[0],
): Promise<ConnectPhaseResult> {
  const started = performance.now();
  const { outcomes, cost } = await measured(pool, options.serverPid, () =>
    pool.each<ConnectJobResult>(jobFor, (done, failed) => options.onProgress?.(`connect ${label}: ${done}/${total} sessions, ${failed} failed`)),
  );
  const elapsedMs = performance.now() - started;
  const records: SessionRecord[] = outcomes.flatMap((o) => o.result.sessions);
  const ok = records.filter((r) => r.ok);
  const applies = (step: Step) => !(step === 'channelOpen' && !options.connect.channel);
  const steps = Object.fromEntries(
    STEPS.map((step) => [step, applies(step) ? (summarize(ok.map((r) => r.timings[step]).filter((v): v is number => v !== undefined)) ?? null) : null]),
  ) as ConnectPhaseResult['steps'];
  return {
    sessions: total,
    concurrency,
    ok: ok.length,
    failed: records.length - ok.length,
    failures: countFailures(records),
    sessionsPerSecond: Math.round((ok.length / (elapsedMs / 1000)) * 10) / 10,
    elapsedMs: Math.round(elapsedMs),
    steps,
    ...cost,
  };
}
