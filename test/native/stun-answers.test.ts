/**
 * The plane's ICE fast path (plane.ts CreateSessionOptions.ice): a session's Binding requests
 * answered on the data-plane thread, with nobody in JavaScript answering. Each answer is
 * compared byte for byte with what the TypeScript agent would send (src/stun/message.ts
 * encodeStun, as `IceAgent #respond` does) and read back with parseStun/verifyIntegrity; the
 * sender is allowed (DTLS from it connects with no allowRemote from JavaScript); every check the
 * agent must weigh itself (a wrong password, a role conflict, an unknown comprehension-required
 * attribute, another ufrag) goes up unanswered; sessions on one socket are told apart by ufrag;
 * `stopIceAnswers` and the plane's `answerIceChecks: false` turn it off. With the remote password
 * it sends the triggered check as the agent would, and selects a nominated pair it answered. Plus the C++ code against
 * RFC 5769's vectors (native/test/stun_vectors.cc, built against Debian's OpenSSL).
 * Run: node --import tsx --test test/native/stun-answers.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { iceRoleAttribute, priority, priorityAttribute, useCandidateAttribute, usernameAttribute, xorMappedAddress, xorMappedAddressAttribute } from '../../src/stun/attributes.js';
import { encodeStun, parseStun, verifyIntegrity, type StunAttribute } from '../../src/stun/message.js';
import type { PlaneEvent, PlaneIceCredentials, UdpAddress } from '../../src/engines/native/plane.js';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { isConnected, PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { WeriftPeer } from './werift-peer.js';

const SKIP = skipWithoutAddon();
const ROOT = resolve(import.meta.dirname, '..', '..');
const SECTIONS = [{ mid: '0', echoSsrc: 0xec40, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }];
const ICE: PlaneIceCredentials = { localUfrag: 'Lc9f', localPwd: 'local-password-of-24-chr', remoteUfrag: 'Rm1x' };
/** How long a check waits for an answer that must not come. */
const SILENCE_MS = 400;

interface CheckOptions {
  username?: string;
  password?: string;
  role?: 'controlling' | 'controlled' | 'none';
  extra?: StunAttribute[];
  fingerprint?: boolean;
}

/** A client's Binding request, as our client stacks send one (RFC 8445 §7.2.2). */
function check(options: CheckOptions = {}): { data: Buffer; transactionId: Buffer } {
  const transactionId = randomBytes(12);
  const attributes = [usernameAttribute(options.username ?? `${ICE.localUfrag}:${ICE.remoteUfrag}`), priorityAttribute(0x6e0001ff)];
  if ((options.role ?? 'controlling') !== 'none') attributes.push(iceRoleAttribute(options.role === 'controlled' ? 'controlled' : 'controlling', 0x1234n));
  attributes.push(useCandidateAttribute(), ...(options.extra ?? []));
  const data = encodeStun({ class: 'request', transactionId, attributes, integrityKey: options.password ?? ICE.localPwd, fingerprint: options.fingerprint ?? true });
  return { data, transactionId };
}

async function udp(t: TestContext, address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  t.after(() => socket.close());
  await new Promise<void>((done) => socket.bind(0, address, done));
  return socket;
}

function addressOf(socket: dgram.Socket): UdpAddress {
  const { address, port } = socket.address() as AddressInfo;
  return { address, port };
}

/** The next datagram on `socket`, or undefined after `ms`. */
function nextMessage(socket: dgram.Socket, ms = 5_000): Promise<{ data: Buffer; from: string } | undefined> {
  return new Promise((done) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      done(undefined);
    }, ms);
    const onMessage = (data: Buffer, info: dgram.RemoteInfo) => {
      clearTimeout(timer);
      done({ data, from: info.address });
    };
    socket.once('message', onMessage);
  });
}

