import { countFailures } from '../failures.js';
import { round, summarize } from '../stats.js';
import type { BenchOptions, Cost, EchoResult, EchoStepReport } from '../types.js';
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
      if (!report.held || report.limitedBy === 'generator') {
        // A generator that fell behind, or a machine with no CPU left for the server, may have
        // caused the loss itself: say so rather than call it the server's capacity.
        result.capacity = capacityOf(result.steps, report.limitedBy ?? 'loss');
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
  const { server, generator, machine } = cost;
  const generatorCpu = generator.reduce((sum, w) => sum + w.cpuSeconds, 0);
  const perSession = parts.flatMap((p) => p.perSession ?? []);
  const worst = perSession.length
    ? { loss: round(Math.max(...perSession.map((p) => (p.sent ? 1 - p.echoed / p.sent : 0))), 4), rttP99Ms: Math.max(...perSession.map((p) => p.rttP99Ms)) }
    : undefined;
  const sendStretch = round(Math.max(...parts.map((p) => p.sendStretch)), 2);
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
    sendStretch,
    held: 1 - fraction < echo.maxLoss,
    serverCpuUsPerPacket: server && echoed > 0 ? round((server.cpuSeconds * 1e6) / echoed, 1) : undefined,
    generatorCpuUsPerPacket: echoed > 0 ? round((generatorCpu * 1e6) / echoed, 1) : undefined,
    worstSession: worst,
    limitedBy: limitOf(sendStretch, generator, machine),
    ...cost,
  };
}

/** The machine is saturated when nearly every core was busy: then no one's capacity is being measured. */
export const MACHINE_SATURATED_PERCENT = 95;

/** What, other than the server, may have limited a step: a generator that fell behind or saturated, or the machine. */
export function limitOf(sendStretch: number, generator: Cost['generator'], machine: Cost['machine']): EchoStepReport['limitedBy'] {
  if (sendStretch > 1.1 || generator.some((w) => w.saturated)) return 'generator';
  if (machine && machine.busyPercent > MACHINE_SATURATED_PERCENT) return 'machine';
  return undefined;
}

function capacityOf(steps: EchoStepReport[], stoppedBy: NonNullable<EchoResult['capacity']>['stoppedBy']): EchoResult['capacity'] {
  const best = steps.filter((s) => s.held).at(-1);
  return { packetsPerSecond: best?.packetsPerSecond ?? 0, megabitsPerSecond: best?.megabitsPerSecond ?? 0, sessions: best?.sessions ?? 0, stoppedBy };
}
