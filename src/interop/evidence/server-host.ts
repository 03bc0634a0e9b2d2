/**
 * The signaling proxy and the wait for a server's TCP port, where the cell's server is: in this
 * process on loopback (nothing to start), through cell-helper.js in the server's namespace.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Site } from '../peer.js';
import { startIn } from '../adapters/spawn-peer.js';
import type { PeerProcess } from '../process.js';
import { waitForTcp } from '../tcp-ready.js';
import { createSignalingProxy, type Exchange } from './signaling-proxy.js';

const PROXY_READY_MS = 10_000;

function helper(root: string): string {
  return join(root, 'dist', 'interop', 'evidence', 'cell-helper.js');
}

export interface SignalingRecorder {
  /** The URL the client is given: the proxy's, with the server's path. */
  readonly url: string;
  /** Every request so far, in the order they were answered. */
  exchanges(): Exchange[];
  /** Stops the proxy (its records stay). Idempotent. */
  stop(): Promise<void>;
}

/** Starts the recording proxy on the server's host, in front of `target` (an http URL). The caller stops it. */
export async function startSignalingRecorder(site: Site, root: string, target: string): Promise<SignalingRecorder> {
  const targetUrl = new URL(target);
  const urlAt = (port: number) => `http://${hostForUrl(site.serverHost)}:${port}${targetUrl.pathname}${targetUrl.search}`;
  if (site.serverExec.length === 0) {
    // Loopback: the proxy can live here, and costs no process start.
    const exchanges: Exchange[] = [];
    const proxy = createSignalingProxy(targetUrl, (exchange) => exchanges.push(exchange));
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(0, site.serverListen, resolve);
    });
    let stopping: Promise<void> | undefined;
    return {
      url: urlAt((proxy.address() as AddressInfo).port),
      exchanges: () => [...exchanges],
      stop: () =>
        (stopping ??= new Promise<void>((resolve) => {
          proxy.close(() => resolve());
          proxy.closeAllConnections();
        })),
    };
  }
  const proxy = startIn(site.serverExec, process.execPath, [helper(root), 'proxy', site.serverListen, target], { cwd: root });
  let port: number;
  try {
    port = Number((await proxy.waitFor(/"event":"listening","port":(\d+)/, PROXY_READY_MS))[1]);
  } catch (err) {
    await proxy.stop();
    throw new Error(`the signaling proxy did not start: ${(err as Error).message}\n${proxy.log()}`);
  }
  return {
    url: urlAt(port),
    stop: () => proxy.stop(),
    exchanges: () =>
      proxy
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{"event":"exchange"'))
        .flatMap((line) => {
          try {
            const { event: _event, ...exchange } = JSON.parse(line) as Exchange & { event: string };
            return [exchange];
          } catch {
            return []; // a line cut short by a kill
          }
        }),
  };
}

/**
 * Waits until `host:port` accepts TCP on the server's host (in its namespace when it has one),
 * or `alive` exits first. Resolves with the ms it took.
 */
export async function waitForServerTcp(site: Site, root: string, port: number, ms: number, alive?: PeerProcess): Promise<number> {
  const started = performance.now();
  if (site.serverExec.length === 0) {
    const stop = new AbortController();
    const exited = alive?.exited.then((code) => {
      throw new Error(`exited (code ${String(code)}) before it accepted TCP on port ${port}`);
    });
    exited?.catch(() => undefined); // raced below; must not go unhandled once the port is up
    const accepted = waitForTcp(site.serverListen, port, ms, stop.signal);
    accepted.catch(() => undefined);
    try {
      await Promise.race([accepted, ...(exited ? [exited] : [])]);
    } finally {
      stop.abort(); // a server that exited ends the polling too
    }
    return Math.round(performance.now() - started);
  }
  const probe = startIn(site.serverExec, process.execPath, [helper(root), 'wait-tcp', site.serverListen, String(port), String(ms)], { cwd: root });
  const exited = alive?.exited.then((code) => ({ serverExited: code }));
  const result = await Promise.race([probe.exited.then((code) => ({ probe: code })), ...(exited ? [exited] : [])]);
  await probe.stop();
  if ('serverExited' in result) throw new Error(`exited (code ${String(result.serverExited)}) before it accepted TCP on port ${port}`);
  if (result.probe !== 0) throw new Error(probe.stderr().trim() || `nothing accepted TCP on ${site.serverListen}:${port} within ${ms} ms`);
  return Math.round(performance.now() - started);
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
