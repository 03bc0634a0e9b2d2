/** Runs `count` tasks with at most `concurrency` in flight. */
export async function runWithConcurrency(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

/**
 * Starts task(0..count-1) at `ratePerSecond`, on schedule whether or not earlier ones finished
 * (an open loop, as independent users arrive), with at most `maxInFlight` running: past that a
 * start waits for a slot. Resolves when every task has.
 */
export async function runAtRate(count: number, ratePerSecond: number, maxInFlight: number, task: (index: number) => Promise<void>): Promise<void> {
  const started = performance.now();
  const running = new Set<Promise<void>>();
  for (let index = 0; index < count; index++) {
    const wait = started + (index * 1000) / ratePerSecond - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    while (running.size >= Math.max(1, maxInFlight)) await Promise.race(running);
    const run: Promise<void> = task(index).finally(() => running.delete(run));
    running.add(run);
  }
  await Promise.all(running);
}

/** Calls `report` at most every `ms`, and once more when flushed. */
export function throttled(ms: number, report: () => void): { tick(): void; flush(): void } {
  let last = 0;
  return {
    tick() {
      const now = performance.now();
      if (now - last >= ms) {
        last = now;
        report();
      }
    },
    flush: report,
  };
}
