/**
 * The native plane's sessions and sockets: many sessions on ports of their own, sessions
 * sharing one socket (told apart by the remote address ICE validated), closing a session
 * while its client still sends, sockets in a port range, STUN up and down, DTLS
 * retransmissions, and how RTP finds its section (mid extension, payload type).
 * Run: node --import tsx --test test/native/sessions.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { RtpPacket } from 'werift';
import { CLIENT_SSRC, connectPair, ECHO_SSRC } from './echo-pair.js';
import { nativeAddon, PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket, type WeriftPeer } from './werift-peer.js';

const SKIP = skipWithoutAddon();

/** Sends `count` packets in groups, waiting for each group's echo; returns what was sent. */
async function echoRound(peer: WeriftPeer, ssrc: number, count: number, firstSeq = 0): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  const start = peer.rtp.length;
  for (let i = 0; i < count; i++) {
    const packet = rtpPacket({ ssrc, seq: firstSeq + i, payload: randomBytes(50 + i) });
    sent.push(packet);
    peer.sendRtp(packet);
    if (i % 20 === 19 || i === count - 1) await peer.until(() => peer.rtp.length - start >= sent.length, 10_000, 'echoes');
  }
  return sent;
}

function assertEchoOf(received: Buffer[], sent: Buffer[], echoSsrc: number, label: string): void {
  assert.equal(received.length, sent.length, `${label}: as many back as sent`);
  received.forEach((packet, i) => {
    const expected = Buffer.from(sent[i]!);
    expected.writeUInt32BE(echoSsrc >>> 0, 8);
    assert.deepEqual(packet, expected, `${label}: packet ${i}`);
  });
}

test('twenty sessions, each on a port of its own, each echo only its own client', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const pairs = [];
  for (let i = 0; i < 20; i++) {
    const socket = harness.socket({ portMin: 0, portMax: 0 });
    pairs.push({ ...(await connectPair(t, harness, socket, { sections: [{ mid: '0', echoSsrc: 0x100 + i, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }] })), i });
  }
  await Promise.all(
    pairs.map(async ({ peer, i }) => {
      const sent = await echoRound(peer, 0x5000 + i, 40);
      assertEchoOf(peer.rtp, sent, 0x100 + i, `session ${i}`);
    }),
  );
  for (const { session } of pairs) assert.equal(harness.plane.stats(session)?.rtpEchoed, 40);
});

test('sessions sharing one socket are told apart by the remote each validated', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const shared = harness.socket();
  const pairs = [];
  for (let i = 0; i < 10; i++) {
    pairs.push({ ...(await connectPair(t, harness, shared, { sections: [{ mid: '0', echoSsrc: 0x200 + i, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }] })), i });
  }
  // Every client uses the same SSRC: only the address can tell them apart.
  await Promise.all(
    pairs.map(async ({ peer, i }) => {
      const sent = await echoRound(peer, CLIENT_SSRC, 40);
      assertEchoOf(peer.rtp, sent, 0x200 + i, `client ${i}`);
    }),
  );
  for (const { session } of pairs) assert.equal(harness.plane.stats(session)?.rtpEchoed, 40);
});

test('closing a session while its client sends is safe; the socket and other sessions go on', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const shared = harness.socket();
  const doomed = await connectPair(t, harness, shared);
  const survivor = await connectPair(t, harness, shared, { sections: [{ mid: '0', echoSsrc: 0x77, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }] });
  let seq = 0;
  const blast = setInterval(() => {
    for (let i = 0; i < 10; i++) doomed.peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: seq++, payload: randomBytes(200) }));
  }, 2);
  t.after(() => clearInterval(blast));
  await doomed.peer.until(() => doomed.peer.rtp.length > 100, 10_000, 'echoes before the close');
  harness.plane.closeSession(doomed.session);
  harness.plane.closeSession(doomed.session); // idempotent
  assert.equal(harness.plane.stats(doomed.session), undefined);
  assert.equal(harness.plane.sendApplicationData(doomed.session, Buffer.from('x')), false);
  assert.equal(harness.plane.allowRemote(doomed.session, doomed.peer.address), false);
  await new Promise((r) => setTimeout(r, 200));
  const settled = doomed.peer.rtp.length;
  const sent = await echoRound(survivor.peer, 0x4242, 40);
  assertEchoOf(survivor.peer.rtp, sent, 0x77, 'the other session');
  clearInterval(blast);
  assert.equal(doomed.peer.rtp.length, settled, 'no echo after the close');
  assert.ok(harness.events.every((e) => !('session' in e) || e.session !== doomed.session || e.type === 'dtls-connected'));
});

