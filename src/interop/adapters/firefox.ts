/** Debian's Firefox ESR as an Echo Test client, driven by puppeteer-core over WebDriver BiDi (src/interop/browser/). */
import { browserPeer } from './browser-peer.js';

export const firefoxPeer = browserPeer('firefox', 'Firefox ESR (Debian, puppeteer-core)');
