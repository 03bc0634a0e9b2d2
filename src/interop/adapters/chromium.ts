/** Debian's Chromium as an Echo Test client, driven by playwright-core (src/interop/browser/). */
import { browserPeer } from './browser-peer.js';

export const chromiumPeer = browserPeer('chromium', 'Chromium (Debian, playwright-core)');
