/**
 * The browser client suites, one code path for Chromium and Firefox, in two network namespaces
 * of their own (netns.ts; see runInNamespaces for why not on loopback): each engine of the
 * registry as the server (the built CLI in a child process: loading several native engines
 * into the test process crashed it on exit, SIGSEGV), test 0 passing only when the echoed
 * video decodes in the browser, test 1 when the random string comes back on the data channel;
 * and the mDNS case inside two network namespaces of our own (netns.ts).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TESTED_ENGINES } from '../helpers/engines.js';
import { BROWSER_PACKAGES, BROWSER_PATHS, type BrowserName } from '../../src/interop/browser/driver.js';
import type { BrowserResult } from '../../src/interop/browser/run-browser.js';
import { startProcess } from '../../src/interop/process.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { createNamespacePair, namespacesUnavailable, SERVER_ADDRESS, type NamespacePair } from './netns.js';

const BROWSER_CLIENT = `${ROOT}dist/interop/browser/main.js`;

export function browserMissing(browser: BrowserName): string | undefined {
  return existsSync(BROWSER_PATHS[browser]) ? undefined : `${BROWSER_PATHS[browser]} is missing (apt-get install ${BROWSER_PACKAGES[browser]})`;
}

interface NamespacedRun {
  result: Partial<BrowserResult>;
  /** Both sides' output, for a failure's message. */
  logs: string;
  serverStderr: string;
}

/**
 * Our `engine` server in the pair's server namespace and `browser` in its browser namespace, one
 * test. The browsers cannot gather loopback (Chromium's network list leaves it out; Firefox 153
 * ignored media.peerconnection.ice.loopback and force_interface here), so on this machine's own
 * stack they would check the server from eth0's addresses, and our server, which answers only
 * loopback candidates when it listens on loopback, would have to answer them there: the pair's
 * veth is where their traffic goes instead.
 */
async function runInNamespaces(ns: NamespacePair, browser: BrowserName, engine: string, port: number, testType: 0 | 1, mdns: boolean): Promise<NamespacedRun> {
  const server = startProcess(
    'ip',
    ['netns', 'exec', ns.server, process.execPath, CLI, 'serve', '--host', SERVER_ADDRESS, '--port', String(port), '--engine', engine, '--log-level', 'debug'],
    { cwd: ROOT },
  );
  try {
    await server.waitFor(/"event":"listening"/, 20_000);
    const args = [BROWSER_CLIENT, '--browser', browser, '-s', `http://${SERVER_ADDRESS}:${port}/offer`, '-t', String(testType), '--json', '--timeout', '20', ...(mdns ? ['--mdns'] : [])];
    const client = startProcess('ip', ['netns', 'exec', ns.browser, process.execPath, ...args], { cwd: ROOT });
    const killer = setTimeout(() => void client.stop(), 40_000);
    await client.exited;
    clearTimeout(killer);
    await client.stop();
    const line = client.stdout().trim().split('\n').at(-1) ?? '';
    const result = JSON.parse(line || '{}') as Partial<BrowserResult>;
    return { result, logs: `client:\n${client.log()}\nserver:\n${server.log()}`, serverStderr: server.stderr() };
  } finally {
    await server.stop();
  }
}

/** Two network namespaces for the tests of one describe: made before them, removed after; the getter reads them in a test. */
function suiteNamespaces(tag: string): () => NamespacePair {
  let namespaces: NamespacePair | undefined;
  before(async () => {
    namespaces = await createNamespacePair(`${tag}${process.pid}`);
  });
  after(async () => {
    await namespaces?.remove();
  });
  return () => namespaces!;
}

/** Tests 0 and 1 of `browser` against every engine of ours, in two network namespaces of their own. */
export async function describeBrowserClient(browser: BrowserName, tag: string): Promise<void> {
  const unavailable = (await namespacesUnavailable()) ?? browserMissing(browser);
  describe(`${browser} client against each echo server (in network namespaces)`, { skip: skipUnlessCi(unavailable), timeout: 600_000 }, () => {
    const namespaces = suiteNamespaces(tag);
    for (const [index, engine] of TESTED_ENGINES.entries()) {
      test(`test 0: the echoed camera video from the ${engine} server decodes in ${browser} (framesDecoded > 0)`, { timeout: 60_000 }, async () => {
        const { result, logs } = await runInNamespaces(namespaces(), browser, engine, 8080 + 2 * index, 0, false);
        assert.equal(result.ok, true, `${result.reason}: ${result.message}\n${logs}`);
        assert.ok((result.video?.framesDecoded ?? 0) > 0, 'frames decoded');
        assert.equal(typeof result.timings?.connected, 'number');
      });

      test(`test 1: the ${engine} server's data channel echoes the random string unchanged to ${browser}`, { timeout: 60_000 }, async () => {
        const { result, logs } = await runInNamespaces(namespaces(), browser, engine, 8081 + 2 * index, 1, false);
        assert.equal(result.ok, true, `${result.reason}: ${result.message}\n${logs}`);
        assert.ok(result.dataChannel?.sent && result.dataChannel.received === result.dataChannel.sent);
      });
    }
  });
}

/**
 * Firefox 153 ESR opens no mDNS responder at all (no socket on UDP 5353, no 224.0.0.251
 * membership, seen with ss and /proc/net/igmp), so its .local names never resolve and the
 * server's offer holds no remote candidate: every engine must then connect through the
 * peer-reflexive candidate Firefox's checks reveal (werift does since engines/werift/peer-reflexive.ts).
 */
/**
 * A browser without camera permission hides its host candidates behind mDNS `.local` names;
 * our server must still connect (test 1, data channel only). mDNS is multicast, so this runs
 * only inside two network namespaces of its own, never on the machine's interfaces.
 * Skipped, with the reason, when not root or without `ip netns` (outside CI).
 */
export async function describeBrowserMdns(browser: BrowserName, tag: string): Promise<void> {
  const unavailable = (await namespacesUnavailable()) ?? browserMissing(browser);
  describe(`${browser} mDNS host candidates (in network namespaces)`, { skip: skipUnlessCi(unavailable), timeout: 180_000 }, () => {
    const namespaces = suiteNamespaces(tag);

    for (const [index, engine] of TESTED_ENGINES.entries()) {
      test(`the ${engine} server connects to ${browser}'s .local candidates and echoes on the data channel`, { timeout: 60_000 }, async (t) => {
        const { result, logs, serverStderr } = await runInNamespaces(namespaces(), browser, engine, 8080 + index, 1, true);
        const local = result.candidates?.local ?? [];
        assert.ok(local.length > 0, `${browser} offered candidates\n${logs}`);
        assert.ok(
          local.every((c) => /\s\S+\.local\s/.test(c)),
          `every host candidate is an mDNS name (else this test would not test mDNS): ${local.join(' / ')}`,
        );
        assert.equal(result.ok, true, `the ${engine} server connected to .local candidates: ${result.reason}: ${result.message}\n${logs}`);
        // Whether the names resolved (Chromium answers our mDNS query; Firefox 153 did not here,
        // and ICE then connects through the peer-reflexive candidate its checks reveal).
        const resolved = serverStderr.match(/"event":"mdns-resolved","resolved":(\d+),"unresolved":(\d+)/);
        t.diagnostic(`mDNS: ${resolved ? `${resolved[1]} resolved, ${resolved[2]} not` : 'no mdns-resolved line'}; selected pair ${JSON.stringify(result.selectedPair)}; answer after ${result.timings?.answerReceived} ms`);
      });
    }
  });
}
