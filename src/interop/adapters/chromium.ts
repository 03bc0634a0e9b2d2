/** Debian's Chromium as an Echo Test client (a client only: a browser answers no POSTs). */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CHROMIUM_PATH } from '../chromium/run-chromium.js';
import type { Availability, ClientOutcome, InteropPeer } from '../peer.js';
import { iceServerArgs, lastJsonLine, runClientProcess } from './spawn-peer.js';

export const chromiumPeer: InteropPeer = {
  name: 'chromium',
  ours: false,
  label: 'Chromium (Debian, playwright-core)',
  async detect(root): Promise<Availability> {
    try {
      await access(CHROMIUM_PATH, constants.X_OK);
    } catch {
      return { available: false, reason: `${CHROMIUM_PATH} is missing`, install: 'apt-get install -y chromium' };
    }
    try {
      await access(join(root, 'dist', 'interop', 'chromium', 'main.js'));
    } catch {
      return { available: false, reason: 'dist/interop/chromium/main.js is missing', install: 'npm run build' };
    }
    return { available: true };
  },
  client: {
    // A browser launch takes a few hundred ms, more on a busy machine.
    timeoutMs: 20_000,
    networks: ['direct', 'nat', 'relay', 'server-nat'],
    run: ({ url, test, timeoutMs, server, root, site }) => {
      const args = [join(root, 'dist', 'interop', 'chromium', 'main.js'), '-s', url, '-t', String(test), '--timeout', String(timeoutMs / 1000), '--json', ...iceServerArgs(site)];
      if (server.quirks.videoOnly) args.push('--no-audio');
      return runClientProcess(process.execPath, args, { root, timeoutMs, site }, (child): Partial<ClientOutcome> => {
        const result = lastJsonLine(child.stdout());
        if (!result) return {};
        const { ok, reason, message, timings, ...details } = result;
        return {
          ok: ok === true,
          reason: typeof reason === 'string' ? reason : undefined,
          message: typeof message === 'string' ? message : undefined,
          timings: (timings ?? {}) as Record<string, number>,
          details,
        };
      });
    },
  },
};
