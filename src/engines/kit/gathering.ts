/**
 * Non-trickle ICE: the description we hand out must carry every candidate we will ever have,
 * so each side waits for gathering, but never longer than a bound. Each stack turns its own
 * gathering event into a promise; this waits for it, bounded, and says when the bound won.
 */
import type { Logger } from 'pino';

export type GatheringOutcome = 'complete' | 'timeout';

export async function waitForGathering(
  complete: Promise<unknown>,
  timeoutMs: number,
  log: Logger,
  /** What the description is, for the log line: "answer" or "offer". */
  description: 'answer' | 'offer',
): Promise<GatheringOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([complete.then(() => 'complete' as const), timeout]);
    if (outcome === 'timeout') log.warn({ gatherTimeoutMs: timeoutMs }, `ICE gathering timed out: the ${description} carries the candidates so far`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve function, for events that fire once (gathering complete). */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
