/** Runs `count` tasks with at most `concurrency` in flight. */
export async function runWithConcurrency(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
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
