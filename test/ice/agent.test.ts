/**
 * The ICE agent's own rules, over real UDP on loopback against a peer that speaks STUN through
 * our codec: what no real stack here provokes on demand (a role conflict, a hold-off measured
 * to the millisecond, a peer that goes silent), and that close() leaves nothing armed. The
 * agent against real stacks: test/engines/native-session.test.ts and native-ice.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { IceAgent, type IceAgentOptions } from '../../src/ice/agent.js';
import { hostCandidates } from '../../src/ice/candidates.js';
import { errorCode, iceRole, iceRoleAttribute, priorityAttribute, useCandidate, useCandidateAttribute, username, usernameAttribute, xorMappedAddress, xorMappedAddressAttribute } from '../../src/stun/attributes.js';
import { encodeStun, parseStun, verifyIntegrity, type StunMessage } from '../../src/stun/message.js';
import type { AnsweredByPlane, IceAgentState, UdpAddress } from '../../src/ice/types.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

const OURS = { ufrag: 'srvr', pwd: 'server-password-0123456789' };
const THEIRS = { ufrag: 'clnt', pwd: 'client-password-0123456789' };

interface Received {
  message: StunMessage;
  at: number;
}

/** A UDP socket on loopback that records the STUN it gets. */
async function udp(): Promise<{ socket: Socket; address: UdpAddress; received: Received[] }> {
  const socket = createSocket('udp4');
  const received: Received[] = [];
  socket.on('message', (data) => {
    const message = parseStun(data);
    if (message) received.push({ message, at: performance.now() });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: { address: '127.0.0.1', port: socket.address().port }, received };
}

/**
 * The agent on a socket of its own, the peer on another; the peer is the offer's only candidate.
 * `planeAnswers`: requests reach the agent flagged answered, as when the native plane answered
 * them (nobody here does: the peer sees only what the agent sends); a function gives the flag
 * (a plane that sent the triggered check says its transaction id).
 */
async function setup(options: Partial<IceAgentOptions> = {}, planeAnswers: boolean | (() => AnsweredByPlane) = false) {
  const server = await udp();
  const peer = await udp();
  const states: IceAgentState[] = [];
  const selected: UdpAddress[] = [];
  const agent = new IceAgent({
    transport: { send: (_socket, to, data) => server.socket.send(data, to.port, to.address) },
    local: OURS,
    remote: THEIRS,
    localCandidates: hostCandidates([{ socket: 1, local: server.address }]),
    remoteCandidates: [{ address: '127.0.0.1', port: peer.address.port, priority: 2130706431, type: 'host', foundation: '1' }],
    checkHoldOffMs: 200,
    events: { state: (s) => states.push(s), selected: (p) => selected.push({ address: p.remote.address, port: p.remote.port }) },
    ...options,
  });
  server.socket.on('message', (data, rinfo) => agent.receive(1, { address: rinfo.address, port: rinfo.port }, data, undefined, planeAnswers && parseStun(data)?.class === 'request' ? (planeAnswers === true ? {} : planeAnswers()) : undefined));
  const close = () => {
    agent.close();
    server.socket.close();
    peer.socket.close();
  };
  /** A check from the peer, as a controlling client writes it. */
  const check = (attrs: { nominate?: boolean; role?: 'controlling' | 'controlled'; tieBreaker?: bigint } = {}) => {
    const transactionId = randomBytes(12);
    const attributes = [usernameAttribute(`${OURS.ufrag}:${THEIRS.ufrag}`), priorityAttribute(1853824767), iceRoleAttribute(attrs.role ?? 'controlling', attrs.tieBreaker ?? 5n)];
    if (attrs.nominate) attributes.push(useCandidateAttribute());
    peer.socket.send(encodeStun({ class: 'request', transactionId, attributes, integrityKey: OURS.pwd, fingerprint: true }), server.address.port, '127.0.0.1');
    return transactionId;
  };
  /** The peer answers the agent's request `request` (a success, or an error with `code`). */
  const answer = (request: StunMessage, code?: number) => {
    const attributes = code ? [] : [xorMappedAddressAttribute(server.address, request.transactionId)];
    const bytes = code
      ? encodeStun({ class: 'error', transactionId: request.transactionId, attributes: [{ type: 0x0009, value: Buffer.from([0, 0, Math.floor(code / 100), code % 100]) }], integrityKey: THEIRS.pwd, fingerprint: true })
      : encodeStun({ class: 'success', transactionId: request.transactionId, attributes, integrityKey: THEIRS.pwd, fingerprint: true });
    peer.socket.send(bytes, server.address.port, '127.0.0.1');
  };
  const requests = () => peer.received.filter((r) => r.message.class === 'request');
  return { agent, server, peer, states, selected, close, check, answer, requests };
}

test('holds its checks back for the hold-off, then checks; a check from the client ends the wait at once and is answered, with a triggered check right behind', async () => {
  const quiet = await setup({ checkHoldOffMs: 300 });
  try {
    const started = performance.now();
    quiet.agent.start();
    await eventually(() => quiet.requests().length > 0, 2000, 'a check after the hold-off');
    const first = quiet.requests()[0]!;
    assert.ok(first.at - started >= 295, `the first check left ${Math.round(first.at - started)} ms after start, not before the hold-off`);
    assert.equal(username(first.message), `${THEIRS.ufrag}:${OURS.ufrag}`);
    assert.ok(verifyIntegrity(first.message, THEIRS.pwd), 'signed with the client password');
    assert.deepEqual(iceRole(first.message)?.role, 'controlled');
  } finally {
    quiet.close();
  }

  const s = await setup({ checkHoldOffMs: 5_000 });
  try {
    s.agent.start();
    const id = s.check();
    await eventually(() => s.peer.received.length >= 2, 2000, 'answer and triggered check');
    const [response, triggered] = s.peer.received;
    assert.equal(response!.message.class, 'success');
    assert.deepEqual(response!.message.transactionId, id);
    assert.deepEqual(xorMappedAddress(response!.message), s.peer.address, 'XOR-MAPPED-ADDRESS is where the check came from');
    assert.ok(verifyIntegrity(response!.message, OURS.pwd));
    assert.equal(triggered!.message.class, 'request', 'the triggered check, long before the 5 s hold-off');
    assert.ok(triggered!.at - response!.at < 50, `triggered check ${Math.round(triggered!.at - response!.at)} ms after the answer`);
  } finally {
    s.close();
  }
});

test('selects the pair the client nominated once its own check on it succeeded, and keeps consent; a silent client loses it', async () => {
  const s = await setup({ checkHoldOffMs: 0, timing: { consentIntervalMs: 100, consentTimeoutMs: 1_000, disconnectedAfterMs: 400 } });
  try {
    s.agent.start();
    s.check({ nominate: true });
    await eventually(() => s.requests().length > 0, 2000, 'our check');
    assert.deepEqual(s.selected, [], 'not selected before our own check succeeded');
    s.answer(s.requests()[0]!.message);
    await eventually(() => s.selected.length === 1, 2000, 'selected');
    assert.deepEqual(s.selected[0], s.peer.address);
    assert.equal(s.agent.state, 'connected');
    // Consent: the peer answers a few checks, then goes silent.
    let answered = 0;
    while (answered < 3) {
      await eventually(() => s.requests().length > answered + 1, 2000, 'a consent check');
      s.answer(s.requests()[answered + 1]!.message);
      answered++;
    }
    assert.equal(s.agent.state, 'connected');
    await eventually(() => s.states.includes('disconnected'), 2000, 'disconnected while silent');
    await eventually(() => s.agent.state === 'failed', 3000, 'consent lost');
    const sentBefore = s.requests().length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.requests().length, sentBefore, 'nothing more is sent once consent is lost (RFC 7675)');
    assert.deepEqual(s.states, ['checking', 'connected', 'disconnected', 'failed']);
  } finally {
    s.close();
  }
});

