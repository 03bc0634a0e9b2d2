/**
 * WHIP publishers and WHEP viewers of our own client peers against a real server, for the
 * signaling, echo and client tests: offer, POST with an SDP body, apply the answer, connect.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { ClientEngine, ClientPeer, MediaDirection, RtpLeg } from '../../src/engines/engine.js';
import { loadClip } from '../../src/media/clips.js';
import { MediaPlayer } from '../../src/media/media-player.js';
import { silentLogger as log } from '../../src/log.js';
import type { MediaKind } from '../../src/sdp/description.js';
import { rtpSequenceNumber } from '../../src/rtp/packet.js';
import { GATHER_TIMEOUT_MS, STEP_TIMEOUT_MS, waitForState } from './engine-pair.js';
import { withTimeout } from './timeout.js';

export async function postSdp(url: string, sdp: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...headers }, body: sdp });
}

export async function patchFragment(url: string, fragment: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers }, body: fragment });
}

export interface Resource {
  peer: ClientPeer;
  response: Response;
  answer: string;
  /** The resource URL, absolute. */
  url: string;
  /** Its id: the Location's last segment. */
  id: string;
  etag: string;
}

/** A client peer of `direction` with audio and video (by default), its offer POSTed to `endpoint`, connected. Closed after the test. */
export async function connectResource(
  t: TestContext,
  engine: ClientEngine,
  endpoint: string,
  direction: MediaDirection,
  { audio = true, video = true }: { audio?: boolean; video?: boolean } = {},
): Promise<Resource> {
  const peer = engine.createClientPeer({ audio, video, direction, gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  t.after(() => peer.close());
  const offer = await withTimeout(peer.createOffer(), STEP_TIMEOUT_MS, 'offer');
  const response = await postSdp(endpoint, offer.sdp);
  const answer = await response.text();
  assert.equal(response.status, 201, `POST ${endpoint}: ${answer}`);
  const location = response.headers.get('location');
  assert.ok(location, 'a Location');
  const connected = waitForState((l) => peer.onStateChange(l), 'connected');
  await withTimeout(peer.acceptAnswer({ type: 'answer', sdp: answer }), STEP_TIMEOUT_MS, 'answer applied');
  await withTimeout(connected, STEP_TIMEOUT_MS, 'connected');
  const url = new URL(location, endpoint).toString();
  return { peer, response, answer, url, id: url.split('/').pop()!, etag: response.headers.get('etag') ?? '' };
}

export interface Playing {
  player: MediaPlayer;
  /** Every packet sent, by sequence number (the last one of each number). */
  sent: Map<number, Buffer>;
}

/** Plays the shipped clips on every leg of a publisher (raw RTP legs), answering its RTCP; stopped after the test. */
export async function playOn(t: TestContext, peer: ClientPeer): Promise<Map<MediaKind, Playing>> {
  assert.equal(peer.media.mode, 'rtp');
  const players = new Map<MediaKind, Playing>();
  for (const leg of peer.media.legs as readonly RtpLeg[]) {
    const mid = leg.midExtension;
    const sent = new Map<number, Buffer>();
    const target = { kind: leg.kind, payloadType: leg.payloadType, ssrc: leg.ssrc, send: (packet: Buffer) => (sent.set(rtpSequenceNumber(packet), Buffer.from(packet)), leg.send(packet)) };
    const player = new MediaPlayer(target, await loadClip(leg.kind), { extensions: mid ? [{ id: mid.id, value: Buffer.from(mid.mid) }] : undefined });
    leg.onRtcp((rtcp) => player.handleRtcp(rtcp));
    players.set(leg.kind, { player, sent });
    player.start();
  }
  t.after(() => {
    for (const { player } of players.values()) player.stop();
  });
  return players;
}

/** Every RTP packet a viewer's legs receive, by kind, from now on. */
export function collectRtp(peer: ClientPeer): Map<MediaKind, Buffer[]> {
  const received = new Map<MediaKind, Buffer[]>();
  for (const leg of peer.media.legs as readonly RtpLeg[]) {
    const list: Buffer[] = [];
    received.set(leg.kind, list);
    leg.onRtp((packet) => list.push(packet));
  }
  return received;
}
