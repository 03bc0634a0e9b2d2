/**
 * A plane session and a werift peer with DTLS done: what the RTCP, session and load tests
 * start from. Also a reader for the RTCP that comes back.
 */
import type { TestContext } from 'node:test';
import type { EchoSectionConfig, SrtpProfileName, UdpAddress } from '../../src/engines/native/plane.js';
import { isConnected, type PlaneHarness } from './plane-harness.js';
import { WeriftPeer, type WeriftProfileName } from './werift-peer.js';

export const CLIENT_SSRC = 0x1234abcd;
export const ECHO_SSRC = 0x0e0e0e0e;

export interface EchoPair {
  peer: WeriftPeer;
  session: number;
}

export async function connectPair(
  t: TestContext,
  harness: PlaneHarness,
  socket: { socket: number; local: UdpAddress },
  options: { planeRole?: 'client' | 'server'; profile?: WeriftProfileName; sections?: EchoSectionConfig[] } = {},
): Promise<EchoPair> {
  const planeRole = options.planeRole ?? 'server';
  const profile = options.profile ?? 'SRTP_AEAD_AES_128_GCM';
  const peer = await WeriftPeer.create();
  t.after(() => peer.close());
  const session = harness.session({
    socket: socket.socket,
    dtlsRole: planeRole,
    remoteFingerprint: peer.fingerprint,
    srtpProfiles: [profile as SrtpProfileName],
    sections: options.sections ?? [{ mid: '0', echoSsrc: ECHO_SSRC, payloadTypes: [96], offeredSsrcs: [CLIENT_SSRC], midExtensionId: 0 }],
  });
  harness.plane.allowRemote(session, peer.address);
  const connecting = peer.connect(socket.local, planeRole === 'client' ? 'server' : 'client', profile);
  harness.plane.selectRemote(session, peer.address);
  await connecting;
  await harness.event(isConnected(session), 10_000, `dtls-connected of session ${session}`);
  return { peer, session };
}

export interface RtcpPart {
  type: number;
  /** RC, SC or FMT. */
  count: number;
  bytes: Buffer;
}

/** The packets of a (compound) RTCP packet. */
export function rtcpParts(compound: Buffer): RtcpPart[] {
  const parts: RtcpPart[] = [];
  for (let offset = 0; offset + 4 <= compound.length; ) {
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    parts.push({ type: compound[offset + 1]!, count: compound[offset]! & 0x1f, bytes: compound.subarray(offset, offset + length) });
    offset += length;
  }
  return parts;
}

export function rtcp(type: number, count: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = 0x80 | count;
  header[1] = type;
  header.writeUInt16BE((4 + body.length) / 4 - 1, 2);
  return Buffer.concat([header, body]);
}

export function words(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, i * 4));
  return out;
}