/** `ice: null`: a session created without credentials. */
function openSession(harness: PlaneHarness, socket: number, ice: PlaneIceCredentials | null = ICE): number {
  return harness.session({ socket, ice: ice ?? undefined, dtlsRole: 'server', remoteFingerprint: harness.plane.fingerprint, srtpProfiles: ['SRTP_AEAD_AES_128_GCM'], sections: SECTIONS });
}

const stunFrom = (from: UdpAddress) => (event: PlaneEvent): event is Extract<PlaneEvent, { type: 'stun' }> =>
  event.type === 'stun' && event.from.address === from.address && event.from.port === from.port;

/** The answer the TypeScript agent would send (IceAgent #respond). */
function agentAnswer(transactionId: Buffer, to: UdpAddress, password = ICE.localPwd): Buffer {
  return encodeStun({ class: 'success', transactionId, attributes: [xorMappedAddressAttribute(to, transactionId)], integrityKey: password, fingerprint: true });
}

for (const family of ['127.0.0.1', '::1'] as const) {
  test(`over ${family === '::1' ? 'IPv6' : 'IPv4'}, a valid check is answered by the plane as the agent would answer it, flagged answered, its sender allowed`, { skip: SKIP }, async (t) => {
    const harness = PlaneHarness.open(t);
    const { socket, local } = harness.socket({ address: family });
    const session = openSession(harness, socket);
    const client = await udp(t, family);
    const { data, transactionId } = check();
    const reply = nextMessage(client);
    client.send(data, local.port, family);
    const answer = await reply;
    assert.ok(answer, 'an answer came with nobody in JavaScript answering');
    assert.deepEqual(answer.data, agentAnswer(transactionId, addressOf(client)), 'byte for byte what IceAgent #respond encodes');
    const parsed = parseStun(answer.data);
    assert.ok(parsed && parsed.class === 'success' && parsed.fingerprint, 'a success response with a FINGERPRINT that holds');
    assert.equal(verifyIntegrity(parsed, ICE.localPwd), true);
    assert.deepEqual(xorMappedAddress(parsed), addressOf(client));
    const event = await harness.event(stunFrom(addressOf(client)), 5_000, 'the stun event');
    assert.equal(event.answered, true);
    assert.deepEqual(event.data, data);
    assert.equal(harness.plane.stats(session)?.stunAnswered, 1);
    // Allowed: the next datagram from there is the session's (before: nobody's).
    assert.equal(harness.plane.stats(session)?.packetsIn, 0);
    client.send(check().data, local.port, family);
    await harness.event((e) => e.type === 'stun' && e !== event, 5_000, 'the second check');
    assert.equal(harness.plane.stats(session)?.packetsIn, 1);
    assert.equal(harness.plane.stats(session)?.stunAnswered, 2);
  });
}

test('checks the agent must weigh itself go up unanswered: wrong password, ICE-CONTROLLED, no role, unknown required attribute, another ufrag, no integrity, a broken fingerprint', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const session = openSession(harness, socket);
  const withoutIntegrity = encodeStun({ class: 'request', transactionId: randomBytes(12), attributes: [usernameAttribute(`${ICE.localUfrag}:${ICE.remoteUfrag}`), iceRoleAttribute('controlling', 1n)], fingerprint: true });
  const brokenFingerprint = check().data;
  brokenFingerprint[brokenFingerprint.length - 1]! ^= 0xff;
  const cases: Array<[string, Buffer]> = [
    ['wrong password', check({ password: 'not-the-password-at-all!' }).data],
    ['ICE-CONTROLLED (a role conflict)', check({ role: 'controlled' }).data],
    ['no role attribute', check({ role: 'none' }).data],
    ['an unknown comprehension-required attribute (420 is the agent\'s)', check({ extra: [{ type: 0x0777, value: Buffer.from([1, 2, 3, 4]) }] }).data],
    ['another remote ufrag', check({ username: `${ICE.localUfrag}:other` }).data],
    ['another local ufrag', check({ username: `nobody:${ICE.remoteUfrag}` }).data],
    ['no MESSAGE-INTEGRITY', withoutIntegrity],
    ['a FINGERPRINT that does not match', brokenFingerprint],
  ];
  for (const [label, data] of cases) {
    const client = await udp(t, '127.0.0.1');
    const reply = nextMessage(client, SILENCE_MS);
    client.send(data, local.port, '127.0.0.1');
    const event = await harness.event(stunFrom(addressOf(client)), 5_000, `the stun event (${label})`);
    assert.equal(event.answered, undefined, `${label}: not flagged answered`);
    assert.equal(await reply, undefined, `${label}: no answer from the plane`);
  }
  const stats = harness.plane.stats(session);
  assert.equal(stats?.stunAnswered, 0);
  assert.equal(stats?.packetsIn, 0, 'no sender was allowed');
});

