/**
 * A client whose offer candidates are all refused by the candidate policy still connects: the
 * server's answer carries its own candidates, the client's checks reach them, and ICE learns
 * the client's address as a peer-reflexive candidate (RFC 8445 §7.3.1.3). Real peers, every
 * server engine, our clients and two foreign ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CLIENT_ENGINE_NAMES } from '../../src/engines/registry.js';
import { TESTED_ENGINES } from '../helpers/engines.js';
import { parseCidrList } from '../../src/sdp/candidate-policy.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { makeOffer } from '../helpers/offer.js';
import { startTestServer } from '../helpers/server.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const EVERYTHING = parseCidrList('0.0.0.0/0,::/0');

async function refusedCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return [...text.matchAll(/^echo_candidates_refused_total\{reason="denied"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

for (const serverEngine of TESTED_ENGINES) {
  test(`a ${serverEngine} server that refuses every offer candidate still connects our clients (test 1), through their own checks`, async (t) => {
    const server = await startTestServer(t, serverEngine, { candidateDeny: EVERYTHING });
    for (const clientEngine of CLIENT_ENGINE_NAMES) {
      const before = await refusedCount(server.url);
      const run = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1', '--engine', clientEngine, '--json', '--timeout', '15'], 30_000);
      assert.equal(run.code, 0, `${clientEngine} client: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as { ok: boolean; attempts?: number };
      assert.equal(result.ok, true);
      assert.equal(result.attempts, undefined, 'connected at the first attempt');
      // What was dropped is counted; a client that offers no candidates (ours on libdatachannel,
      // against libdatachannel's start-up race) has none to drop.
      const { offer, peer } = await makeOffer(clientEngine);
      peer.close();
      const offered = offer.sdp.split(/\r?\n/).some((line) => line.startsWith('a=candidate:'));
      assert.equal((await refusedCount(server.url)) > before, offered, `${clientEngine}: its candidates were dropped and counted`);
    }
  });
}

const FOREIGN = [
  { name: 'pion', command: `${ROOT}interop/peers/pion/bin/pion-client`, args: ['-t', '0'] },
  { name: 'aiortc', command: `${ROOT}interop/peers/aiortc/aiortc-client`, args: ['-t', '1'] },
];
for (const client of FOREIGN) {
  test(`the ${client.name} client, whose candidates are all refused, connects to the default server`, { skip: skipUnlessCi(existsSync(client.command) ? undefined : `${client.command} is missing (interop/setup)`) }, async (t) => {
    const server = await startTestServer(t, 'libdatachannel', { candidateDeny: EVERYTHING });
    const run = await runCli(['-s', `${server.url}/offer`, ...client.args, '--timeout', '15'], 30_000, client.command, []);
    assert.equal(run.code, 0, `${client.name}: ${run.stderr}`);
    assert.ok((await refusedCount(server.url)) > 0);
  });
}
