/** Debian's Chromium driven by playwright-core, with fake camera and microphone. */
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs } from '../../src/interop/chromium/run-chromium.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Each launch gets a fresh temporary profile (playwright's default for launch()). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    // The same flags as the interop driver's Chromium (mDNS off: no multicast on this machine's interfaces).
    args: chromiumArgs(false),
  });
}