test('role conflict (RFC 8445 §7.3.1.1): a controlled client with the larger tie-breaker gets 487, one with the smaller makes us controlling', async () => {
  const lose = await setup({ tieBreaker: 10n });
  try {
    lose.check({ role: 'controlled', tieBreaker: 5n });
    await eventually(() => lose.peer.received.length > 0, 2000, 'an answer');
    // We are controlled too and our tie-breaker is larger: we switch and answer.
    assert.equal(lose.peer.received[0]!.message.class, 'success');
    assert.equal(lose.agent.role, 'controlling');
  } finally {
    lose.close();
  }
  const keep = await setup({ tieBreaker: 1n });
  try {
    keep.check({ role: 'controlled', tieBreaker: 5n });
    await eventually(() => keep.peer.received.length > 0, 2000, 'an answer');
    const answer = keep.peer.received[0]!.message;
    assert.equal(answer.class, 'error');
    assert.equal(errorCode(answer)?.code, 487);
    assert.ok(verifyIntegrity(answer, OURS.pwd));
    assert.equal(keep.agent.role, 'controlled');
  } finally {
    keep.close();
  }
});

test('a 487 answer to our check makes us take the other role and check again', async () => {
  const s = await setup({ checkHoldOffMs: 0 });
  try {
    s.agent.start();
    await eventually(() => s.requests().length > 0, 2000, 'our check');
    assert.equal(iceRole(s.requests()[0]!.message)?.role, 'controlled');
    s.answer(s.requests()[0]!.message, 487);
    await eventually(() => s.requests().length > 1, 2000, 'the check again');
    assert.equal(iceRole(s.requests()[1]!.message)?.role, 'controlling');
    assert.equal(s.agent.role, 'controlling');
    // Controlling, we nominate the pair once it works.
    s.answer(s.requests()[1]!.message);
    await eventually(() => s.requests().some((r) => useCandidate(r.message)), 2000, 'a nomination');
    s.answer(s.requests().find((r) => useCandidate(r.message))!.message);
    await eventually(() => s.selected.length === 1, 2000, 'selected');
  } finally {
    s.close();
  }
});

