/**
 * `run(options)` drives every requested scenario against one echo server and returns a plain
 * result object; printing is print.ts's job (the autocannon split: run, then print).
 */
import { runConnect } from './scenarios/connect.js';
import { runEcho } from './scenarios/echo.js';
import { runDataChannel } from './scenarios/datachannel.js';
import { runIdle } from './scenarios/idle.js';
import type { BenchOptions, BenchResult, Cost } from './types.js';
import { SATURATED_PERCENT, WorkerPool } from './worker-processes.js';

export async function run(options: BenchOptions): Promise<BenchResult> {
  const started = performance.now();
  const result: BenchResult = {
    url: options.url,
    generator: options.generator,
    clientEngine: options.engine,
    workers: options.workers,
    serverPid: options.serverPid,
    startedAt: new Date().toISOString(),
    durationSeconds: 0,
    generatorWarnings: [],
    errors: [],
  };
  const pool = WorkerPool.start(options.workers, options.engine, options.generator);
  try {
    options.onProgress?.(`starting ${options.workers} ${options.generator} load generator worker(s)`);
    await pool.each(() => ({ kind: 'warmup' }));
    for (const scenario of options.scenarios) {
      try {
        if (scenario === 'connect') result.connect = await runConnect(pool, options);
        else if (scenario === 'echo') result.echo = await runEcho(pool, options);
        else if (scenario === 'datachannel') result.datachannel = await runDataChannel(pool, options);
        else if (scenario === 'idle') {
          if (!options.serverPid) result.errors.push('idle: no server pid (use --server-pid, --spawn-server or --engine), so no RSS per session');
          result.idle = await runIdle(pool, options);
        }
      } catch (err) {
        result.errors.push(`${scenario}: ${(err as Error).message}`);
      }
    }
  } finally {
    await pool.close();
  }
  result.generatorWarnings = generatorWarnings(result);
  result.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
  return result;
}

/** Names every phase where the load generator (or the machine), not the server, was the limit. */
function generatorWarnings(result: BenchResult): string[] {
  const phases: Array<[string, Cost & { sendStretch?: number }]> = [];
  if (result.connect?.sequential) phases.push(['connect sequential', result.connect.sequential]);
  if (result.connect?.concurrent) phases.push(['connect concurrent', result.connect.concurrent]);
  result.echo?.steps.forEach((step) => phases.push([`echo ${step.packetsPerSecond} packets/s`, step]));
  if (result.datachannel) phases.push(['datachannel', result.datachannel]);
  const warnings: string[] = [];
  for (const [name, phase] of phases) {
    const busy = phase.generator.filter((w) => w.saturated);
    if (busy.length > 0) {
      const what = result.generator === 'node' ? 'of a core on their event loop' : 'of every core';
      warnings.push(`${name}: ${busy.length} of ${phase.generator.length} ${result.generator} generator workers above ${SATURATED_PERCENT}% ${what} (${busy.map((w) => `${w.loadPercent}%`).join(', ')}): the generator may be the limit, try more --workers`);
    }
    if (phase.sendStretch !== undefined && phase.sendStretch > 1.05) warnings.push(`${name}: sending took ${phase.sendStretch}× its planned time: the generator could not keep the rate`);
    if ('limitedBy' in phase && phase.limitedBy === 'machine' && !('held' in phase && phase.held)) {
      warnings.push(`${name}: the machine was ${phase.machine?.busyPercent}% busy (every core): server and generator competed for CPU, so this loss is not the server's capacity`);
    }
  }
  return warnings;
}
