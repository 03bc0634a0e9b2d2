/**
 * The server-outbound network (src/net/namespaces.ts): the server behind a NAT that forwards
 * only HTTP, no --public-ip, so its answer announces a private address the client cannot reach,
 * and only the server's own checks open the UDP path. Every server engine of the registry must
 * connect every client there that offers its candidates: pion, aiortc, Chromium and our clients
 * (docs/triggered-check.md, "Checking the client"). pion's server, which checks first, is the
 * control: if it fails, the network is broken, not our servers. One run per cell, tests 0 and 1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisiveFailures, runMatrix } from '../../src/interop/matrix.js';
import { allPeers } from '../../src/interop/adapters/index.js';
import { stderrProgress } from '../../src/interop/progress.js';
import { CLIENT_ENGINE_NAMES, ENGINE_NAMES } from '../../src/engines/registry.js';
import { namespacesUnavailable } from '../../src/net/namespaces.js';
import { ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';

/** The router's outside address: what a client sees of the server's checks through its NAT. */
const ROUTER = '203.0.113.1';

test('behind a NAT that forwards only HTTP, every server engine connects every client by checking it', { timeout: 900_000 }, async (t) => {
  const unavailable = await namespacesUnavailable();
  if (skipUnlessCi(unavailable)) return t.skip(unavailable);
  const ours = ENGINE_NAMES as string[];
  // native is a server only: every other engine is a client too.
  const clients = [...CLIENT_ENGINE_NAMES, 'pion', 'aiortc', 'chromium'];
  const result = await runMatrix({
    root: ROOT,
    peers: allPeers(),
    networks: ['server-outbound'],
    servers: [...ours, 'pion'],
    clients,
    oursOnly: false,
    concurrency: 2,
    onProgress: stderrProgress(),
  });
  assert.deepEqual(result.ourMissing, [], 'every engine of the registry runs');
  const missing = result.peers.filter((p) => !p.availability.available).map((p) => p.name);
  if (process.env.CI) assert.deepEqual(missing, [], 'CI has pion, aiortc and Chromium');

  const ran = result.cells.filter((c) => c.status !== 'unsupported');
  const failures = ran
    .filter((c) => c.status !== 'pass')
    .map((c) => `test ${c.test} ${c.server} → ${c.client}: ${c.status} ${c.reason ?? ''} ${c.message ?? ''}\n${c.logs.client.slice(-1500)}`);
  assert.deepEqual(failures, [], `failing cells:\n${failures.join('\n\n')}`);
  assert.equal(decisiveFailures(result).length, 0);

  // Every server engine ran with every client but those that offer no candidates (n/a, said why).
  for (const server of [...ours, 'pion']) {
    for (const client of clients.filter((c) => !missing.includes(c))) {
      const cells = result.cells.filter((c) => c.server === server && c.client === client);
      assert.ok(cells.length > 0, `${server} → ${client} ran`);
      for (const cell of cells.filter((c) => c.status === 'unsupported')) {
        assert.equal(client, 'libdatachannel', `only our libdatachannel client (no candidates in its offer) is n/a: ${server} → ${client}`);
        assert.match(cell.message ?? '', /cannot run on the server-outbound network/);
      }
    }
  }

  // The path was the one the server opened: our clients' selected pair ends at the router, a
  // peer-reflexive address, never at the private address the answer announced. libwebrtc leaves
  // a peer-reflexive remote's address out of its stats (as Chromium does), only its type says it.
  for (const cell of ran.filter((c) => ours.includes(c.client))) {
    const pair = (cell.details as { selectedPair?: { remote: { type: string; address: string } } } | undefined)?.selectedPair;
    const where = `test ${cell.test} ${cell.server} → ${cell.client}: ${JSON.stringify(pair)}`;
    assert.ok(pair, `${where}: the client names its selected pair`);
    assert.equal(pair.remote.type, 'prflx', where);
    assert.ok([ROUTER, ...(cell.client === 'libwebrtc' ? [''] : [])].includes(pair.remote.address), where);
  }
  t.diagnostic(`${ran.length} cells passed, ${result.cells.length - ran.length} n/a, in ${Math.round(result.durationMs / 1000)} s`);
});
