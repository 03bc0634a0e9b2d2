/**
 * One client peer and one echo peer connected over real loopback, in this process, through
 * nothing but the Engine interface: what the conformance suite and the per-engine tests share.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import sdpTransform from 'sdp-transform';
import type { ClientEngine, ClientPeer, ClientPeerOptions, EchoPeer, Engine, PeerState } from '../../src/engines/engine.js';
import type { MediaKind, SessionDescription } from '../../src/sdp/description.js';
import { silentLogger as log } from '../../src/log.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { eventually, withTimeout } from './timeout.js';

export const GATHER_TIMEOUT_MS = 3000;
export const STEP_TIMEOUT_MS = 8000;

export interface Pair {
  client: ClientPeer;
  server: EchoPeer;
  /** The client's offer, as the echo peer got it. */
  offer: SessionDescription;
  /** Every state the echo peer reported, in order. */
  serverStates: PeerState[];
  clientStates: PeerState[];
}

export type PairOptions = Partial<Pick<ClientPeerOptions, 'audio' | 'video' | 'dataChannel'>>;

export function waitForState(onStateChange: (listener: (state: PeerState) => void) => void, wanted: PeerState): Promise<void> {
  return new Promise((resolve) => onStateChange((state) => state === wanted && resolve()));
}

/** Offer from a `clientEngine` client, answer with a `serverEngine` echo peer, connect; both close after the test. */
export async function connectPair(t: TestContext, serverEngine: Engine, clientEngine: ClientEngine, options: PairOptions): Promise<Pair> {
  const client = clientEngine.createClientPeer({
    audio: options.audio ?? false,
    video: options.video ?? false,
    dataChannel: options.dataChannel,
    gatherTimeoutMs: GATHER_TIMEOUT_MS,
    log,
  });
  t.after(() => client.close());
  const clientStates: PeerState[] = [];
  client.onStateChange((state) => clientStates.push(state));
  const offer = await withTimeout(client.createOffer(), STEP_TIMEOUT_MS, 'client offer');
  const server = await withTimeout(serverEngine.createEchoPeer(parseOffer(offer.sdp), { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }), STEP_TIMEOUT_MS, 'echo answer');
  t.after(() => server.close());
  const serverStates: PeerState[] = [];
  server.onStateChange((state) => serverStates.push(state));
  const connected = waitForState((l) => client.onStateChange(l), 'connected');
  await withTimeout(client.acceptAnswer(server.answer), STEP_TIMEOUT_MS, 'client applies the answer');
  await withTimeout(connected, STEP_TIMEOUT_MS, 'client connected');
  return { client, server, offer, serverStates, clientStates };
}

/** The SSRC that the answer declares (`a=ssrc`) in its section of `kind`. */
export function answeredSsrc(answerSdp: string, kind: MediaKind): number {
  const media = sdpTransform.parse(answerSdp).media.find((m) => m.type === kind);
  const ssrc = media?.ssrcs?.[0]?.id;
  assert.ok(ssrc !== undefined, `the answer declares no SSRC for ${kind}`);
  return Number(ssrc);
}

/** A plain RTP packet (no extensions) with a payload that names its sequence number. */
export function syntheticRtp(payloadType: number, ssrc: number, sequence: number): Buffer {
  const payload = Buffer.from(`payload ${sequence} `.repeat(4));
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = payloadType;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE((sequence * 960) >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/** The payload of an RTP packet, past its CSRCs and header extension. */
export function rtpPayload(packet: Buffer): Buffer {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  return packet.subarray(offset, packet.length - padding);
}

/** Active handles and requests, timers left out (stacks keep unref'd bookkeeping timers). */
export function activeResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate');
}

/** Resolves once the process holds no resource beyond those it held at `start`. */
export async function resourcesBackTo(start: string[], withinMs = STEP_TIMEOUT_MS): Promise<void> {
  const left = () => {
    const now = activeResources();
    for (const resource of start) {
      const index = now.indexOf(resource);
      if (index >= 0) now.splice(index, 1);
    }
    return now;
  };
  await eventually(() => left().length === 0, withinMs, 'resources released').catch(() => assert.fail(`resources left behind: [${left().join(', ')}]`));
}
