/** Whether a server accepts TCP yet: how a server started by `--add-server NAME=COMMAND` is known to be ready. */
import { connect } from 'node:net';

/**
 * Resolves with the ms it took once `host:port` accepts a TCP connection; rejects after `ms`.
 * How a server started by `--add-server NAME=COMMAND` is known to be ready.
 */
export async function waitForTcp(host: string, port: number, ms: number, signal?: AbortSignal, intervalMs = 50): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await acceptsTcp(host, port, Math.min(1_000, ms))) return Math.round(performance.now() - started);
    if (signal?.aborted) throw new Error('no longer waited for');
    if (performance.now() - started + intervalMs > ms) throw new Error(`nothing accepted TCP on ${host}:${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function acceptsTcp(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
