import type { ClientEngine } from '../../engines/engine.js';
import { closeSession, openSession } from './bench-session.js';
import { runAtRate, runWithConcurrency, throttled } from './concurrency.js';
import type { ConnectJobResult, Job, SessionRecord } from './protocol.js';

/** Opens `count` sessions (`concurrency` at a time, or started at `ratePerSecond`), each closed as soon as its first echo is back. */
export async function runConnectJob(
  engine: ClientEngine,
  job: Extract<Job, { kind: 'connect' }>,
  progress: (done: number, failed: number) => void,
): Promise<ConnectJobResult> {
  const sessions: SessionRecord[] = [];
  let failed = 0;
  const report = throttled(200, () => progress(sessions.length, failed));
  const started = performance.now();
  const one = async () => {
    const sessionStart = performance.now();
    const session = await openSession(engine, job.plan);
    if (session.ok) closeSession(session.peer, session.timings, sessionStart);
    else failed++;
    const { ok, timings, reason, message } = session;
    sessions.push({ ok, timings, reason, message });
    report.tick();
  };
  if (job.ratePerSecond) await runAtRate(job.count, job.ratePerSecond, job.concurrency, one);
  else await runWithConcurrency(job.count, job.concurrency, one);
  report.flush();
  return { sessions, elapsedMs: performance.now() - started };
}
