/** Close paths never throw and never stop partway (pion's PeerConnection.close, mediasoup's close()). */

/** Runs one cleanup step; what it throws, or the promise it returns rejects with, goes to `log`. */
export function safely(step: () => unknown, log: (err: unknown) => void): void {
  try {
    const result = step();
    if (result instanceof Promise) result.catch(log);
  } catch (err) {
    log(err);
  }
}

/** Runs every step, in order, even when one throws. */
export function closeQuietly(steps: Iterable<() => unknown>, log: (err: unknown) => void): void {
  for (const step of steps) safely(step, log);
}
