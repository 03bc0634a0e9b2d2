/** The matrix's side of cell-helper.js: the signaling proxy, and the wait for a server's TCP port. */
import { join } from 'node:path';
import type { Site } from '../peer.js';
import { startIn } from '../adapters/spawn-peer.js';
import type { PeerProcess } from '../process.js';
import type { Exchange } from './signaling-proxy.js';

const PROXY_READY_MS = 10_000;

function helper(root: string): string {
  return join(root, 'dist', 'interop', 'evidence', 'cell-helper.js');
}

export interface SignalingRecorder {
  /** The URL the client is given: the proxy's, with the server's path. */
  readonly url: string;
  /** Every request so far, in the order they were answered. */
  exchanges(): Exchange[];
  readonly process: PeerProcess;
}

/** Starts the recording proxy on the server's host, in front of `target` (an http URL). The caller stops `process`. */
export async function startSignalingRecorder(site: Site, root: string, target: string): Promise<SignalingRecorder> {
  const proxy = startIn(site.serverExec, process.execPath, [helper(root), 'proxy', site.serverListen, target], { cwd: root });
  let port: number;
  try {
    port = Number((await proxy.waitFor(/"event":"listening","port":(\d+)/, PROXY_READY_MS))[1]);
  } catch (err) {
    await proxy.stop();
    throw new Error(`the signaling proxy did not start: ${(err as Error).message}\n${proxy.log()}`);
  }
  const targetUrl = new URL(target);
  return {
    url: `http://${hostForUrl(site.serverHost)}:${port}${targetUrl.pathname}${targetUrl.search}`,
    process: proxy,
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
