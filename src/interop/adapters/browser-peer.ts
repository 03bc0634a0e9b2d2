/**
 * A browser as an Echo Test client (a client only: a browser answers no POSTs), run through
 * dist/interop/browser/main.js in a process of its own, as the other clients are.
 */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { checksFromJson } from '../../client/sub-checks.js';
import { BROWSER_PACKAGES, BROWSER_PATHS, type BrowserName } from '../browser/driver.js';
import type { Availability, ClientOutcome, InteropPeer } from '../peer.js';
import { iceServerArgs, lastJsonLine, readFailureLine, runClientProcess } from './spawn-peer.js';
import { debianVersion } from './versions.js';

/**
 * DTLS keys under --capture (SSLKEYLOGFILE reaches the browser through our driver's environment):
 * as measured here with Debian's builds.
 */
const KEY_LOG: Record<BrowserName, { writes: boolean; note: string }> = {
  chromium: { writes: false, note: "Chromium's WebRTC does its DTLS in its own BoringSSL stream adapter, which ignores SSLKEYLOGFILE (only its network stack's TLS reads it)" },
  firefox: { writes: true, note: 'NSS writes SSLKEYLOGFILE for WebRTC DTLS too' },
};

export function browserPeer(browser: BrowserName, label: string): InteropPeer {
  const main = (root: string) => join(root, 'dist', 'interop', 'browser', 'main.js');
  return {
    name: browser,
    ours: false,
    label,
    keyLog: KEY_LOG[browser],
    async detect(root): Promise<Availability> {
      try {
        await access(BROWSER_PATHS[browser], constants.X_OK);
      } catch {
        const setup = browser === 'firefox' ? 'bash interop/setup/firefox.sh (apt-get install -y firefox-esr)' : `apt-get install -y ${BROWSER_PACKAGES[browser]}`;
        return { available: false, reason: `${BROWSER_PATHS[browser]} is missing`, install: setup };
      }
      try {
        await access(main(root));
      } catch {
        return { available: false, reason: 'dist/interop/browser/main.js is missing', install: 'npm run build' };
      }
      return { available: true, version: await debianVersion(BROWSER_PACKAGES[browser]) };
    },
    client: {
      // A browser launch takes a few hundred ms (Chromium) to a few seconds (Firefox), more on a busy machine.
      timeoutMs: 20_000,
      // Both take ICE servers and relay only (iceTransportPolicy) in the page. Not direct: neither
      // gathers loopback (Chromium's network list leaves it out; Firefox 153 ignored
      // media.peerconnection.ice.loopback and force_interface here), so on this machine's own
      // stack they check a loopback server from eth0's addresses and need answers sent there,
      // which test traffic must not. The namespaced networks run them.
      networks: ['nat', 'relay', 'server-nat', 'server-outbound'],
      run: ({ url, test, timeoutMs, server, root, site, env }) => {
        const args = [main(root), '--browser', browser, '-s', url, '-t', String(test), '--timeout', String(timeoutMs / 1000), '--json', ...iceServerArgs(site)];
        if (server.quirks.videoOnly) args.push('--no-audio');
        return runClientProcess(process.execPath, args, { root, timeoutMs, site, env }, (child, exitCode): Partial<ClientOutcome> => {
          const result = lastJsonLine(child.stdout());
          if (!result) return readFailureLine(child, exitCode);
          const { ok, reason, message, timings, checks, ...details } = result;
          return {
            ok: ok === true,
            reason: typeof reason === 'string' ? reason : undefined,
            message: typeof message === 'string' ? message : undefined,
            timings: (timings ?? {}) as Record<string, number>,
            details,
            checks: checksFromJson(checks),
          };
        });
      },
    },
  };
}
