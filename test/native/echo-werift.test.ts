/**
 * The native plane's packet echo end to end against a foreign DTLS-SRTP stack: werift's DTLS
 * client or server and its SRTP over node:dgram on loopback. The peer handshakes with a plane
 * session (both roles, AES-CM-80 and GCM), sends SRTP, and gets the echo back with only the
 * SSRC rewritten; the fingerprint is checked both ways; application data flows both ways.
 * Run: node --import tsx --test test/native/echo-werift.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c } from 'werift';
import type { SrtpProfileName } from '../../src/engines/native/plane.js';
import { isConnected, isFailed, nativeAddon, PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket, WeriftPeer, type WeriftProfileName } from './werift-peer.js';

const SKIP = skipWithoutAddon();

const CLIENT_SSRC = 0x1234abcd;
const ECHO_SSRC = 0x0e0e0e0e;

async function connectedPair(
  t: import('node:test').TestContext,
  options: { planeRole: 'client' | 'server'; profile: WeriftProfileName; harness: PlaneHarness; socket: number },
) {
  const { harness, socket } = options;
  const peer = await WeriftPeer.create();
  t.after(() => peer.close());
  const session = harness.session({
    socket,
    dtlsRole: options.planeRole,
    remoteFingerprint: peer.fingerprint,
    srtpProfiles: [options.profile as SrtpProfileName],
    sections: [{ mid: '0', echoSsrc: ECHO_SSRC, payloadTypes: [96, 111], offeredSsrcs: [CLIENT_SSRC], midExtensionId: 0 }],
  });
  const planeAddress = socketAddress(harness, socket);
  assert.equal(harness.plane.allowRemote(session, peer.address), true);
  const connecting = peer.connect(planeAddress, options.planeRole === 'client' ? 'server' : 'client', options.profile);
  assert.equal(harness.plane.selectRemote(session, peer.address), true);
  await connecting;
  const connected = await harness.event(isConnected(session), 10_000, 'dtls-connected');
  return { harness, peer, session, connected };
}

const socketAddresses = new WeakMap<PlaneHarness, Map<number, { address: string; port: number }>>();

/** Where a plane socket listens (the harness remembers what openSocket said). */
function socketAddress(harness: PlaneHarness, socket: number): { address: string; port: number } {
  const known = socketAddresses.get(harness)?.get(socket);
  if (!known) throw new Error(`socket ${socket} was not opened through openTrackedSocket`);
  return known;
}

function openTrackedSocket(harness: PlaneHarness): number {
  const { socket, local } = harness.socket();
  const map = socketAddresses.get(harness) ?? new Map();
  map.set(socket, local);
  socketAddresses.set(harness, map);
  return socket;
}

for (const profile of ['SRTP_AES128_CM_SHA1_80', 'SRTP_AEAD_AES_128_GCM'] as const) {
  for (const planeRole of ['server', 'client'] as const) {
    test(`${profile}, plane as DTLS ${planeRole}: every RTP packet comes back with the echo SSRC and its payload byte-exact`, { skip: SKIP }, async (t) => {
      const harness = PlaneHarness.open(t);
      const socket = openTrackedSocket(harness);
      const { peer, session, connected } = await connectedPair(t, { planeRole, profile, harness, socket });
      assert.equal(connected.role, planeRole);
      assert.equal(connected.srtpProfile, profile);
      assert.equal(peer.remoteFingerprint(), harness.plane.fingerprint.value, 'the plane presented the certificate it announces');

      const sent: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const packet = rtpPacket({ ssrc: CLIENT_SSRC, seq: 65_500 + i, payload: randomBytes(1 + (i * 37) % 1100) });
        sent.push(packet);
        peer.sendRtp(packet);
        // In groups, so that no kernel buffer overflows while JavaScript decrypts (UDP may drop).
        if (i % 20 === 19) await peer.until(() => peer.rtp.length >= sent.length, 10_000, `echoes of ${sent.length}`);
      }
      await peer
        .until(() => peer.rtp.length >= sent.length, 10_000, 'every echo')
        .catch((err: Error) => {
          throw new Error(`${err.message}: ${peer.rtp.length} of ${sent.length} back (${peer.mediaDatagrams} came, ${peer.undecryptable} undecryptable), plane stats ${JSON.stringify(harness.plane.stats(session))}`);
        });
      for (let i = 0; i < sent.length; i++) {
        const expected = Buffer.from(sent[i]!);
        expected.writeUInt32BE(ECHO_SSRC, 8);
        assert.deepEqual(peer.rtp[i], expected, `packet ${i}: only the SSRC differs`);
      }
      const stats = harness.plane.stats(session);
      assert.equal(stats?.rtpEchoed, 200);
      assert.equal(stats?.rtpEchoedBytes, sent.reduce((sum, p) => sum + p.length, 0));
      assert.equal(stats?.srtpAuthFailures, 0);
    });
  }
}

