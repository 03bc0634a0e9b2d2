/**
 * One small surface over the two browser drivers, so that the interop client and the page
 * tests drive Chromium and Firefox with the same code: Debian's Chromium through
 * playwright-core (CDP), Debian's Firefox ESR through puppeteer-core (WebDriver BiDi; the
 * Firefox of playwright is a patched build of its own, which Debian does not ship).
 * Pages are driven by JavaScript expressions (strings), so nothing compiled leaks into them.
 */
export type BrowserName = 'chromium' | 'firefox';
export const BROWSER_NAMES: readonly BrowserName[] = ['chromium', 'firefox'];

export interface LaunchOptions {
  /**
   * Let the browser hide host candidates behind mDNS `.local` names (its default without
   * camera permission). Off by default: mDNS is multicast, and only runs inside network
   * namespaces of their own may send it. On also means no fake media (test 1 only).
   */
  mdns?: boolean;
  executablePath?: string;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface BrowserPage {
  goto(url: string, timeoutMs?: number): Promise<void>;
  /** Evaluates a JavaScript expression in the page; awaits it when it is a promise. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Resolves once `expression` is truthy in the page (polled), rejects after `timeoutMs`. */
  waitFor(expression: string, timeoutMs: number): Promise<void>;
  click(selector: string): Promise<void>;
  screenshot(path: string): Promise<void>;
  /** Console messages and uncaught page errors, as one line each. */
  onLog(listener: (line: string) => void): void;
  close(): Promise<void>;
}

export interface LaunchedBrowser {
  readonly name: BrowserName;
  readonly version: string;
  newPage(viewport?: { width: number; height: number }): Promise<BrowserPage>;
  /** Idempotent, never throws. */
  close(): Promise<void>;
}

export async function launchBrowser(name: BrowserName, options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  // Each driver loads only when its browser is asked for.
  if (name === 'chromium') return (await import('./chromium.js')).launchChromium(options);
  return (await import('./firefox.js')).launchFirefox(options);
}

export const BROWSER_PATHS: Record<BrowserName, string> = {
  chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
};

export const BROWSER_PACKAGES: Record<BrowserName, string> = { chromium: 'chromium', firefox: 'firefox-esr' };
