/**
 * Debian's Firefox ESR (puppeteer-core, WebDriver BiDi) as the client against each engine
 * of ours, tests 0 and 1, and its mDNS host candidates inside network namespaces: see
 * browser-suites.ts.
 */
import { describeBrowserClient, describeBrowserMdns } from './browser-suites.js';

await describeBrowserClient('firefox', 'fc');
await describeBrowserMdns('firefox', 'f');
