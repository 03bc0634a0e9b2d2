/**
 * The Chromium Echo Test client: Debian's Chromium through playwright-core, a page of our
 * own served from 127.0.0.1 (a real origin, so its fetch to the echo server is an ordinary
 * CORS request, not one from an opaque `null` origin).
 */
import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { PAGE_SCRIPT } from './page-script.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ChromiumRunOptions {
  url: string;
  test: 0 | 1;
  timeoutMs: number;
  /** Test 0: also send the fake microphone. Default true. */
  audio: boolean;
  /**
   * Let Chromium hide host candidates behind mDNS `.local` names (its default without camera
   * permission, so test 1 only). Off by default: mDNS is multicast, and only tests inside
   * network namespaces of their own may send it. Chromium then also needs a default route:
   * without one it gathers no candidate at all.
   */
  mdns: boolean;
  executablePath?: string;
  /** Progress lines (the browser's console, launch steps), for the cell's log. */
  log: (line: string) => void;
}

export interface ChromiumResult {
  ok: boolean;
  url: string;
  test: 0 | 1;
  engine: 'chromium';
  version?: string;
  reason?: string;
  message?: string;
  timings: Record<string, number>;
  candidates?: { local: string[]; remote: string[] };
  selectedPair?: { local?: string; remote?: string };
  connectionState?: string;
  video?: { framesDecoded: number; packetsReceived: number; codec?: string };
  dataChannel?: { sent: string; received?: string; rttMs?: number };
}

const LAUNCH_TIMEOUT_MS = 30_000;

export function chromiumArgs(mdns: boolean): string[] {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  // Chromium shows raw host addresses once the page may use the camera, and
  // --use-fake-ui-for-media-stream alone counts as that (seen on Chromium 156): the mDNS
  // run goes without the fake devices (it is test 1, no camera needed).
  if (mdns) return args;
  return [
    ...args,
    // A fake camera (a moving test pattern) and microphone (a beep), granted without a prompt.
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ];
}

/** Runs one test in a fresh browser (a fresh temporary profile). Never throws; always closes the browser. */
export async function runChromiumClient(options: ChromiumRunOptions): Promise<ChromiumResult> {
  const started = performance.now();
  const base: ChromiumResult = { ok: false, url: options.url, test: options.test, engine: 'chromium', timings: {} };
  let browser: Browser | undefined;
  let pageServer: Server | undefined;
  try {
    pageServer = await servePage();
    const address = pageServer.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await chromium.launch({ executablePath: options.executablePath ?? CHROMIUM_PATH, args: chromiumArgs(options.mdns), timeout: LAUNCH_TIMEOUT_MS });
    base.version = browser.version();
    const launchedMs = Math.round(performance.now() - started);
    options.log(`chromium ${base.version} launched in ${launchedMs} ms; page at ${origin}/`);
    const page = await browser.newPage();
    page.on('console', (message) => options.log(`console.${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => options.log(`page error: ${error.message}`));
    await page.goto(`${origin}/`, { timeout: 10_000 });
    const args = JSON.stringify({ url: options.url, test: options.test, audio: options.audio, timeoutMs: options.timeoutMs });
    // The page keeps its own deadline; ours is a backstop in case the page itself hangs.
    const result = (await withTimeout(page.evaluate(`window.echoTest(${args})`), options.timeoutMs + 5_000)) as Omit<ChromiumResult, 'url' | 'engine'>;
    return { ...base, ...result, timings: { browserLaunched: launchedMs, ...result.timings } };
  } catch (err) {
    return { ...base, reason: 'engine-error', message: `chromium: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await browser?.close().catch(() => undefined);
    pageServer?.close();
  }
}

function servePage(): Promise<Server> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>webrtc-echo Chromium client</title></head><body><script>${PAGE_SCRIPT}</script></body></html>`;
  const server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
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