test('a check the plane answered: the agent neither answers nor validates it again, but checks back, selects on nomination and reports a role switch', async () => {
  const validated: UdpAddress[] = [];
  const selected: UdpAddress[] = [];
  const s = await setup({ checkHoldOffMs: 5_000, events: { validated: (_socket, remote) => validated.push(remote), selected: (p) => selected.push(p.remote) } }, true);
  try {
    s.agent.start();
    s.check({ nominate: true });
    await eventually(() => s.requests().length > 0, 2000, 'the triggered check');
    assert.equal(s.agent.inboundActivity, 1, 'the check counts as a sign of life');
    s.answer(s.requests()[0]!.message);
    await eventually(() => selected.length === 1, 2000, 'selected');
    assert.deepEqual({ address: selected[0]!.address, port: selected[0]!.port }, s.peer.address);
    assert.deepEqual(s.peer.received.filter((r) => r.message.class !== 'request'), [], 'no answer from the agent: the plane sent it');
    assert.deepEqual(validated, [], 'the plane allowed the sender; the agent does not ask again, not even after our check succeeded');
  } finally {
    s.close();
  }
  const roles: string[] = [];
  // (The plane answers no ICE-CONTROLLED check: this one reaches the agent unanswered.)
  const r = await setup({ checkHoldOffMs: 5_000, tieBreaker: 10n, events: { role: (role) => roles.push(role) } });
  try {
    r.agent.start();
    // A controlled client with the smaller tie-breaker: we become controlling (the plane must stop answering).
    r.check({ role: 'controlled', tieBreaker: 1n });
    await eventually(() => roles.length > 0, 2000, 'the role event');
    assert.deepEqual(roles, ['controlling']);
    assert.equal(r.agent.role, 'controlling');
  } finally {
    r.close();
  }
});

