/**
 * What each network of namespaces (src/net/namespaces.ts) shows, seen from one pair of our own
 * peers: the pair ICE selects is the one the network forces (the client's NAT mapping, the TURN
 * relay, the server's announced public address), and without --public-ip a server behind its
 * NAT is unreachable, so the test network really blocks what it claims to. Every engine and
 * the foreign clients run on these networks in test/interop/matrix.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { createTopology, namespacesUnavailable, type NetworkName, type Topology } from '../../src/net/namespaces.js';
import { TURNSERVER_PATH, startTurnServer } from '../../src/net/turn-server.js';
import { startProcess } from '../../src/interop/process.js';
import { iceServerArgs } from '../../src/interop/adapters/spawn-peer.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const unavailable = (await namespacesUnavailable()) ?? (existsSync(TURNSERVER_PATH) ? undefined : `${TURNSERVER_PATH} is missing (apt-get install coturn)`);

interface Outcome {
  code: number | null;
  result: { ok?: boolean; reason?: string; selectedPair?: { local: { type: string; address: string }; remote: { type: string; address: string; port: number } } };
  logs: string;
}

/** Our server (the default engine: native, libdatachannel where given --ice-server) and our client (libdatachannel unless `clientArgs` say) across `topology`, test 1. */
async function runAcross(topology: Topology, serveArgs = topology.serveArgs, clientArgs: string[] = []): Promise<Outcome> {
  const [serverCommand, ...serverPrefix] = [...topology.serverExec, process.execPath];
  const server = startProcess(serverCommand!, [...serverPrefix, CLI, 'serve', '--host', topology.serverListen, '--port', '8080', ...serveArgs], { cwd: ROOT });
  try {
    await server.waitFor(/"event":"listening"/, 20_000);
    const [clientCommand, ...clientPrefix] = [...topology.clientExec, process.execPath];
    const client = startProcess(clientCommand!, [...clientPrefix, CLI, 'client', '-s', `http://${topology.serverHost}:8080/offer`, '-t', '1', '--json', '--timeout', '8', ...iceServerArgs(topology), ...clientArgs], { cwd: ROOT });
    const code = await client.exited;
    const line = client.stdout().trim().split('\n').at(-1) ?? '{}';
    return { code, result: JSON.parse(line || '{}') as Outcome['result'], logs: `client:\n${client.log()}\nserver:\n${server.log()}` };
  } finally {
    await server.stop();
  }
}

describe('our peers across NATs and a TURN relay (in network namespaces)', { skip: skipUnlessCi(unavailable), timeout: 180_000 }, () => {
  const made: Topology[] = [];
  const topology = async (name: NetworkName) => {
    const t = await createTopology(name, `n${process.pid % 1000}${made.length}`);
    made.push(t);
    return t;
  };
  after(async () => {
    for (const t of made) await t.remove();
  });

  test('behind a symmetric NAT the client connects from its mapping: the server sees a peer-reflexive address of the router', async () => {
    const outcome = await runAcross(await topology('nat'));
    assert.equal(outcome.code, 0, outcome.logs);
    assert.equal(outcome.result.selectedPair?.remote.address, '203.0.113.2', `the server's own address\n${outcome.logs}`);
    assert.match(outcome.logs, /"selectedPair":"host udp 203\.0\.113\.2:\d+ -> prflx udp 203\.0\.113\.1:\d+"/, 'the server saw the NAT mapping');
  });

  test('with UDP blocked but to TURN, a relay-only client connects through the relay', async () => {
    const relay = await topology('relay');
    const turn = await startTurnServer({ exec: relay.serverExec });
    try {
      const outcome = await runAcross(relay);
      assert.equal(outcome.code, 0, `${outcome.logs}\nturn:\n${turn.log()}`);
      assert.equal(outcome.result.selectedPair?.local.type, 'relay', JSON.stringify(outcome.result.selectedPair));
      assert.equal(outcome.result.selectedPair?.local.address, '203.0.113.3', 'the TURN server relays');
    } finally {
      await turn.stop();
    }
  });

  test('a server behind a NAT is reached at its --public-ip through the forwarded UDP range, and not without it', async () => {
    const serverNat = await topology('server-nat');
    const outcome = await runAcross(serverNat);
    assert.equal(outcome.code, 0, outcome.logs);
    assert.equal(outcome.result.selectedPair?.remote.address, '203.0.113.1', 'the announced public address');
    const port = outcome.result.selectedPair!.remote.port;
    assert.ok(port >= 42000 && port <= 42199, `a forwarded port: ${port}`);

    const withoutPublicIp = serverNat.serveArgs.filter((arg, i, all) => arg !== '--public-ip' && all[i - 1] !== '--public-ip');
    const blocked = await runAcross(serverNat, withoutPublicIp);
    assert.equal(blocked.code, 1, `without --public-ip the server cannot be reached\n${blocked.logs}`);
  });

  test('behind a NAT that forwards only HTTP, only the server opens the path: a client that offers candidates is checked and connects, one that offers none cannot', async () => {
    const serverOutbound = await topology('server-outbound');
    assert.deepEqual(serverOutbound.serveArgs, [], 'no --public-ip');
    const checked = await runAcross(serverOutbound, serverOutbound.serveArgs, ['--engine', 'werift']);
    assert.equal(checked.code, 0, checked.logs);
    assert.deepEqual([checked.result.selectedPair?.remote.type, checked.result.selectedPair?.remote.address], ['prflx', '203.0.113.1'], 'the server, seen through its NAT');
    // Our libdatachannel client offers no candidates (libdatachannel PR #1612): nothing to check.
    const unreachable = await runAcross(serverOutbound);
    assert.equal(unreachable.code, 1, `the client's own checks cannot reach the server\n${unreachable.logs}`);
  });
});
