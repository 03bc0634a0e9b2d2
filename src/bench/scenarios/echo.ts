import { countFailures } from '../failures.js';
import { round, summarize } from '../stats.js';
import type { BenchOptions, EchoResult, EchoStepReport } from '../types.js';
import type { EchoStepResult, OpenJobResult } from '../worker/protocol.js';
import { split, type WorkerPool } from '../worker-processes.js';
import { measured } from './measure.js';

/**
 * S sessions echo RTP at R packets/s each for D seconds. With ramp, R grows by a factor per
 * step (on the same sessions) until loss passes the limit; the last step under it is the capacity.
 */
export async function runEcho(pool: WorkerPool, options: BenchOptions): Promise<EchoResult> {
  const { echo } = options;
  const plan = { url: options.url, channel: false, video: true, firstEcho: true, timeoutMs: options.timeoutMs };
  const shares = split(echo.sessions, pool.size);
  const opened = await pool.each<OpenJobResult>(
    (i) => (shares[i]! > 0 ? { kind: 'echo-open', plan, sessions: shares[i]!, concurrency: Math.min(shares[i]!, 10) } : undefined),
    (done, failed) => options.onProgress?.(`echo: connecting ${done}/${echo.sessions} sessions, ${failed} failed`),
  );
  const result: EchoResult = {
    payloadBytes: echo.payloadBytes,
    opened: opened.reduce((sum, o) => sum + o.result.opened, 0),
    failures: countFailures(opened.flatMap((o) => o.result.failures)),
    steps: [],
  };
  try {
    if (result.opened === 0) return result;
    let rate = echo.packetsPerSecond;
    for (let step = 0; step < (echo.ramp ? echo.maxSteps : 1); step++) {
      options.onProgress?.(`echo: ${result.opened} sessions × ${Math.round(rate)} packets/s for ${echo.durationMs / 1000} s`);
      const report = await runStep(pool, options, rate, result.opened);
      result.steps.push(report);
      if (!echo.ramp) break;
      const generatorLimited = report.sendStretch > 1.1 || report.generator.some((w) => w.saturated);
      if (!report.held || generatorLimited) {
        // A generator that fell behind may have caused the loss itself: say so rather than blame the server.
        result.capacity = capacityOf(result.steps, generatorLimited ? 'generator' : 'loss');
        return result;
      }
      rate *= echo.rampFactor;
    }
    if (echo.ramp) result.capacity = capacityOf(result.steps, 'max-steps');
    return result;
  } finally {
    await pool.each(() => ({ kind: 'echo-close' }));
  }
}

async function runStep(pool: WorkerPool, options: BenchOptions, rate: number, sessions: number): Promise<EchoStepReport> {
  const { echo } = options;
  const packetsPerSecond = Math.round(rate);
  const { outcomes, cost } = await measured(pool, options.serverPid, () =>
    pool.each<EchoStepResult>(() => ({ kind: 'echo-step', packetsPerSecond, durationMs: echo.durationMs, drainMs: echo.drainMs, payloadBytes: echo.payloadBytes })),
  );
  const parts = outcomes.map((o) => o.result);
  const sent = parts.reduce((s, p) => s + p.sent, 0);
  const echoed = parts.reduce((s, p) => s + p.echoed, 0);
  const fraction = sent > 0 ? echoed / sent : 0;
  const total = packetsPerSecond * sessions;
  return {
    sessions,
    packetsPerSecondPerSession: packetsPerSecond,
    packetsPerSecond: total,
    megabitsPerSecond: round((total * (echo.payloadBytes + 12) * 8) / 1e6, 1),
    sent,
    echoed,
    echoedFraction: round(fraction, 4),
    loss: round(1 - fraction, 4),
    duplicates: parts.reduce((s, p) => s + p.duplicates, 0),
    renumbered: parts.reduce((s, p) => s + p.renumbered, 0),
    rttMs: summarize(parts.flatMap((p) => p.rttMs)) ?? null,
    sendStretch: round(Math.max(...parts.map((p) => p.sendStretch)), 2),
    held: 1 - fraction < echo.maxLoss,
    ...cost,
  };
}

function capacityOf(steps: EchoStepReport[], stoppedBy: NonNullable<EchoResult['capacity']>['stoppedBy']): EchoResult['capacity'] {
  const best = steps.filter((s) => s.held).at(-1);
  return { packetsPerSecond: best?.packetsPerSecond ?? 0, megabitsPerSecond: best?.megabitsPerSecond ?? 0, sessions: best?.sessions ?? 0, stoppedBy };
}
