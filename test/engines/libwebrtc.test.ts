/**
 * What only the libwebrtc engine does (it decodes and re-encodes); the promises every engine
 * keeps are in conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { rtpLegs } from '../../src/engines/engine.js';
import { libdatachannelEngine } from '../../src/engines/libdatachannel/index.js';
import { libwebrtcEngine as engine } from '../../src/engines/libwebrtc/index.js';
import { loadClip } from '../../src/media/clips.js';
import { MediaPlayer } from '../../src/media/media-player.js';
import { isRtp, rtpPayloadType, rtpSsrc } from '../../src/rtp/packet.js';
import { STEP_TIMEOUT_MS, connectPair } from '../helpers/engine-pair.js';
import { eventually } from '../helpers/timeout.js';

test('real VP8 and Opus from a libdatachannel client come back, re-encoded, on the answered SSRCs and payload types', async (t) => {
  const { client, server } = await connectPair(t, engine, libdatachannelEngine, { audio: true, video: true });
  const answer = sdpTransform.parse(server.answer.sdp);
  const players: MediaPlayer[] = [];
  t.after(() => players.forEach((p) => p.stop()));
  const back = new Map<string, Buffer[]>();
  for (const leg of rtpLegs(client)) {
    const packets: Buffer[] = [];
    back.set(leg.kind, packets);
    leg.onRtp((packet) => {
      if (isRtp(packet)) packets.push(packet);
    });
    const player = new MediaPlayer(leg, await loadClip(leg.kind));
    players.push(player);
    player.start();
  }
  // Counted, not compared: the echo is a new encoding, so sizes and boundaries differ.
  await eventually(() => [...back.values()].every((packets) => packets.length >= 20), STEP_TIMEOUT_MS, 'at least 20 echoed packets per leg');
  for (const leg of rtpLegs(client)) {
    const section = answer.media.find((m) => m.type === leg.kind);
    const answeredSsrcs = new Set((section?.ssrcs ?? []).map((s) => Number(s.id)));
    const packets = back.get(leg.kind)!;
    assert.ok(packets.every((p) => rtpPayloadType(p) === leg.payloadType), `${leg.kind}: payload type ${leg.payloadType}`);
    assert.ok(answeredSsrcs.has(rtpSsrc(packets[0]!)), `${leg.kind}: echoed on an SSRC the answer declares`);
  }
  for (const player of players) assert.equal(player.stats.sendErrors, 0);
  await eventually(() => server.counters.rtpPackets >= 40, STEP_TIMEOUT_MS, 'echo counters move');
});