test('the sender of an answered check may shake hands: DTLS from it connects with no allowRemote from JavaScript', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const peer = await WeriftPeer.create('127.0.0.1');
  t.after(() => peer.close());
  const real = harness.session({ socket, ice: ICE, dtlsRole: 'server', remoteFingerprint: peer.fingerprint, srtpProfiles: ['SRTP_AEAD_AES_128_GCM'], sections: SECTIONS });
  const to = { address: '127.0.0.1', port: local.port };
  peer.sendRaw(check().data, to);
  await harness.event((e) => e.type === 'stun' && e.answered === true, 5_000, 'the answered check');
  await peer.connect(to, 'client', 'SRTP_AEAD_AES_128_GCM');
  const connected = await harness.event(isConnected(real), 10_000, 'dtls-connected');
  assert.equal(connected.role, 'server');
});

test('sessions sharing one socket (--udp-mux) are answered each with its own password, found by ufrag', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const first = { localUfrag: 'aaaa', localPwd: 'first-password-24-chars!', remoteUfrag: 'c1c1' };
  const second = { localUfrag: 'bbbb', localPwd: 'second-password-24-chrs', remoteUfrag: 'c2c2' };
  const one = openSession(harness, socket, first);
  const two = openSession(harness, socket, second);
  for (const [ice, session] of [[first, one], [second, two]] as const) {
    const client = await udp(t, '127.0.0.1');
    const { data, transactionId } = check({ username: `${ice.localUfrag}:${ice.remoteUfrag}`, password: ice.localPwd });
    const reply = nextMessage(client);
    client.send(data, local.port, '127.0.0.1');
    const answer = await reply;
    assert.ok(answer, `${ice.localUfrag}: answered`);
    assert.deepEqual(answer.data, agentAnswer(transactionId, addressOf(client), ice.localPwd));
    assert.equal(harness.plane.stats(session)?.stunAnswered, 1);
  }
  // One session's ufrag with the other's password: no answer.
  const client = await udp(t, '127.0.0.1');
  const reply = nextMessage(client, SILENCE_MS);
  client.send(check({ username: `${first.localUfrag}:${first.remoteUfrag}`, password: second.localPwd }).data, local.port, '127.0.0.1');
  assert.equal(await reply, undefined);
  // A closed session's ufrag is forgotten: its checks go up unanswered.
  harness.plane.closeSession(one);
  const late = await udp(t, '127.0.0.1');
  const lateReply = nextMessage(late, SILENCE_MS);
  late.send(check({ username: `${first.localUfrag}:${first.remoteUfrag}`, password: first.localPwd }).data, local.port, '127.0.0.1');
  assert.equal(await lateReply, undefined);
});

test('on a socket bound to 0.0.0.0 the answer leaves from the address the check reached', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket({ address: '0.0.0.0' });
  openSession(harness, socket);
  const client = await udp(t, '127.0.0.1');
  const reply = nextMessage(client);
  client.send(check().data, local.port, '127.0.0.9');
  assert.equal((await reply)?.from, '127.0.0.9');
});