test('sockets bind in the port range, a full range says so, a closed socket frees its port once its sessions are gone', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const probe = harness.socket({ portMin: 0, portMax: 0 });
  const base = probe.local.port;
  harness.plane.closeSocket(probe.socket);
  await new Promise((r) => setTimeout(r, 50));
  const first = harness.socket({ portMin: base, portMax: base + 1 });
  const second = harness.socket({ portMin: base, portMax: base + 1 });
  assert.deepEqual(new Set([first.local.port, second.local.port]), new Set([base, base + 1]));
  const third = harness.plane.openSocket({ address: '127.0.0.1', portMin: base, portMax: base + 1 });
  assert.equal(typeof third, 'string');
  assert.match(third as string, /no free UDP port/);
  assert.match(harness.plane.openSocket({ address: 'not-an-address', portMin: 0, portMax: 0 }) as string, /invalid bind address/);

  // A socket closed under a session lives until the session goes.
  const pair = await connectPair(t, harness, first);
  harness.plane.closeSocket(first.socket);
  assert.equal(harness.plane.send(first.socket, pair.peer.address, Buffer.from([0, 1, 0, 0])), false);
  const sent = await echoRound(pair.peer, CLIENT_SSRC, 20);
  assertEchoOf(pair.peer.rtp, sent, ECHO_SSRC, 'echo on a closing socket');
  harness.plane.closeSession(pair.session);
  const rebound = await bindEventually(first.local.port);
  rebound.close();
});

async function bindEventually(port: number): Promise<dgram.Socket> {
  for (let attempt = 0; ; attempt++) {
    const socket = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, '127.0.0.1', resolve);
      });
      return socket;
    } catch (err) {
      socket.close();
      if (attempt > 40) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('STUN from anyone comes up as an event; send() puts a datagram on the wire as it is', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const stranger = dgram.createSocket('udp4');
  t.after(() => stranger.close());
  await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.1', resolve));
  const request = Buffer.concat([Buffer.from('000100002112a442', 'hex'), randomBytes(12)]);
  stranger.send(request, local.port, local.address);
  const event = await harness.event((e) => e.type === 'stun', 5_000, 'stun');
  assert.deepEqual(event, { type: 'stun', socket, from: { address: '127.0.0.1', port: (stranger.address() as AddressInfo).port }, local: '127.0.0.1', data: request });
  // Not STUN, not from a validated address: nothing.
  stranger.send(Buffer.from([0x16, 0xfe, 0xfd, 0, 0]), local.port, local.address);
  const reply = new Promise<Buffer>((resolve) => stranger.once('message', resolve));
  assert.equal(harness.plane.send(socket, event.type === 'stun' ? event.from : local, Buffer.from('0101000c', 'hex')), true);
  assert.deepEqual(await reply, Buffer.from('0101000c', 'hex'));
  assert.equal(harness.plane.send(socket, { address: '::1', port: 9 }, Buffer.from([1])), true, 'queued; an IPv4 socket cannot send it');
  assert.equal(harness.plane.send(999, local, Buffer.from([1])), false);
  assert.equal(harness.events.filter((e) => e.type === 'stun').length, 1);
});

test('as DTLS client the plane retransmits its ClientHello to a silent server, first after 100 ms', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket } = harness.socket();
  const silent = dgram.createSocket('udp4');
  t.after(() => silent.close());
  const hellos: Buffer[] = [];
  const at: number[] = [];
  silent.on('message', (data) => {
    hellos.push(data);
    at.push(performance.now());
  });
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const session = harness.session({
    socket,
    dtlsRole: 'client',
    remoteFingerprint: { algorithm: 'sha-256', value: harness.plane.fingerprint.value },
    srtpProfiles: ['SRTP_AEAD_AES_128_GCM'],
    sections: [],
  });
  const address = { address: '127.0.0.1', port: (silent.address() as AddressInfo).port };
  harness.plane.selectRemote(session, address);
  const deadline = Date.now() + 5_000;
  while (hellos.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(hellos.length >= 2, `${hellos.length} ClientHellos in 5 s`);
  assert.equal(hellos[0]![0], 22, 'a DTLS handshake record');
  assert.deepEqual(hellos[1]!.subarray(13, 14), Buffer.from([1]), 'the retransmission is a ClientHello too');
  // Our timer starts at 100 ms (dtls_transport.cc, handshakeTimerUs), not OpenSSL's 1 s: a first
  // flight the peer dropped costs a tenth of a second. OpenSSL's own would come at 1000 ms or later.
  const gap = at[1]! - at[0]!;
  assert.ok(gap < 950, `the first retransmission ${gap.toFixed(0)} ms after the hello, not OpenSSL's 1 s`);
  assert.ok(gap >= 90, `${gap.toFixed(0)} ms: no sooner than the 100 ms timer`);
});

