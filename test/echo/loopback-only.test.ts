/**
 * A server that listens on loopback keeps its ICE on loopback, and so do our clients of a
 * loopback URL: no candidate of the answer, no candidate of the offer the server takes, and no
 * end of either side's selected pair names another address of this machine (eth0's IPv4, IPv6
 * or link-local). Real servers of every engine, real clients of every client engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ENGINE_NAMES, loadClientEngine } from '../../src/engines/registry.js';
import { connectPeer, closePeer, networkFor, type Negotiation } from '../../src/client/connect.js';
import { Deadline } from '../../src/client/deadline.js';
import { Stopwatch } from '../../src/client/timings.js';
import { candidatesOf } from '../../src/sdp/candidate-line.js';
import { isLoopbackHost } from '../../src/sdp/candidate-policy.js';
import { hostAddresses } from '../../src/ice/candidates.js';
import { silentLogger } from '../../src/log.js';
import { TESTED_ENGINES } from '../helpers/engines.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { startTestServer } from '../helpers/server.js';
import { eventually, skipUnlessCi } from '../helpers/timeout.js';
import { ROOT } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import { startProcess } from '../../src/interop/process.js';
import { freePort } from '../../src/net/free-port.js';

/** Every address of this machine that is not loopback: what the test traffic must never be addressed to. */
const OTHER_ADDRESSES = Object.values(networkInterfaces())
  .flatMap((list) => list ?? [])
  .map((i) => i.address)
  .filter((address) => !isLoopbackHost(address));

function assertLoopback(address: string, what: string): void {
  assert.ok(isLoopbackHost(address), `${what} is ${address}, not loopback (this machine's other addresses: ${OTHER_ADDRESSES.join(', ') || 'none'})`);
}

for (const serverEngine of TESTED_ENGINES) {
  for (const clientEngine of CLIENT_ENGINE_NAMES) {
    // libwebrtc (wrtc) binds a socket on every interface and has no filter: its descriptions carry
    // loopback candidates only, but its sockets on eth0's addresses check the other side's
    // loopback candidates, and the answers go back to those addresses. Skipped, not a todo: a
    // todo's result counts for nothing either way, and its "not ok" lines came first in every
    // CI log, ahead of the failures that counted (README, Known limits, says what wrtc does).
    const skip = serverEngine === 'libwebrtc' || clientEngine === 'libwebrtc' ? 'libwebrtc checks from every interface (no filter in wrtc)' : undefined;
    test(`a ${clientEngine} client and a ${serverEngine} server on 127.0.0.1 use loopback addresses only`, { skip }, async (t) => {
      const { log, lines } = capturingLogger('info');
      const server = await startTestServer(t, serverEngine, { log });
      const url = `${server.url}/offer`;
      const engine = await loadClientEngine(clientEngine);
      const deadline = new Deadline(20_000);
      t.after(() => deadline.dispose());
      const negotiation: Negotiation = {};
      const { peer } = await connectPeer(
        engine,
        { audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: 2_000, log: silentLogger },
        url,
        deadline,
        new Stopwatch(),
        silentLogger,
        { negotiation },
      );
      t.after(() => closePeer(peer));

      const offered = candidatesOf(negotiation.offer!.sdp);
      const answered = candidatesOf(negotiation.answer!.sdp);
      t.diagnostic(`offer: ${offered.map((c) => c.ip).join(', ') || 'no candidates'}; answer: ${answered.map((c) => c.ip).join(', ') || 'no candidates'}`);
      for (const c of offered) assertLoopback(c.ip, `the ${clientEngine} client's offered candidate`);
      for (const c of answered) assertLoopback(c.ip, `the ${serverEngine} server's answered candidate`);

      const pair = await peer.selectedPair();
      assert.ok(pair, 'the client reports its selected pair');
      assertLoopback(pair.local.address, "the client's end of its selected pair");
      assertLoopback(pair.remote.address, "the server's end of the client's selected pair");

      // The server's own view of the pair (the session-connected log line): both ends loopback too.
      await eventually(() => lines.some((line) => line.event === 'session-connected'), 10_000, 'session-connected');
      const described = String(lines.find((line) => line.event === 'session-connected')!.selectedPair ?? '');
      t.diagnostic(`server's pair: ${described}`);
      for (const address of OTHER_ADDRESSES) assert.ok(!described.includes(address), `the server's selected pair ${described} names ${address}`);
    });
  }
}

const PION_BIN = join(ROOT, 'interop/peers/pion/bin');
const pionMissing = skipUnlessCi(existsSync(join(PION_BIN, 'pion-client')) ? undefined : 'pion peers not built (interop/setup/pion.sh)');

/** The addresses of the `selected-pair TYPE udp A:P -> TYPE udp B:Q` line the pion client prints. */
function pionSelectedPair(stderr: string): string[] {
  const line = /^selected-pair (.*)$/m.exec(stderr)?.[1];
  assert.ok(line, `the pion client names its selected pair:\n${stderr}`);
  return [...line.matchAll(/udp (\S+):\d+/g)].map((m) => m[1]!.replace(/^\[|\]$/g, ''));
}

