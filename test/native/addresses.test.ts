/**
 * Which address the native plane sends from, and to whom, on sockets bound to a wildcard:
 * every datagram says which of our addresses it reached (IP_PKTINFO / IPV6_PKTINFO), STUN
 * answers leave from the address asked (pion drops an answer from another address than the one
 * its check went to), and a session sends from the address its remote reaches. And where the
 * DTLS server role sends before ICE selected a pair: back to the allowed address the
 * ClientHello came from (a libdatachannel client shakes hands on its first working pair,
 * seconds before it nominates one). Every address is on loopback: 127.0.0.0/8 is all ours.
 * Run: node --import tsx --test test/native/addresses.test.ts
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { isConnected, PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket, WeriftPeer } from './werift-peer.js';
import type { UdpAddress } from '../../src/engines/native/plane.js';

const SKIP = skipWithoutAddon();
const CLIENT_SSRC = 0x5eed;
const ECHO_SSRC = 0xec40;
const SECTIONS = [{ mid: '0', echoSsrc: ECHO_SSRC, payloadTypes: [96], offeredSsrcs: [CLIENT_SSRC], midExtensionId: 0 }];

async function udp(t: TestContext, address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

function nextMessage(socket: dgram.Socket): Promise<{ data: Buffer; from: string }> {
  return new Promise((resolve) => socket.once('message', (data, info) => resolve({ data, from: info.address })));
}

const stunRequest = () => Buffer.concat([Buffer.from('000100002112a442', 'hex'), randomBytes(12)]);

for (const bound of ['0.0.0.0', '::'] as const) {
  test(`a socket bound to ${bound} says which address a STUN message reached, and send() answers from the address asked`, { skip: SKIP }, async (t) => {
    const harness = PlaneHarness.open(t);
    const { socket, local } = harness.socket({ address: bound });
    const client = await udp(t, '127.0.0.1');
    const from = { address: '127.0.0.1', port: (client.address() as AddressInfo).port };
    client.send(stunRequest(), local.port, '127.0.0.5');
    const event = await harness.event((e) => e.type === 'stun', 5_000, 'stun');
    assert.equal(event.type === 'stun' && event.local, '127.0.0.5', 'the address it reached');
    assert.deepEqual(event.type === 'stun' && event.from, from);

    // Left to the kernel, the answer to 127.0.0.1 would leave from 127.0.0.1.
    let reply = nextMessage(client);
    assert.equal(harness.plane.send(socket, from, Buffer.from('0101000c', 'hex')), true);
    assert.equal((await reply).from, '127.0.0.1');
    reply = nextMessage(client);
    assert.equal(harness.plane.send(socket, from, Buffer.from('0101000c', 'hex'), '127.0.0.5'), true);
    assert.equal((await reply).from, '127.0.0.5', 'from the address the request reached');
    assert.equal(harness.plane.send(socket, from, Buffer.from([1]), 'not an address'), false);
    if (bound === '::') {
      // IPv6 on the same dual-stack socket.
      const six = await udp(t, '::1');
      six.send(stunRequest(), local.port, '::1');
      const v6 = await harness.event((e) => e.type === 'stun' && e.from.address === '::1', 5_000, 'stun over IPv6');
      assert.equal(v6.type === 'stun' && v6.local, '::1');
      reply = nextMessage(six);
      // An IPv4 source for an IPv6 remote is not used: the kernel chooses.
      assert.equal(harness.plane.send(socket, (v6 as { from: UdpAddress }).from, Buffer.from('0101000c', 'hex'), '127.0.0.5'), true);
      assert.equal((await reply).from, '::1');
    }
  });
}

test('as DTLS server before selectRemote, the handshake, application data and the echo go back to the allowed address the ClientHello came from, from the address it reached; after selectRemote, to the selected one', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket({ address: '0.0.0.0' });
  const peer = await WeriftPeer.create('127.0.0.1');
  t.after(() => peer.close());
  const session = harness.session({
    socket,
    dtlsRole: 'server',
    remoteFingerprint: peer.fingerprint,
    srtpProfiles: ['SRTP_AEAD_AES_128_GCM'],
    sections: SECTIONS,
  });
  // ICE validated the client's address, nothing was selected yet: the client shakes hands.
  assert.equal(harness.plane.allowRemote(session, peer.address), true);
  await peer.connect({ address: '127.0.0.6', port: local.port }, 'client', 'SRTP_AEAD_AES_128_GCM');
  const connected = await harness.event(isConnected(session), 10_000, 'dtls-connected before selectRemote');
  assert.equal(connected.role, 'server');
  assert.ok(peer.sources.length > 0 && peer.sources.every((s) => s === '127.0.0.6'), `the handshake came from where the hello went: ${[...new Set(peer.sources)]}`);

  assert.equal(harness.plane.sendApplicationData(session, Buffer.from('sctp')), true);
  await peer.until(() => peer.appData.length > 0, 5_000, 'application data');
  assert.equal(peer.appData[0]!.toString(), 'sctp');
  peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: 1, payload: Buffer.from('before selection') }));
  await peer.until(() => peer.rtp.length > 0, 5_000, 'the echo before selection');
  assert.equal(peer.rtp[0]!.readUInt32BE(8), ECHO_SSRC);
  assert.deepEqual([...new Set(peer.sources)], ['127.0.0.6']);

  // ICE selects another address of the client (one that only counts datagrams here).
  const other = await udp(t, '127.0.0.1');
  const otherAddress = { address: '127.0.0.1', port: (other.address() as AddressInfo).port };
  const arrived: string[] = [];
  other.on('message', (_data, info) => arrived.push(info.address));
  assert.equal(harness.plane.selectRemote(session, otherAddress, '127.0.0.7'), true);
  await new Promise((r) => setTimeout(r, 100));
  const echoed = peer.rtp.length;
  peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: 2, payload: Buffer.from('after selection') }));
  assert.equal(harness.plane.sendApplicationData(session, Buffer.from('sctp again')), true);
  const deadline = Date.now() + 5_000;
  while (arrived.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(arrived, ['127.0.0.7', '127.0.0.7'], 'the echo and the application data, to the selected remote, from the pair\'s address');
  assert.equal(peer.rtp.length, echoed, 'nothing more to the first address');
});

test('as DTLS client the plane sends its ClientHello from the address selectRemote names, and the echo from the address the client reaches', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket({ address: '::' });
  const peer = await WeriftPeer.create('127.0.0.1');
  t.after(() => peer.close());
  const session = harness.session({
    socket,
    dtlsRole: 'client',
    remoteFingerprint: peer.fingerprint,
    srtpProfiles: ['SRTP_AES128_CM_SHA1_80'],
    sections: SECTIONS,
  });
  const connecting = peer.connect({ address: '127.0.0.8', port: local.port }, 'server', 'SRTP_AES128_CM_SHA1_80');
  assert.equal(harness.plane.selectRemote(session, peer.address, '127.0.0.8'), true);
  await connecting;
  await harness.event(isConnected(session), 10_000, 'dtls-connected');
  peer.sendRtp(rtpPacket({ ssrc: CLIENT_SSRC, seq: 7, payload: Buffer.from('echo me') }));
  await peer.until(() => peer.rtp.length > 0, 5_000, 'the echo');
  assert.deepEqual([...new Set(peer.sources)], ['127.0.0.8']);
});
