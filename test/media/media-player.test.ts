import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { MediaKind } from '../../src/sdp/description.js';
import { type MediaClip, loadClip } from '../../src/media/clips.js';
import { MediaPlayer, type RtpTarget, createMediaPlayer } from '../../src/media/media-player.js';
import { isVp8Keyframe } from '../../src/media/ivf.js';
import { parseVp8Descriptor } from '../../src/media/vp8-payload-descriptor.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc, rtpTimestamp } from '../../src/rtp/packet.js';

interface Received {
  packet: Buffer;
  at: number;
}

function collector(kind: MediaKind): RtpTarget & { received: Received[] } {
  const received: Received[] = [];
  return {
    kind,
    payloadType: kind === 'video' ? 96 : 111,
    ssrc: kind === 'video' ? 0x11111111 : 0x22222222,
    received,
    send: (packet) => received.push({ packet, at: performance.now() }),
  };
}

/** Reassembles VP8 frames from payloads: one entry per marker bit. */
function frames(received: Received[]): { timestamp: number; data: Buffer }[] {
  const out: { timestamp: number; data: Buffer }[] = [];
  let parts: Buffer[] = [];
  for (const { packet } of received) {
    const payload = packet.subarray(12);
    parts.push(payload.subarray(parseVp8Descriptor(payload).length));
    if (packet[1]! & 0x80) {
      out.push({ timestamp: rtpTimestamp(packet), data: Buffer.concat(parts) });
      parts = [];
    }
  }
  return out;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

test('the video player sends 30 frames per second of VP8 RTP, paced in real time', async () => {
  const target = collector('video');
  const player = await createMediaPlayer(target);
  const startedAt = performance.now();
  player.start();
  await sleep(1000);
  player.stop();
  const elapsed = performance.now() - startedAt;

  const sent = frames(target.received);
  const expected = (elapsed / 1000) * 30;
  // Generous: a shared CI machine may lag, but it must be neither a burst nor a stall.
  assert.ok(sent.length >= expected * 0.6 && sent.length <= expected + 3, `${sent.length} frames in ${elapsed} ms`);
  assert.equal(player.stats.frames, sent.length);
  assert.ok(isVp8Keyframe(sent[0]!.data), 'the first frame is a keyframe');
  for (let i = 1; i < sent.length; i++) assert.equal((sent[i]!.timestamp - sent[i - 1]!.timestamp) >>> 0, 3000);

  // Packets go out no earlier than their frame's time.
  const first = target.received[0]!;
  for (const { packet, at } of target.received) {
    const mediaMs = (((rtpTimestamp(packet) - rtpTimestamp(first.packet)) >>> 0) / 90000) * 1000;
    assert.ok(at - first.at >= mediaMs - 2, `packet at ${at - first.at} ms for media time ${mediaMs} ms`);
  }

  target.received.forEach(({ packet }, i) => {
    assert.equal(rtpPayloadType(packet), 96);
    assert.equal(rtpSsrc(packet), 0x11111111);
    assert.equal(rtpSequenceNumber(packet), (rtpSequenceNumber(first.packet) + i) & 0xffff);
    assert.equal(typeof player.sendTimeOf(rtpSequenceNumber(packet)), 'number');
  });
  assert.equal(player.stats.packets, target.received.length);
});

test('the audio player sends one 20 ms Opus packet per RTP packet, 960 ticks apart', async () => {
  const target = collector('audio');
  const sentLog: number[] = [];
  const player = await createMediaPlayer(target, { onSent: (p) => sentLog.push(p.sequence) });
  const startedAt = performance.now();
  player.start();
  await sleep(600);
  player.stop();
  const elapsed = performance.now() - startedAt;

  const count = target.received.length;
  const expected = elapsed / 20;
  assert.ok(count >= expected * 0.6 && count <= expected + 3, `${count} packets in ${elapsed} ms`);
  for (let i = 1; i < count; i++) {
    const [a, b] = [target.received[i - 1]!.packet, target.received[i]!.packet];
    assert.equal((rtpTimestamp(b) - rtpTimestamp(a)) >>> 0, 960);
    assert.equal(b[1]! & 0x80, 0, 'no marker without DTX');
  }
  assert.deepEqual(sentLog, target.received.map(({ packet }) => rtpSequenceNumber(packet)));
});

test('stop() clears every timer and nothing is sent afterwards', async () => {
  const before = timers();
  const video = collector('video');
  const audio = collector('audio');
  const players = [await createMediaPlayer(video), await createMediaPlayer(audio)];
  for (const p of players) p.start();
  await sleep(120);
  assert.ok(timers() > before);
  for (const p of players) p.stop();
  assert.equal(timers(), before);
  const counts = [video.received.length, audio.received.length];
  await sleep(100);
  assert.deepEqual([video.received.length, audio.received.length], counts);
  for (const p of players) p.stop(); // idempotent
});

test('a short clip loops with timestamps still moving forward, or ends when loop is off', async () => {
  const full = await loadClip('video');
  const short: MediaClip = { ...full, frames: full.frames.slice(0, 3), duration: 9000 }; // 100 ms
  const looping = collector('video');
  const player = new MediaPlayer(looping, short);
  player.start();
  await sleep(350);
  player.stop();
  const sent = frames(looping.received);
  assert.ok(player.stats.loops >= 2, `${player.stats.loops} loops`);
  sent.forEach((frame, i) => {
    assert.ok(frame.data.equals(short.frames[i % 3]!.data));
    if (i > 0) assert.equal((frame.timestamp - sent[i - 1]!.timestamp) >>> 0, 3000);
  });

  const once = collector('video');
  const oneShot = new MediaPlayer(once, short, { loop: false });
  oneShot.start();
  await sleep(250);
  assert.equal(frames(once.received).length, 3);
  assert.equal(oneShot.finished, true);
  assert.equal(oneShot.running, false);
});

test('requestKeyframe() makes the next video frame a keyframe without breaking the timestamps', async () => {
  const clip = await loadClip('video');
  const target = collector('video');
  const player = new MediaPlayer(target, clip);
  player.start();
  await sleep(200); // a few frames into the clip, past the first keyframe
  const framesBefore = frames(target.received).length;
  player.requestKeyframe();
  await sleep(120);
  player.stop();
  const sent = frames(target.received);
  assert.ok(sent.length > framesBefore);
  const next = sent[framesBefore]!;
  assert.ok(isVp8Keyframe(next.data) && next.data.equals(clip.frames[0]!.data));
  assert.equal((next.timestamp - sent[framesBefore - 1]!.timestamp) >>> 0, 3000);
  assert.ok(sent[framesBefore + 1]!.data.equals(clip.frames[1]!.data));
});

test('clips are loaded once and shared; a clip refuses a leg of the other kind', async () => {
  assert.equal(await loadClip('audio'), await loadClip('audio'));
  const video = await loadClip('video');
  assert.throws(() => new MediaPlayer(collector('audio'), video), TypeError);
});

test('the player answers a NACK about its SSRC from its history, same bytes, and a held-back packet only then', async () => {
  const { buildNack } = await import('../../src/rtp/rtcp.js');
  const target = collector('video');
  const player = await createMediaPlayer(target);
  player.start();
  const held = await player.holdBackNext();
  await sleep(150);
  const sentSequences = () => target.received.map((r) => rtpSequenceNumber(r.packet));
  assert.ok(!sentSequences().includes(held), 'the held-back packet was not sent');
  const before = target.received.length;
  const earlier = target.received[0]!.packet;
  const resent = player.handleRtcp(buildNack(0x99, target.ssrc, [held, rtpSequenceNumber(earlier)]));
  player.stop();
  assert.deepEqual(resent, [held, rtpSequenceNumber(earlier)]);
  const again = target.received.slice(before).filter((r) => [held, rtpSequenceNumber(earlier)].includes(rtpSequenceNumber(r.packet)));
  assert.equal(again.length, 2);
  assert.deepEqual(again[1]!.packet, earlier, 'resent byte for byte');
  assert.equal(player.stats.retransmissions, 2);
  assert.deepEqual(player.handleRtcp(buildNack(0x99, 0x12345, [held])), [], 'a NACK about another SSRC is not ours');
});

test('the player answers a PLI about its SSRC with a keyframe next', async () => {
  const { buildPli } = await import('../../src/rtp/rtcp.js');
  const { isVp8KeyframeStart } = await import('../../src/media/vp8-payload-descriptor.js');
  const target = collector('video');
  const player = await createMediaPlayer(target);
  player.start();
  await sleep(200); // past the first keyframe, well before the next (frame 30)
  const before = target.received.length;
  player.handleRtcp(buildPli(0x99, target.ssrc));
  await sleep(100);
  player.stop();
  const next = target.received.slice(before).find((r) => r.packet[12]! & 0x10);
  assert.ok(next, 'a frame followed');
  assert.ok(isVp8KeyframeStart(next.packet.subarray(12)), 'and it is a keyframe');
  assert.equal(player.stats.keyframeRequests, 1);
});
