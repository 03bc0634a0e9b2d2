/** Debian's Chromium (playwright-core) as the client against each engine of ours: see browser-suites.ts. */
import { describeBrowserClient } from './browser-suites.js';

await describeBrowserClient('chromium', 'cc');
