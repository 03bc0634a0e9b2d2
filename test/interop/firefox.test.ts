/**
 * Debian's Firefox ESR (puppeteer-core, WebDriver BiDi) as the client against each engine
 * of ours, tests 0 and 1, and its mDNS host candidates inside network namespaces: see
 * browser-suites.ts.
 */
import { describeBrowserClient, describeBrowserMdns } from './browser-suites.js';

describeBrowserClient('firefox');
await describeBrowserMdns('firefox', 'f');
