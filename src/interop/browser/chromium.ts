/** Debian's Chromium through playwright-core, behind the BrowserPage surface of driver.ts. */
import { chromium, type Page } from 'playwright-core';
import { BROWSER_PATHS, type BrowserPage, type LaunchedBrowser, type LaunchOptions } from './driver.js';

export const CHROMIUM_PATH = BROWSER_PATHS.chromium;

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

export async function launchChromium(options: LaunchOptions): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    args: chromiumArgs(options.mdns ?? false),
    timeout: options.timeoutMs ?? 30_000,
  });
  return {
    name: 'chromium',
    version: browser.version(),
    newPage: async (viewport) => wrapPage(await browser.newPage(viewport ? { viewport } : {})),
    close: () => browser.close().catch(() => undefined),
  };
}

function wrapPage(page: Page): BrowserPage {
  return {
    goto: async (url, timeoutMs = 10_000) => {
      await page.goto(url, { timeout: timeoutMs });
    },
    evaluate: (expression) => page.evaluate(expression),
    waitFor: async (expression, timeoutMs) => {
      await page.waitForFunction(expression, undefined, { timeout: timeoutMs, polling: 200 });
    },
    click: (selector) => page.click(selector),
    screenshot: async (path) => {
      await page.screenshot({ path, fullPage: true });
    },
    onLog: (listener) => {
      page.on('console', (message) => listener(`console.${message.type()}: ${message.text()}`));
      page.on('pageerror', (error) => listener(`page error: ${error.message}`));
    },
    close: () => page.close(),
  };
}
