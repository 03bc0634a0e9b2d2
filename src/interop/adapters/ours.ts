/** Our own engines, each as a server and a client, run through the built CLI as users run them. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checksFromJson } from '../../client/sub-checks.js';
import { CLIENT_ENGINE_NAMES, ENGINE_NAMES, loadEngine } from '../../engines/registry.js';
import type { EngineName } from '../../engines/engine.js';
import type { Availability, ClientOutcome, InteropPeer } from '../peer.js';
import { NETWORKS } from '../../net/namespaces.js';
import { iceServerArgs, lastJsonLine, readFailureLine, runClientProcess, startServerProcess } from './spawn-peer.js';
import { npmVersion } from './versions.js';

/** The npm package that is each engine's stack (an engine not listed has no version in the reports). */
const ENGINE_PACKAGES: Partial<Record<EngineName, string>> = { libdatachannel: 'node-datachannel', werift: 'werift', libwebrtc: '@roamhq/wrtc' };

export function ourPeers(): InteropPeer[] {
  return ENGINE_NAMES.map(ourPeer);
}

/**
 * Which engines write DTLS keys to SSLKEYLOGFILE (src/engines/kit/key-log.ts), for a capture's
 * evidence. An engine not listed is judged by its key file alone (a new one that writes keys
 * needs no entry).
 */
const KEY_LOG: Partial<Record<EngineName, { writes: boolean; note: string }>> = {
  werift: { writes: true, note: "werift's DTLS socket keeps its secrets in plain fields (src/engines/werift/key-log.ts)" },
  libdatachannel: { writes: false, note: 'node-datachannel links its own OpenSSL statically and offers no key log callback' },
  libwebrtc: { writes: false, note: "@roamhq/wrtc's libwebrtc does its DTLS in BoringSSL inside the addon, with no key log" },
  native: { writes: true, note: "our data plane's OpenSSL context appends its key log lines (native/src/dtls_transport.cc, appendKeyLogLine)" },
};

/**
 * Clients that offer no candidates, and so cannot be reached by a server they cannot reach
 * (the server-outbound network): n/a there. libdatachannel's client leaves them out so that no
 * server can check it before it has applied the answer (libdatachannel PR #1612:
 * src/engines/libdatachannel/client-peer.ts, createOffer).
 */
const WITHOUT_CANDIDATES: ReadonlySet<EngineName> = new Set<EngineName>(['libdatachannel']);

/** Our own stack has no npm package: its addon's version and the OpenSSL it borrows from Node. */
async function nativeVersion(): Promise<string | undefined> {
  const { loadNativeAddon } = await import('../../engines/native/addon.js');
  const load = loadNativeAddon();
  if ('unavailable' in load) return undefined;
  const versions = load.addon.versions();
  return `addon ${versions.addon}, ${versions.openssl}`;
}

function ourPeer(engine: EngineName): InteropPeer {
  const cli = (root: string) => join(root, 'dist', 'cli.js');
  return {
    name: engine,
    ours: true,
    label: `webrtc-echo (${engine})`,
    keyLog: KEY_LOG[engine],
    async detect(root): Promise<Availability> {
      if (!existsSync(cli(root))) return { available: false, reason: 'dist/cli.js is missing', install: 'npm run build' };
      try {
        await loadEngine(engine); // a native addon or a module that fails to load shows here, not in 40 cells
        const stack = ENGINE_PACKAGES[engine];
        const version = engine === 'native' ? await nativeVersion() : stack ? await npmVersion(root, stack) : undefined;
        return { available: true, version };
      } catch (err) {
        return { available: false, reason: `engine does not load: ${(err as Error).message.split('\n')[0]}`, install: 'npm ci && npm run build' };
      }
    },
    server: {
      networks: NETWORKS,
      start: (port, root, site, options) =>
        startServerProcess(
          process.execPath,
          // --drain-timeout 0: a harness stops its server at once, sessions or not.
          [cli(root), 'serve', '--host', site.serverListen, '--port', String(port), '--engine', engine, '--log-level', 'debug', '--drain-timeout', '0', ...site.serveArgs],
          { root, port, site, ready: /"event":"listening"/, env: options?.env },
        ),
    },
    // A server-only engine (native) is driven by the other clients: it has no client column.
    client: !CLIENT_ENGINE_NAMES.includes(engine) ? undefined : {
      networks: WITHOUT_CANDIDATES.has(engine) ? NETWORKS.filter((n) => n !== 'server-outbound') : NETWORKS,
      run: async ({ url, test, timeoutMs, server, root, site, env }) => {
        const args = [cli(root), 'client', '-s', url, '-t', String(test), '--engine', engine, '--json', '--timeout', String(timeoutMs / 1000), '--log-level', 'debug', ...iceServerArgs(site)];
        // Test 0 sends real VP8 and Opus and requires both echoed back.
        if (test === 0) args.push('--media');
        if (test === 0 && server.quirks.videoOnly) args.push('--no-audio');
        return runClientProcess(process.execPath, args, { root, timeoutMs, site, env }, (child, exitCode): Partial<ClientOutcome> => {
          const result = lastJsonLine(child.stdout());
          if (!result) return readFailureLine(child, exitCode);
          // Our client retries a start-up failure once as a fallback; a cell that needed it fails.
          const retried = typeof result.attempts === 'number' && result.attempts > 1;
          return {
            ok: result.ok === true && !retried,
            reason: retried ? 'retried' : typeof result.reason === 'string' ? result.reason : undefined,
            message: retried ? `connected only at attempt ${String(result.attempts)}` : typeof result.message === 'string' ? result.message : undefined,
            timings: (result.timings ?? {}) as Record<string, number>,
            details: { media: result.media, dataChannel: result.dataChannel, selectedPair: result.selectedPair },
            checks: checksFromJson(result.checks),
          };
        });
      },
    },
  };
}