test('RTP finds its section by the mid extension (both forms), the offered SSRCs, or a payload type only one section has', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const sections = [
    { mid: 'audio', echoSsrc: 0xa0, payloadTypes: [111], offeredSsrcs: [], midExtensionId: 4 },
    { mid: 'video', echoSsrc: 0xb0, payloadTypes: [96, 97], offeredSsrcs: [], midExtensionId: 4 },
    { mid: 'video2', echoSsrc: 0xc0, payloadTypes: [96, 97], offeredSsrcs: [5], midExtensionId: 4 },
  ];
  const { peer, session } = await connectPair(t, harness, harness.socket(), { sections });
  const send = (packet: Buffer) => peer.sendRtp(packet);
  send(rtpPacket({ ssrc: 1, seq: 1, payloadType: 111, payload: Buffer.from('opus') })); // by payload type
  send(rtpPacket({ ssrc: 2, seq: 1, payloadType: 96, payload: Buffer.from('vp8'), mid: { id: 4, value: 'video2' } }));
  send(rtpPacket({ ssrc: 2, seq: 2, payloadType: 96, payload: Buffer.from('vp8 again') })); // the SSRC is known now
  send(rtpPacket({ ssrc: 3, seq: 1, payloadType: 96, payload: Buffer.from('which?') })); // 96 is in two sections: dropped
  send(rtpPacket({ ssrc: 4, seq: 1, payloadType: 100, payload: Buffer.from('no such type'), mid: { id: 4, value: 'video' } }));
  send(rtpPacket({ ssrc: 5, seq: 1, payloadType: 97, payload: Buffer.from('offered') })); // by a=ssrc
  send(rtpPacket({ ssrc: 6, seq: 1, payloadType: 97, payload: Buffer.from('two-byte'), mid: { id: 4, value: 'video', twoByte: true } }));
  await peer.until(() => peer.rtp.length >= 5, 5_000, 'five echoes');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    peer.rtp.map((p) => [p.readUInt32BE(8), RtpPacket.deSerialize(p).payload.toString()]),
    [
      [0xa0, 'opus'],
      [0xc0, 'vp8'],
      [0xc0, 'vp8 again'],
      [0xc0, 'offered'],
      [0xb0, 'two-byte'],
    ],
  );
  assert.equal(harness.plane.stats(session)?.rtpDropped, 2);
});

test('the mid extension id is per section: under each id, only the mids of sections that gave it that id (werift offers 1 in audio, 2 in video)', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const sections = [
    { mid: '0', echoSsrc: 0xa0, payloadTypes: [96, 111], offeredSsrcs: [], midExtensionId: 1 },
    { mid: '1', echoSsrc: 0xb0, payloadTypes: [96, 111], offeredSsrcs: [], midExtensionId: 2 },
  ];
  const { peer, session } = await connectPair(t, harness, harness.socket(), { sections });
  const send = (packet: Buffer) => peer.sendRtp(packet);
  // Audio as werift writes it: its mid under id 1.
  send(rtpPacket({ ssrc: 1, seq: 1, payloadType: 111, payload: Buffer.from('audio'), mid: { id: 1, value: '0' } }));
  // Video: its mid under id 2, after an element under id 1 that is something else in this section.
  send(rtpPacket({ ssrc: 2, seq: 1, payloadType: 96, payload: Buffer.from('video'), extensions: [{ id: 1, value: Buffer.from([0x7f]) }], mid: { id: 2, value: '1' } }));
  // A mid under an id no section gave that mid: not a match (both sections have 96, so dropped).
  send(rtpPacket({ ssrc: 3, seq: 1, payloadType: 96, payload: Buffer.from('wrong id'), mid: { id: 2, value: '0' } }));
  await peer.until(() => peer.rtp.length >= 2, 5_000, 'two echoes');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    peer.rtp.map((p) => [p.readUInt32BE(8), RtpPacket.deSerialize(p).payload.toString()]),
    [
      [0xa0, 'audio'],
      [0xb0, 'video'],
    ],
  );
  assert.equal(harness.plane.stats(session)?.rtpDropped, 1);
});

test("a second source on a section continues the echo's sequence, so no SRTP index is used twice", { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { peer } = await connectPair(t, harness, harness.socket());
  await echoRound(peer, CLIENT_SSRC, 10, 500); // echo 500..509, as sent
  assert.deepEqual(peer.rtp.map((p) => p.readUInt16BE(2)), [...Array(10).keys()].map((i) => 500 + i));
  const second = await echoRound(peer, 0xbeef, 5, 100); // a new source from 100: echoed from 510 on
  assert.deepEqual(peer.rtp.slice(10).map((p) => p.readUInt16BE(2)), [510, 511, 512, 513, 514]);
  assert.deepEqual(peer.rtp.slice(10).map((p) => p.subarray(12)), second.map((p) => p.subarray(12)), 'payloads as sent');
});

test('createPlane refuses options out of range; with coalescing off the echo is the same', { skip: SKIP }, async (t) => {
  const addon = nativeAddon();
  assert.equal(addon.createPlane(() => {}, { coalesceMicroseconds: -1 }), 'coalesceMicroseconds must be 0-100000');
  assert.equal(addon.createPlane(() => {}, { coalesceMicroseconds: 1.5 }), 'coalesceMicroseconds must be 0-100000');
  assert.equal(addon.createPlane('nope' as never), 'onEvents must be a function');
  const harness = PlaneHarness.open(t, addon, { coalesceMicroseconds: 0 });
  const { peer } = await connectPair(t, harness, harness.socket());
  const sent = await echoRound(peer, CLIENT_SSRC, 60);
  assertEchoOf(peer.rtp, sent, ECHO_SSRC, 'without coalescing');
});
