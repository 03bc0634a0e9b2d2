/** Rejects with a message naming `label` when `promise` takes longer than `ms`. Never leaves a timer behind. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true, or fails after `ms`. For states only observable by asking. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, label: string): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms: ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A reason to skip a test whose tool is missing, outside CI only: CI installs every tool
 * (.ci/run), so there a missing one is a failure, not a skip.
 */
export function skipUnlessCi(reason: string | undefined): string | false {
  if (!reason) return false;
  if (process.env.CI) throw new Error(`CI must not skip: ${reason}`);
  return reason;
}