test('stopIceAnswers, a session without credentials and a plane with answerIceChecks: false leave every check to JavaScript', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const stopped = harness.socket();
  const stoppedSession = openSession(harness, stopped.socket);
  assert.equal(harness.plane.stopIceAnswers(stoppedSession), true);
  assert.equal(harness.plane.stopIceAnswers(999_999), false);
  const bare = harness.socket();
  openSession(harness, bare.socket, null);
  const off = PlaneHarness.open(t, undefined, { answerIceChecks: false });
  const offSocket = off.socket();
  openSession(off, offSocket.socket);
  for (const port of [stopped.local.port, bare.local.port, offSocket.local.port]) {
    const client = await udp(t, '127.0.0.1');
    const reply = nextMessage(client, SILENCE_MS);
    client.send(check().data, port, '127.0.0.1');
    assert.equal(await reply, undefined, `port ${port}: no answer`);
  }
  assert.equal(harness.plane.stats(stoppedSession)?.stunAnswered, 0);
  assert.equal(typeof harness.plane.createSession({ socket: bare.socket, ice: { localUfrag: 'a:b', localPwd: 'x', remoteUfrag: 'y' }, dtlsRole: 'server', remoteFingerprint: harness.plane.fingerprint, srtpProfiles: [], sections: [] }), 'string', 'a ufrag with a colon is refused');
});

test('with the remote password the plane sends the triggered check the agent would send, once per address, and selects once the client nominated the pair and answered it', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const remotePwd = 'remote-password-of-24-ch';
  const ice: PlaneIceCredentials = { ...ICE, remotePwd, tieBreaker: 0x0123456789abcdefn, checkPriorities: [{ address: '127.0.0.1', priority: 0x6e7fff00 + 0xff }, { address: '::1', priority: 1 }] };
  // DTLS client: the ClientHello that selection starts is what the client sees of it.
  const session = harness.session({ socket, ice, dtlsRole: 'client', remoteFingerprint: harness.plane.fingerprint, srtpProfiles: ['SRTP_AEAD_AES_128_GCM'], sections: SECTIONS });
  const client = await udp(t, '127.0.0.1');
  const received: Buffer[] = [];
  client.on('message', (data) => received.push(data));
  const arrived = async (count: number, label: string) => {
    for (let waited = 0; received.length < count; waited += 10) {
      if (waited > 5_000) assert.fail(`${label}: ${received.length} datagrams, not ${count}`);
      await new Promise((done) => setTimeout(done, 10));
    }
  };
  client.send(check().data, local.port, '127.0.0.1');
  await arrived(2, 'the answer and the triggered check');
  const event = await harness.event(stunFrom(addressOf(client)), 5_000, 'the stun event');
  assert.equal(event.answered, true);
  assert.ok(event.check && event.check.length === 12, 'the check\'s transaction id comes up');
  const request = parseStun(received[1]!);
  assert.ok(request && request.class === 'request', 'behind the answer, a request');
  assert.deepEqual(request.transactionId, event.check);
  // Byte for byte what IceAgent #check encodes (PRIORITY: prflx with the candidate's local preference, here given).
  const expected = encodeStun({
    class: 'request',
    transactionId: event.check,
    attributes: [usernameAttribute(`${ICE.remoteUfrag}:${ICE.localUfrag}`), priorityAttribute(0x6e7fff00 + 0xff), iceRoleAttribute('controlled', 0x0123456789abcdefn)],
    integrityKey: remotePwd,
    fingerprint: true,
  });
  assert.deepEqual(received[1], expected);
  // A second check from the same address: answered, no second check of ours.
  client.send(check().data, local.port, '127.0.0.1');
  await arrived(3, 'the second answer');
  const second = await harness.event((e) => e.type === 'stun' && e !== event, 5_000, 'the second stun event');
  assert.equal(second.type === 'stun' && second.check, undefined);
  await new Promise((done) => setTimeout(done, SILENCE_MS));
  assert.equal(received.length, 3, 'no DTLS before our check is answered: the pair is not selected yet');
  // An answer under the wrong password does not count; the right one selects (the client nominated).
  const answer = (password: string) => encodeStun({ class: 'success', transactionId: event.check!, attributes: [xorMappedAddressAttribute({ address: '127.0.0.1', port: local.port }, event.check!)], integrityKey: password, fingerprint: true });
  client.send(answer('not-the-remote-password!'), local.port, '127.0.0.1');
  await new Promise((done) => setTimeout(done, SILENCE_MS));
  assert.equal(received.length, 3, 'a forged answer selects nothing');
  client.send(answer(remotePwd), local.port, '127.0.0.1');
  await arrived(4, 'the ClientHello');
  assert.equal(received[3]![0], 22, 'selected: DTLS (a handshake record) starts to the client');
  assert.equal(harness.plane.stats(session)?.stunAnswered, 2);
  assert.equal(harness.plane.stats(session)?.stunChecksSent, 1);
});

