/** Debian's Chromium driven by playwright-core, with fake camera and microphone; the browsers of the page's main case. */
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs, CHROMIUM_PATH } from '../../src/interop/browser/chromium.js';
import { BROWSER_NAMES, type BrowserName } from '../../src/interop/browser/driver.js';

export { CHROMIUM_PATH };

/** Each launch gets a fresh temporary profile (playwright's default for launch()); `extraArgs` go after ours. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    // The same flags as the interop driver's Chromium (mDNS off: no multicast on this machine's interfaces).
    args: [...chromiumArgs(false), ...extraArgs],
  });
}

/** The browsers the page's main case runs in: ECHO_PAGE_BROWSERS=firefox narrows them. */
export function pageBrowsers(): BrowserName[] {
  const chosen = process.env.ECHO_PAGE_BROWSERS;
  if (!chosen) return [...BROWSER_NAMES];
  return chosen.split(',').map((name) => name.trim() as BrowserName).filter((name) => BROWSER_NAMES.includes(name));
}
