/** Two agents on one shared UDP socket (the data plane's mux): each check, answer and indication reaches its own agent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { IceAgent } from '../../src/ice/agent.js';
import { IceRouter } from '../../src/ice/router.js';
import { iceRoleAttribute, priorityAttribute, useCandidateAttribute, usernameAttribute, xorMappedAddressAttribute } from '../../src/stun/attributes.js';
import { encodeStun, parseStun } from '../../src/stun/message.js';
import { eventually } from '../helpers/timeout.js';

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

test('a shared socket: checks by USERNAME, answers by transaction, indications by address; an unknown ufrag goes nowhere', async () => {
  const shared = await bound();
  const router = new IceRouter();
  const port = shared.address().port;
  shared.on('message', (data, rinfo) => router.route(7, { address: rinfo.address, port: rinfo.port }, data));
  const sessions = await Promise.all(
    ['one', 'two'].map(async (name) => {
      const peer = await bound();
      const local = { ufrag: `srv${name}`, pwd: `server-password-${name}-0123456789` };
      const remote = { ufrag: `cl${name}`, pwd: `client-password-${name}-0123456789` };
      const selected: number[] = [];
      const agent = new IceAgent({
        transport: { send: (_s, to, data) => shared.send(data, to.port, to.address) },
        local,
        remote,
        localCandidates: [{ socket: 7, address: '127.0.0.1', port, priority: 2130706431, foundation: '1' }],
        remoteCandidates: [],
        checkHoldOffMs: 60_000,
        events: { selected: (p) => selected.push(p.remote.port) },
      });
      router.add(local.ufrag, agent);
      agent.start();
      // The peer: checks with USE-CANDIDATE, answers every check it gets.
      peer.on('message', (data) => {
        const message = parseStun(data);
        if (message?.class !== 'request') return;
        const answer = encodeStun({ class: 'success', transactionId: message.transactionId, attributes: [xorMappedAddressAttribute({ address: '127.0.0.1', port: peer.address().port }, message.transactionId)], integrityKey: remote.pwd, fingerprint: true });
        peer.send(answer, port, '127.0.0.1');
      });
      const check = encodeStun({
        class: 'request',
        transactionId: randomBytes(12),
        attributes: [usernameAttribute(`${local.ufrag}:${remote.ufrag}`), priorityAttribute(1), iceRoleAttribute('controlling', 1n), useCandidateAttribute()],
        integrityKey: local.pwd,
        fingerprint: true,
      });
      return { name, peer, agent, selected, check };
    }),
  );
  try {
    for (const s of sessions) s.peer.send(s.check, port, '127.0.0.1');
    await eventually(() => sessions.every((s) => s.selected.length === 1), 3000, 'both selected');
    for (const s of sessions) assert.deepEqual(s.selected, [s.peer.address().port], `${s.name} selected its own peer`);
    const before = sessions.map((s) => s.agent.inboundActivity);
    const indication = encodeStun({ class: 'indication', transactionId: randomBytes(12), fingerprint: true });
    sessions[1]!.peer.send(indication, port, '127.0.0.1');
    await eventually(() => sessions[1]!.agent.inboundActivity > before[1]!, 2000, 'the indication counted');
    assert.equal(sessions[0]!.agent.inboundActivity, before[0]);
    const stray = encodeStun({ class: 'request', transactionId: randomBytes(12), attributes: [usernameAttribute('nobody:x')], integrityKey: 'x' });
    assert.equal(router.route(7, { address: '127.0.0.1', port: 9 }, stray), false);
    router.remove(sessions[0]!.agent);
    assert.equal(router.route(7, { address: '127.0.0.1', port: sessions[0]!.peer.address().port }, sessions[0]!.check), false, 'a removed agent gets nothing');
  } finally {
    for (const s of sessions) {
      s.agent.close();
      s.peer.close();
    }
    shared.close();
  }
});
