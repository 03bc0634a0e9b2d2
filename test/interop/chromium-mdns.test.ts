/** Chromium's mDNS host candidates against each engine of ours, inside network namespaces: see browser-suites.ts. */
import { describeBrowserMdns } from './browser-suites.js';

await describeBrowserMdns('chromium', 'c');