test('a triggered check the plane sent is adopted: the agent sends none of its own, resends that one, and selects on its answer', async () => {
  const ids: Buffer[] = [];
  const s = await setup({ checkHoldOffMs: 5_000, timing: { rtoMs: 100 } }, () => {
    const check = randomBytes(12);
    ids.push(check);
    return { check };
  });
  try {
    s.agent.start();
    s.check({ nominate: true });
    // Nobody sent the plane's check here: what the peer gets is the agent's resend of it.
    await eventually(() => s.requests().length > 0, 2000, 'the resend');
    assert.equal(ids.length, 1);
    assert.ok(s.requests().every((r) => r.message.transactionId.equals(ids[0]!)), 'no check of the agent\'s own: only the adopted one, resent');
    assert.equal(s.selected.length, 0);
    s.answer(s.requests()[0]!.message);
    await eventually(() => s.selected.length === 1, 2000, 'selected on the answer to the adopted check');
    assert.deepEqual(s.selected[0], s.peer.address);
  } finally {
    s.close();
  }
});

test("adopting the plane's check quiets an ordinary check of ours still in progress on the pair (RFC 8445 §7.3.1.4), as our own triggered check does", async () => {
  let planeCheck: Buffer | undefined;
  const s = await setup({ checkHoldOffMs: 0, timing: { rtoMs: 100 } }, () => {
    planeCheck = randomBytes(12);
    return { check: planeCheck };
  });
  const sent = (id: Buffer) => s.requests().filter((r) => r.message.transactionId.equals(id)).length;
  try {
    s.agent.start();
    await eventually(() => s.requests().length > 0, 2000, 'our ordinary check (no hold-off)');
    const ordinary = s.requests()[0]!.message.transactionId;
    s.check();
    await eventually(() => planeCheck !== undefined, 2000, 'the check reached the agent, answered by the plane');
    await new Promise((r) => setTimeout(r, 20));
    const before = sent(ordinary);
    // Unquieted it would go again at 100 and 300 ms (RTO 100, doubling).
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(sent(ordinary), before, 'the ordinary check resent nothing after the adoption');
    assert.ok(sent(planeCheck!) > 0, "the plane's check is resent by the agent");
  } finally {
    s.close();
  }
});

test('drops checks with a wrong USERNAME or MESSAGE-INTEGRITY without an answer', async () => {
  const s = await setup();
  try {
    const transactionId = randomBytes(12);
    const wrongUser = encodeStun({ class: 'request', transactionId, attributes: [usernameAttribute(`other:${THEIRS.ufrag}`)], integrityKey: OURS.pwd, fingerprint: true });
    const wrongKey = encodeStun({ class: 'request', transactionId, attributes: [usernameAttribute(`${OURS.ufrag}:${THEIRS.ufrag}`)], integrityKey: 'not the password', fingerprint: true });
    for (const bytes of [wrongUser, wrongKey, Buffer.from('not stun at all')]) s.peer.socket.send(bytes, s.server.address.port, '127.0.0.1');
    s.check();
    await eventually(() => s.peer.received.length > 0, 2000, 'the valid check answered');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.peer.received.filter((r) => r.message.class !== 'request').length, 1, 'only the valid check was answered');
    assert.equal(s.agent.inboundActivity, 1);
  } finally {
    s.close();
  }
});

