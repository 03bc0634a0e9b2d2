/**
 * Starts the echo server the page tests run against, serving the page at `/` and `/offer`
 * from the same origin, as users get it from `webrtc-echo serve`.
 *
 * ECHO_PAGE_SERVER_URL=http://127.0.0.1:8080 runs the tests against a server that is already
 * running instead (any echo server that serves the built page), for example while developing.
 */
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { freePort } from '../../src/net/free-port.js';

export { freePort };
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json: this file runs from test/page/ (tsx) or a compiled copy of it. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json)');
    dir = parent;
  }
  return `${dir}/`;
}

export const repoRoot = findRepoRoot();
const cli = `${repoRoot}dist/cli.js`;
const builtPage = `${repoRoot}dist/page/index.html`;

export type EngineName = 'libdatachannel' | 'werift';

export interface RunningEchoServer {
  /** Origin that serves the page at `/` and answers `POST /offer`, e.g. http://127.0.0.1:40123 */
  readonly origin: string;
  /** Names the screenshot: the engine, or `external`. */
  readonly label: string;
  close(): Promise<void>;
}

/** The engines to test: ECHO_PAGE_ENGINES=werift narrows the list. */
export function enginesUnderTest(): string[] {
  const external = process.env.ECHO_PAGE_SERVER_URL;
  if (external) return [process.env.ECHO_PAGE_SERVER_LABEL ?? 'external'];
  const chosen = process.env.ECHO_PAGE_ENGINES;
  return chosen ? chosen.split(',').map((name) => name.trim()) : [...ENGINE_NAMES];
}

export async function startEchoServer(engine: string): Promise<RunningEchoServer> {
  const external = process.env.ECHO_PAGE_SERVER_URL;
  if (external) {
    const origin = new URL(external).origin;
    await waitForPage(origin, 5000, undefined);
    return { origin, label: engine, close: async () => undefined };
  }
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  if (!existsSync(builtPage)) throw new Error(`${builtPage} is missing: run \`npm run build:page\` first`);

  const port = await freePort();
  // ICE on every interface, not only loopback: the browsers gather no loopback and Firefox checks
  // no loopback candidate, and the TURN test's coturn is on this machine's own address. These page
  // tests are the ones still on this machine's own stack (moving them into namespaces, as the
  // browser suites were, is open).
  const child = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--engine', engine, '--drain-timeout', '0', '--ice-addresses', 'all'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitForPage(origin, 15_000, child);
  } catch (err) {
    await stop(child);
    throw new Error(`${(err as Error).message}\n--- server output ---\n${output.slice(-4000)}`);
  }
  return { origin, label: engine, close: () => stop(child) };
}

/** Polls `GET /` until the server serves the page. */
async function waitForPage(origin: string, timeoutMs: number, child: ChildProcess | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the echo server exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${origin}/`, { signal: AbortSignal.timeout(1000) });
      const body = await response.text();
      if (response.ok && body.includes('WebRTC Echo Test')) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`the echo server at ${origin} did not serve the page within ${timeoutMs} ms (${last})`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

