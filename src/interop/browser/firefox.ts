/**
 * Debian's Firefox ESR through puppeteer-core over WebDriver BiDi, behind the BrowserPage
 * surface of driver.ts. puppeteer-core downloads no browser; it starts this one headless
 * with a fresh temporary profile.
 */
import puppeteer, { type Page } from 'puppeteer-core';
import { BROWSER_PATHS, type BrowserPage, type LaunchedBrowser, type LaunchOptions } from './driver.js';

export const FIREFOX_PATH = BROWSER_PATHS.firefox;

/** The profile's preferences: fake media without a prompt, and host addresses shown unless mDNS is wanted. */
export function firefoxPrefs(mdns: boolean): Record<string, unknown> {
  const prefs: Record<string, unknown> = {
    // No plugin downloads (OpenH264) and no other traffic of its own: there is no network here.
    'media.gmp-manager.updateEnabled': false,
    'media.gmp-gmpopenh264.autoupdate': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
  };
  // As with Chromium, the mDNS run keeps the browser's defaults: no fake devices, no granted
  // permission, host addresses hidden behind .local names.
  if (mdns) return prefs;
  return {
    ...prefs,
    // A fake camera and microphone (media/MediaEngineFake), granted without a prompt.
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    // Raw host addresses instead of mDNS names (Firefox hides them unless the page captures).
    'media.peerconnection.ice.obfuscate_host_addresses': false,
  };
}

export async function launchFirefox(options: LaunchOptions): Promise<LaunchedBrowser> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: options.executablePath ?? FIREFOX_PATH,
    headless: true,
    timeout: options.timeoutMs ?? 30_000,
    extraPrefsFirefox: firefoxPrefs(options.mdns ?? false),
  });
  const version = (await browser.version()).replace(/^firefox\//, '');
  let closing: Promise<void> | undefined;
  return {
    name: 'firefox',
    version,
    newPage: async (viewport) => {
      const page = await browser.newPage();
      if (viewport) await page.setViewport(viewport);
      return wrapPage(page);
    },
    close: () => (closing ??= browser.close().catch(() => undefined)),
  };
}

function wrapPage(page: Page): BrowserPage {
  return {
    goto: async (url, timeoutMs = 10_000) => {
      await page.goto(url, { timeout: timeoutMs });
    },
    // A string is evaluated as an expression and a promise it yields is awaited, as in playwright.
    evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    waitFor: async (expression, timeoutMs) => {
      await page.waitForFunction(expression, { timeout: timeoutMs, polling: 200 });
    },
    click: (selector) => page.click(selector),
    screenshot: async (path) => {
      await page.screenshot({ path: path as `${string}.png`, fullPage: true });
    },
    onLog: (listener) => {
      page.on('console', (message) => listener(`console.${message.type()}: ${message.text()}`));
      page.on('pageerror', (error) => listener(`page error: ${error instanceof Error ? error.message : String(error)}`));
    },
    close: () => page.close(),
  };
}