test('application data goes both ways over the session DTLS', { skip: SKIP }, async (t) => {
  const harness = PlaneHarness.open(t);
  const socket = openTrackedSocket(harness);
  const { peer, session } = await connectedPair(t, { planeRole: 'server', profile: 'SRTP_AEAD_AES_128_GCM', harness, socket });
  await peer.sendApplicationData(Buffer.from('from werift'));
  const up = await harness.event((e) => e.type === 'app-data' && e.session === session, 5_000, 'app-data');
  assert.equal(up.type === 'app-data' && up.data.toString(), 'from werift');
  assert.equal(up.type === 'app-data' && up.sctpChecksumValid, false, 'not an SCTP packet with its CRC32c');
  // The plane checks each record's CRC32c as werift's SCTP would (the native engine's data
  // channels then skip werift's check): a sealed packet holds, one changed byte does not.
  const sctp = randomBytes(1052);
  sctp.writeUInt32LE(0, 8);
  sctp.writeUInt32LE(crc32c(sctp) >>> 0, 8);
  const broken = Buffer.from(sctp);
  broken[700]! ^= 1;
  const checked: boolean[] = [];
  for (const record of [sctp, broken]) {
    await peer.sendApplicationData(record);
    const event = await harness.event((e) => e.type === 'app-data' && e.session === session && e.data.equals(record), 5_000, 'an SCTP record');
    checked.push(event.type === 'app-data' && event.sctpChecksumValid);
  }
  assert.deepEqual(checked, [true, false]);
  assert.equal(harness.plane.sendApplicationData(session, Buffer.from('from the plane')), true);
  await peer.until(() => peer.appData.length > 0, 5_000, 'app data at werift');
  assert.equal(peer.appData[0]?.toString(), 'from the plane');
  // Several records in one call (what the SCTP bundler hands over per turn): each its own record, in order.
  assert.equal(harness.plane.sendApplicationData(session, [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]), true);
  await peer.until(() => peer.appData.length >= 4, 5_000, 'a batch of app data at werift');
  assert.deepEqual(peer.appData.slice(1).map((d) => d.toString()), ['one', 'two', 'three']);
  // A batch with a record out of bounds is refused whole.
  assert.equal(harness.plane.sendApplicationData(session, [Buffer.from('four'), Buffer.alloc(0)]), false);
  assert.equal(harness.plane.sendApplicationData(session, []), false);
  assert.equal(harness.plane.sendApplicationData(session, [Buffer.from('five'), Buffer.alloc(16_385)]), false);
  assert.equal(harness.plane.sendApplicationData(session, [Buffer.from('six')]), true);
  await peer.until(() => peer.appData.length >= 5, 5_000, 'the last record at werift');
  assert.deepEqual(peer.appData.slice(4).map((d) => d.toString()), ['six'], 'nothing of the refused batches');

  // With sctpChecksum the plane writes each packet's CRC32c over whatever bytes 8-11 held: what
  // werift's CRC32c says, at lengths around the 8-byte steps and the largest record, one run of
  // equal records among them (a segmented send).
  const sizes = [12, 13, 19, 20, 21, 100, 1052, 1052, 1052, 1052, 1051, 16_384];
  const packets = sizes.map((size) => {
    const packet = randomBytes(size);
    packet.writeUInt32LE(0xdeadbeef, 8);
    return packet;
  });
  assert.equal(harness.plane.sendApplicationData(session, packets, true), true);
  await peer.until(() => peer.appData.length >= 5 + sizes.length, 5_000, 'the sealed packets at werift');
  const sealed = peer.appData.slice(5);
  assert.deepEqual(sealed.map((p) => p.length), sizes);
  sealed.forEach((packet, i) => {
    const zeroed = Buffer.from(packet);
    zeroed.writeUInt32LE(0, 8);
    assert.equal(packet.readUInt32LE(8), crc32c(zeroed) >>> 0, `packet ${i} (${sizes[i]} bytes) has its CRC32c`);
    assert.ok(packet.subarray(12).equals(packets[i]!.subarray(12)) && packet.subarray(0, 8).equals(packets[i]!.subarray(0, 8)), 'nothing else changed');
  });
  // (Not on the portable build, test/native/portable-io.test.ts, which has no UDP_SEGMENT.)
  if (nativeAddon().versions().io?.includes('UDP_SEGMENT')) assert.ok((harness.plane.stats(session)?.datagramsSegmented ?? 0) >= 4, 'the equal ones left in one segmented send');
  // An SCTP packet has a 12-byte common header: shorter is refused, the batch with it.
  assert.equal(harness.plane.sendApplicationData(session, [Buffer.alloc(20), Buffer.alloc(11)], true), false);
});

test('a certificate that does not match the fingerprint fails the handshake, in both roles', { skip: SKIP }, async (t) => {
  for (const planeRole of ['server', 'client'] as const) {
    const harness = PlaneHarness.open(t);
    const { socket, local } = harness.socket();
    const peer = await WeriftPeer.create();
    t.after(() => peer.close());
    const other = await WeriftPeer.create();
    other.close();
    const session = harness.session({
      socket,
      dtlsRole: planeRole,
      remoteFingerprint: other.fingerprint, // not the peer's
      srtpProfiles: ['SRTP_AEAD_AES_128_GCM'],
      sections: [{ mid: '0', echoSsrc: ECHO_SSRC, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }],
    });
    harness.plane.allowRemote(session, peer.address);
    const connecting = peer.connect(local, planeRole === 'client' ? 'server' : 'client', 'SRTP_AEAD_AES_128_GCM');
    connecting.catch(() => {});
    harness.plane.selectRemote(session, peer.address);
    const failed = await harness.event(isFailed(session), 10_000, `dtls-failed (plane ${planeRole})`);
    assert.match(failed.reason, /fingerprint/);
    assert.equal(harness.events.some(isConnected(session)), false);
    assert.equal(harness.plane.sendApplicationData(session, Buffer.from('x')), false, 'no application data without a handshake');
  }
});
