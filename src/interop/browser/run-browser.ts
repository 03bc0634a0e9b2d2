/**
 * The browser Echo Test client: Debian's Chromium or Firefox (driver.ts), a page of our own
 * served from 127.0.0.1 (a real origin, so its fetch to the echo server is an ordinary CORS
 * request, not one from an opaque `null` origin, and a secure context, which getUserMedia
 * needs), and the page script (page-script/echo-test.ts, bundled by `npm run build`) doing
 * the test inside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../../media/package-root.js';
import type { IceServer } from '../../net/ice-server.js';
import { launchBrowser, type BrowserName, type LaunchedBrowser } from './driver.js';

export interface BrowserRunOptions {
  browser: BrowserName;
  url: string;
  test: 0 | 1;
  timeoutMs: number;
  /** Test 0: also send the fake microphone. Default true. */
  audio: boolean;
  /**
   * Let the browser hide host candidates behind mDNS `.local` names (see LaunchOptions.mdns).
   * Chromium then also needs a default route: without one it gathers no candidate at all.
   */
  mdns: boolean;
  /** STUN/TURN servers for the page's peer connection; `relayOnly` sets iceTransportPolicy 'relay'. */
  iceServers?: IceServer[];
  relayOnly?: boolean;
  executablePath?: string;
  /** Progress lines (the browser's console, launch steps), for the cell's log. */
  log: (line: string) => void;
}

export interface BrowserResult {
  ok: boolean;
  url: string;
  test: 0 | 1;
  engine: BrowserName;
  version?: string;
  reason?: string;
  message?: string;
  timings: Record<string, number>;
  candidates?: { local: string[]; remote: string[] };
  selectedPair?: { local?: string; remote?: string };
  connectionState?: string;
  video?: { framesDecoded: number; packetsReceived: number; codec?: string };
  dataChannel?: { sent: string; received?: string; rttMs?: number };
  /** The page's sub-checks (src/client/sub-checks.ts names). */
  checks?: Array<{ name: string; status: string; detail: string }>;
}

const LAUNCH_TIMEOUT_MS = 30_000;

/** Runs one test in a fresh browser (a fresh temporary profile). Never throws; always closes the browser. */
export async function runBrowserClient(options: BrowserRunOptions): Promise<BrowserResult> {
  const started = performance.now();
  const base: BrowserResult = { ok: false, url: options.url, test: options.test, engine: options.browser, timings: {} };
  let browser: LaunchedBrowser | undefined;
  let pageServer: Server | undefined;
  try {
    pageServer = await servePage(options.browser);
    const address = pageServer.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchBrowser(options.browser, { mdns: options.mdns, executablePath: options.executablePath, timeoutMs: LAUNCH_TIMEOUT_MS });
    base.version = browser.version;
    const launchedMs = Math.round(performance.now() - started);
    options.log(`${options.browser} ${base.version} launched in ${launchedMs} ms; page at ${origin}/`);
    const page = await browser.newPage();
    page.onLog(options.log);
    await page.goto(`${origin}/`);
    const args = JSON.stringify({
      url: options.url, test: options.test, audio: options.audio, timeoutMs: options.timeoutMs, iceServers: options.iceServers ?? [], relayOnly: options.relayOnly ?? false,
    });
    // The page keeps its own deadline; ours is a backstop in case the page itself hangs.
    const result = await withTimeout(page.evaluate<Omit<BrowserResult, 'url' | 'engine'>>(`window.echoTest(${args})`), options.timeoutMs + 5_000);
    return { ...base, ...result, timings: { browserLaunched: launchedMs, ...result.timings } };
  } catch (err) {
    return { ...base, reason: 'engine-error', message: `${options.browser}: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await browser?.close();
    pageServer?.close();
  }
}

/** The bundled page script, built from page-script/ beside the compiled client (the same file under tsx). */
function pageScript(): string {
  const file = join(packageRoot(), 'dist/interop/browser/page-script.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  return readFileSync(file, 'utf8');
}

function servePage(browser: BrowserName): Promise<Server> {
  const script = pageScript();
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>webrtc-echo ${browser} client</title></head><body><script src="/echo-test.js"></script></body></html>`;
  const server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    else if (request.url === '/echo-test.js') response.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    else response.writeHead(request.url === '/favicon.ico' ? 204 : 404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the page did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
