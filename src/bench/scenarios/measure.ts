import { MachineSampler, UsageSampler } from '../usage-sampler.js';
import type { JobOutcome, WorkerPool } from '../worker-processes.js';
import type { Cost } from '../types.js';

/** Runs one phase on the pool while sampling the server (with its child processes), every worker and the machine. */
export async function measured<T>(
  pool: WorkerPool,
  serverPid: number | undefined,
  phase: () => Promise<Array<JobOutcome<T>>>,
): Promise<{ outcomes: Array<JobOutcome<T>>; cost: Cost }> {
  const server = serverPid ? new UsageSampler(serverPid, { tree: true }) : undefined;
  const machine = new MachineSampler();
  const stopWorkers = pool.sample();
  const outcomes = await phase();
  const generator = stopWorkers()(outcomes);
  return { outcomes, cost: { server: server?.stop(), generator, machine: machine.stop() } };
}