test("the triggered check's PRIORITY is the candidate's at the address the check reached, else the first of the client's family, as IceAgent #localFor picks", { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket({ address: '0.0.0.0' });
  // 127.0.0.9 is announced by no candidate (a wildcard socket takes any loopback address): the
  // first IPv4 candidate's priority, not the exact match's of another client.
  const ice: PlaneIceCredentials = { ...ICE, remotePwd: 'remote-password-of-24-ch', tieBreaker: 7n, checkPriorities: [{ address: '127.0.0.5', priority: 7 }, { address: '127.0.0.1', priority: 9 }] };
  harness.session({ socket, ice, dtlsRole: 'server', remoteFingerprint: harness.plane.fingerprint, srtpProfiles: [], sections: SECTIONS });
  const checkPriorityVia = async (destination: string) => {
    const client = await udp(t, '127.0.0.1');
    const datagrams: Buffer[] = [];
    client.on('message', (data) => datagrams.push(data));
    client.send(check().data, local.port, destination);
    for (let waited = 0; datagrams.length < 2; waited += 10) {
      if (waited > 5_000) assert.fail(`via ${destination}: ${datagrams.length} datagrams, not the answer and the check`);
      await new Promise((done) => setTimeout(done, 10));
    }
    const request = parseStun(datagrams[1]!);
    assert.equal(request?.class, 'request');
    return priority(request!);
  };
  assert.equal(await checkPriorityVia('127.0.0.1'), 9, 'the candidate at the address reached');
  assert.equal(await checkPriorityVia('127.0.0.9'), 7, 'an address no candidate announced: the first of the family');
});

function missingCompiler(): string | undefined {
  if (spawnSync('c++', ['--version']).status !== 0) return 'no C++ compiler (c++)';
  if (!existsSync('/usr/include/openssl/evp.h')) return 'the OpenSSL headers are not installed (libssl-dev)';
  return undefined;
}

test('the C++ STUN code matches RFC 5769: the sample request, its integrity and fingerprint, XOR-MAPPED-ADDRESS for IPv4 and IPv6', { skip: skipUnlessCi(missingCompiler()), timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'native-stun-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'stun_vectors');
  const sources = ['test/stun_vectors.cc', 'src/stun_binding.cc', 'src/endpoint.cc'].map((s) => join(ROOT, 'native', s));
  const built = await runCommand('c++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-o', binary, ...sources, '-lcrypto'], process.env, 300_000);
  assert.equal(built.code, 0, built.stderr);
  const run = await runCommand(binary, [], process.env, 60_000);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  for (const line of ['RFC 5769 2.1 request: parsed', 'tampered, truncated and non-requests refused', 'IPv4 and IPv6 match', 'all vectors passed']) {
    assert.ok(run.stdout.includes(line), `${line} in:\n${run.stdout}`);
  }
});
