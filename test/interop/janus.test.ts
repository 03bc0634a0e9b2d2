/**
 * Janus 1.1 (Debian, janus.plugin.echotest) as the server, behind src/interop/janus/: each of
 * our client engines runs tests 0 and 1 against it through the built CLI, as in the matrix.
 * Test 0 must get both audio and video back. Test 1 gets the plugin's prefix + the string
 * (janus_echotest.c answers text that way by design): the test requires exactly that, which
 * shows the data channel works both ways, and that the known-failure entry recognises it.
 * The ICE runs on the matrix's nat network (namespaces of their own): Janus gathers every
 * interface but loopback (its ice_enforce_list did not take 127.0.0.1 here), so on this
 * machine's own stack its answers would send our clients to eth0's addresses.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test, type TestContext } from 'node:test';
import { CLIENT_ENGINE_NAMES } from '../../src/engines/registry.js';
import { ECHOTEST_PLUGIN, JANUS_PATH } from '../../src/interop/janus/config.js';
import { JANUS_ECHOTEST_PREFIX, knownFailureFor } from '../../src/interop/known-failures.js';
import type { RunningServer } from '../../src/interop/peer.js';
import { janusPeer } from '../../src/interop/adapters/janus.js';
import { ourPeers } from '../../src/interop/adapters/ours.js';
import { freePort } from '../../src/net/free-port.js';
import { createTopology, DIRECT, namespacesUnavailable, type Topology } from '../../src/net/namespaces.js';
import { ROOT } from '../helpers/cli.js';
import { eventually, skipUnlessCi } from '../helpers/timeout.js';

const skip = skipUnlessCi(existsSync(JANUS_PATH) && existsSync(ECHOTEST_PLUGIN) ? undefined : `${JANUS_PATH} or ${ECHOTEST_PLUGIN} is missing (apt-get install janus)`);

const noNamespaces = await namespacesUnavailable();

async function startJanus(t: TestContext, site: Topology = DIRECT): Promise<RunningServer> {
  const running = await janusPeer.server!.start(await freePort(), ROOT, site);
  t.after(() => running.process!.stop());
  return running;
}

/** The nat network for the describe block it is called in, removed after it. */
function natNetwork(tag: string): () => Topology {
  let topology: Topology | undefined;
  before(async () => {
    topology = await createTopology('nat', `${tag}${process.pid}`);
  });
  after(async () => {
    await topology?.remove();
  });
  return () => topology!;
}

interface ClientDetails {
  media?: { audio?: { sent: number; echoed: number }; video?: { sent: number; echoed: number } };
}

describe('our clients against Janus 1.1 EchoTest (on the nat network)', { skip: skip || skipUnlessCi(noNamespaces), timeout: 180_000 }, () => {
  const nat = natNetwork('jc');
  for (const engine of CLIENT_ENGINE_NAMES) {
    const client = ourPeers().find((p) => p.name === engine)!.client!;
    const run = (server: RunningServer, testType: 0 | 1) =>
      client.run({ url: server.url, test: testType, timeoutMs: 15_000, server: { name: 'janus', quirks: {} }, root: ROOT, site: nat() });

    test(`test 0: the ${engine} client gets its audio and video echoed by Janus`, { timeout: 60_000 }, async (t) => {
      const server = await startJanus(t, nat());
      const outcome = await run(server, 0);
      assert.equal(outcome.ok, true, `${outcome.reason}: ${outcome.message}\n${outcome.process.log()}\n${server.process!.log()}`);
      const media = (outcome.details as ClientDetails).media;
      assert.ok((media?.audio?.echoed ?? 0) > 0 && (media?.video?.echoed ?? 0) > 0, `audio and video came back: ${JSON.stringify(media)}`);
    });

    test(`test 1: the ${engine} client's data channel comes back as the EchoTest prefix + the string`, { timeout: 60_000 }, async (t) => {
      const server = await startJanus(t, nat());
      const outcome = await run(server, 1);
      const match = (outcome.message ?? '').match(/^sent "(.*)", got back "(.*)"$/);
      assert.ok(outcome.reason === 'echo-mismatch' && match, `the channel opened and echoed: ${outcome.reason}: ${outcome.message}\n${outcome.process.log()}`);
      assert.equal(match[2], JANUS_ECHOTEST_PREFIX + match[1]);
      const known = knownFailureFor({ server: 'janus', client: engine, test: 1, reason: outcome.reason, message: outcome.message, timings: outcome.timings, clientLog: '', serverLog: '' });
      assert.equal(known?.id, 'janus-echotest-text-prefix', 'the matrix shows it as the known failure');
    });
  }
});

describe('the Janus adapter under the peer contract', { skip, timeout: 60_000 }, () => {
  test('OPTIONS /offer is a CORS preflight, a body that is no offer gets 400, SDP Janus cannot parse gets 400', async (t) => {
    const server = await startJanus(t);
    const preflight = await fetch(server.url, { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    const post = (body: string) => fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    for (const body of ['not json', '{"type":"answer","sdp":"v=0\\r\\n"}', '{"type":"offer","sdp":"v=0\\r\\nbogus\\r\\n"}']) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      assert.equal(typeof ((await response.json()) as { error?: unknown }).error, 'string');
    }
  });

  const nat = natNetwork('jh');
  test('a session is destroyed when the client hangs up (werift sends a DTLS alert), and SIGTERM exits 0', { skip: skipUnlessCi(noNamespaces) }, async (t) => {
    const server = await startJanus(t, nat());
    const outcome = await ourPeers().find((p) => p.name === 'werift')!.client!.run({ url: server.url, test: 0, timeoutMs: 15_000, server: { name: 'janus', quirks: {} }, root: ROOT, site: nat() });
    assert.equal(outcome.ok, true, `${outcome.reason}: ${outcome.message}`);
    await eventually(() => /session 1 closed: Janus hung up/.test(server.process!.stderr()), 10_000, 'the session closed on the hangup');
    assert.match(server.process!.stderr(), /session 1 answer_ms \d+/);
    assert.match(server.process!.stderr(), /session 1 connected_ms \d+/);
    const started = Date.now();
    server.process!.child.kill('SIGTERM');
    assert.equal(await server.process!.exited, 0);
    assert.ok(Date.now() - started < 3_000, `stopped in ${Date.now() - started} ms`);
  });
});