for (const serverEngine of TESTED_ENGINES) {
  test(`the pion client (our build) and a ${serverEngine} server on 127.0.0.1 use loopback addresses only`, { skip: pionMissing }, async (t) => {
    const server = await startTestServer(t, serverEngine);
    const { code, stderr } = await runCommand(join(PION_BIN, 'pion-client'), ['-s', `${server.url}/offer`, '-t', '1', '--timeout', '10']);
    assert.equal(code, 0, stderr);
    const pair = pionSelectedPair(stderr);
    assert.equal(pair.length, 2, stderr);
    for (const address of pair) assertLoopback(address, "an end of the pion client's selected pair");
  });
}

test('the pion server (our build) on 127.0.0.1 answers loopback candidates only, and our clients select loopback pairs', { skip: pionMissing }, async (t) => {
  const port = await freePort();
  const pion = startProcess(join(PION_BIN, 'pion-server'), ['--host', '127.0.0.1', '--port', String(port)], { cwd: ROOT });
  t.after(() => pion.stop());
  await pion.waitFor(/listening/, 10_000);
  for (const clientEngine of CLIENT_ENGINE_NAMES.filter((name) => name !== 'libwebrtc')) {
    const deadline = new Deadline(15_000);
    const negotiation: Negotiation = {};
    const { peer } = await connectPeer(
      await loadClientEngine(clientEngine),
      { audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: 2_000, log: silentLogger },
      `http://127.0.0.1:${port}/offer`,
      deadline,
      new Stopwatch(),
      silentLogger,
      { negotiation },
    );
    try {
      const answered = candidatesOf(negotiation.answer!.sdp);
      assert.ok(answered.length > 0, 'the pion server answers candidates');
      for (const c of answered) assertLoopback(c.ip, "the pion server's answered candidate");
      const pair = await peer.selectedPair();
      assert.ok(pair);
      assertLoopback(pair.remote.address, `the pion server's end of the ${clientEngine} client's selected pair`);
      assertLoopback(pair.local.address, `the ${clientEngine} client's end of its selected pair`);
    } finally {
      deadline.dispose();
      await closePeer(peer);
    }
  }
});

test("a server on 127.0.0.1 refuses an offer's non-loopback candidates and still connects the client from its loopback checks", async (t) => {
  const { log, lines } = capturingLogger('info');
  const server = await startTestServer(t, 'libdatachannel', { log });
  const engine = await loadClientEngine('werift');
  const deadline = new Deadline(20_000);
  t.after(() => deadline.dispose());
  const negotiation: Negotiation = {};
  // A client told to gather every interface (as a foreign stack would) offers eth0's addresses.
  const { peer } = await connectPeer(
    engine,
    { audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: 2_000, network: { loopbackOnly: false }, log: silentLogger },
    `${server.url}/offer`,
    deadline,
    new Stopwatch(),
    silentLogger,
    { negotiation },
  );
  t.after(() => closePeer(peer));
  const offered = candidatesOf(negotiation.offer!.sdp).map((c) => c.ip);
  if (OTHER_ADDRESSES.length > 0) {
    assert.ok(offered.some((ip) => !isLoopbackHost(ip)), `the client offered non-loopback candidates: ${offered.join(', ')}`);
    const refused = lines.find((line) => line.event === 'candidates-refused') as { dropped?: Array<{ address: string; reason: string }> } | undefined;
    assert.ok(refused?.dropped?.length, 'the server logged the refused candidates');
    for (const { address, reason } of refused.dropped!) {
      assert.ok(!isLoopbackHost(address));
      assert.equal(reason, 'not-loopback');
    }
  }
  for (const c of candidatesOf(negotiation.answer!.sdp)) assertLoopback(c.ip, "the server's answered candidate");
});

test('host addresses: loopback only keeps 127.0.0.1 and ::1, the default keeps the external ones', () => {
  const interfaces = {
    lo: [
      { address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '', cidr: '127.0.0.1/8' },
      { address: '::1', family: 'IPv6', internal: true, netmask: '', mac: '', cidr: '::1/128', scopeid: 0 },
    ],
    eth0: [
      { address: '192.0.2.2', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: '192.0.2.2/24' },
      { address: 'fd00::2', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: 'fd00::2/64', scopeid: 0 },
      { address: 'fe80::fc:ff:fe00:1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: 'fe80::/64', scopeid: 2 },
    ],
  } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
  assert.deepEqual(hostAddresses('::', interfaces), ['192.0.2.2', 'fd00::2']);
  assert.deepEqual(hostAddresses('::', interfaces, { loopbackOnly: true }), ['127.0.0.1', '::1']);
  assert.deepEqual(hostAddresses('0.0.0.0', interfaces, { loopbackOnly: true }), ['127.0.0.1']);
  assert.deepEqual(hostAddresses('192.0.2.2', interfaces, { loopbackOnly: true }), []);
  assert.deepEqual(networkFor('http://127.0.0.1:8080/offer'), { loopbackOnly: true });
  assert.deepEqual(networkFor('http://[::1]:8080/offer'), { loopbackOnly: true });
  assert.deepEqual(networkFor('http://203.0.113.2:8080/offer'), {});
  assert.deepEqual(networkFor('http://127.0.0.1:8080/offer', { loopbackOnly: false }), { loopbackOnly: false });
});