test('close() leaves no timer armed, on every path: before start, in the hold-off, checking, connected', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const baseline = timers();
  for (const path of ['new', 'hold-off', 'checking', 'connected'] as const) {
    const s = await setup({ checkHoldOffMs: path === 'hold-off' ? 10_000 : 0 });
    if (path !== 'new') s.agent.start();
    if (path === 'checking') await eventually(() => s.requests().length > 0, 2000, 'checking');
    if (path === 'connected') {
      s.check({ nominate: true });
      await eventually(() => s.requests().length > 0, 2000, 'our check');
      s.answer(s.requests().at(-1)!.message);
      await eventually(() => s.agent.state === 'connected', 2000, 'connected');
    }
    assert.ok(timers() > baseline || path === 'new', `${path}: the agent has timers armed`);
    s.close();
    assert.equal(timers(), baseline, `${path}: no timer left after close()`);
    assert.equal(s.agent.state, 'closed');
    // And nothing happens after: a late check is ignored.
    s.agent.receive(1, s.peer.address, Buffer.alloc(0));
  }
  await withTimeout(Promise.resolve(), 10, 'done');
});

test('answers, checks and keeps consent from the address of ours the client reached, and names it to the data plane (validated, selected)', async () => {
  const sources: Array<{ kind: string; from: string | undefined }> = [];
  const validated: Array<string | undefined> = [];
  let selectedSource: string | undefined = 'none yet';
  const s = await setup({
    checkHoldOffMs: 5_000,
    timing: { consentIntervalMs: 100 },
    events: { validated: (_socket, _remote, source) => validated.push(source), selected: (pair) => (selectedSource = pair.source) },
  });
  // What a socket bound to a wildcard says: the client's datagrams reached 127.0.0.9 (the test
  // sockets themselves are on 127.0.0.1; the address only travels with the data here).
  s.server.socket.removeAllListeners('message');
  s.server.socket.on('message', (data, rinfo) => s.agent.receive(1, { address: rinfo.address, port: rinfo.port }, data, '127.0.0.9'));
  const transport = (s.agent as unknown as { options: IceAgentOptions }).options.transport;
  const send = transport.send.bind(transport);
  transport.send = (socket, to, data, from) => {
    sources.push({ kind: parseStun(data)!.class, from });
    send(socket, to, data, from);
  };
  try {
    s.agent.start();
    s.check({ nominate: true });
    await eventually(() => s.requests().length > 0, 2000, 'the triggered check');
    s.answer(s.requests()[0]!.message);
    await eventually(() => selectedSource !== 'none yet', 2000, 'selected');
    await eventually(() => s.requests().length > 1, 2000, 'a consent check');
    assert.deepEqual(validated, ['127.0.0.9']);
    assert.equal(selectedSource, '127.0.0.9');
    assert.equal(s.agent.selectedPair?.source, '127.0.0.9');
    assert.ok(sources.length >= 3, JSON.stringify(sources));
    assert.deepEqual(new Set(sources.map((x) => x.from)), new Set(['127.0.0.9']), `every answer and check from the address reached: ${JSON.stringify(sources)}`);
  } finally {
    s.close();
  }
});

test('a candidate trickled after the answer is paired and checked (with no candidate in the offer); a known one or one after close changes nothing', async () => {
  const s = await setup({ remoteCandidates: [], checkHoldOffMs: 0 });
  try {
    s.agent.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(s.requests().length, 0, 'nothing to check before the candidate');
    const candidate = { address: '127.0.0.1', port: s.peer.address.port, priority: 2130706431, type: 'host' as const, foundation: '1' };
    assert.equal(s.agent.addRemoteCandidate(candidate), true);
    await eventually(() => s.requests().length > 0, 2000, 'a check to the trickled candidate');
    assert.equal(username(s.requests()[0]!.message), `${THEIRS.ufrag}:${OURS.ufrag}`);
    assert.equal(s.agent.addRemoteCandidate({ ...candidate, priority: 1 }), true, 'known: accepted, not added twice');
  } finally {
    s.close();
  }
  assert.equal(s.agent.addRemoteCandidate({ address: '127.0.0.1', port: 9, priority: 1, type: 'host', foundation: '2' }), false, 'closed');
});
