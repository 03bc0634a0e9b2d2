/**
 * End-to-end proof of the packetization: the RTP the players send is fed, via a pcap file,
 * to GStreamer's own depayloaders and decoders (`rtpvp8depay ! vp8dec`, `rtpopusdepay !
 * opusdec`), and the decoded pictures and samples must equal, byte for byte, what the same
 * decoders make of the clip files. A wrong S bit, descriptor, marker or timestamp shows up
 * as a dropped or corrupted frame. Skipped where gst-launch-1.0 is not installed.
 */
import { skipUnlessCi } from '../helpers/timeout.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { type MediaClip, loadClip } from '../../src/media/clips.js';
import { MediaPlayer, type RtpTarget } from '../../src/media/media-player.js';
import { parseOggOpus } from '../../src/media/ogg-opus.js';
import { testdataPath } from '../../src/media/package-root.js';
import { type CapturedPacket, pcapFile } from './pcap-writer.js';

const run = promisify(execFile);
const I420_FRAME = (320 * 240 * 3) / 2;

async function gstAvailable(): Promise<boolean> {
  try {
    await run('gst-launch-1.0', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * gst-launch-1.0 with a hard timeout; every source here ends by itself (EOS at end of file).
 * One argv element per token: gst-launch escapes each element, so paths with spaces survive.
 */
async function gstLaunch(...elements: string[][]): Promise<void> {
  const argv = elements.flatMap((element, i) => (i === 0 ? element : ['!', ...element]));
  await run('gst-launch-1.0', ['-q', ...argv], { timeout: 30_000 });
}

function capture(kind: 'audio' | 'video', packets: CapturedPacket[]): RtpTarget {
  return {
    kind,
    payloadType: kind === 'video' ? 96 : 111,
    ssrc: kind === 'video' ? 0x1234 : 0x5678,
    send: (data) => packets.push({ timeUs: Math.round(performance.now() * 1000), data }),
  };
}

test('GStreamer decodes the players’ RTP to exactly the clips’ pictures and samples', async (t) => {
  const missing = skipUnlessCi((await gstAvailable()) ? undefined : 'gst-launch-1.0 not installed');
  if (missing) return t.skip(missing);
  const dir = await mkdtemp(join(tmpdir(), 'webrtc-echo-media-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // Video: the clip's first second (frames 0..29, ending right before the next keyframe),
  // looped, so the decode also proves a loop restarts cleanly on the keyframe.
  const video = await loadClip('video');
  const firstSecond: MediaClip = { ...video, frames: video.frames.slice(0, 30), duration: 90_000 };
  const videoPackets: CapturedPacket[] = [];
  const audioPackets: CapturedPacket[] = [];
  const players = [
    new MediaPlayer(capture('video', videoPackets), firstSecond),
    new MediaPlayer(capture('audio', audioPackets), await loadClip('audio')),
  ];
  for (const player of players) player.start();
  await sleep(1300);
  for (const player of players) player.stop();
  const framesSent = players[0]!.stats.frames;
  const audioSent = players[1]!.stats.packets;
  assert.ok(framesSent > 30, `${framesSent} frames: the clip must have looped`);

  await writeFile(join(dir, 'video.pcap'), pcapFile(videoPackets));
  await writeFile(join(dir, 'audio.pcap'), pcapFile(audioPackets));
  const fromPcap = (file: string, caps: string): string[][] => [
    ['filesrc', `location=${join(dir, file)}`],
    ['pcapparse'],
    [`application/x-rtp,${caps}`],
  ];
  const into = (file: string): string[] => ['filesink', `location=${join(dir, file)}`];
  await Promise.all([
    gstLaunch(
      ...fromPcap('video.pcap', 'media=video,encoding-name=VP8,clock-rate=90000,payload=96'),
      ['rtpvp8depay'], ['vp8dec'], ['video/x-raw,format=I420'], into('rtp.yuv'),
    ),
    gstLaunch(
      ['filesrc', `location=${testdataPath('video.ivf')}`], ['ivfparse'], ['vp8dec'],
      ['video/x-raw,format=I420'], into('ivf.yuv'),
    ),
    gstLaunch(
      ...fromPcap('audio.pcap', 'media=audio,encoding-name=OPUS,clock-rate=48000,payload=111'),
      ['rtpopusdepay'], ['opusdec'], ['audio/x-raw,channels=1'], into('rtp.pcm'),
    ),
    gstLaunch(
      ['filesrc', `location=${testdataPath('audio.ogg')}`], ['oggdemux'], ['opusdec'],
      ['audio/x-raw,channels=1'], into('ogg.pcm'),
    ),
  ]);

  const output = (file: string): Promise<Buffer> => readFile(join(dir, file));
  const [rtpYuv, ivfYuv, rtpPcm, oggPcm] = [
    await output('rtp.yuv'), await output('ivf.yuv'), await output('rtp.pcm'), await output('ogg.pcm'),
  ];
  assert.equal(rtpYuv.length, framesSent * I420_FRAME, 'every frame sent was decoded');
  for (let i = 0; i < framesSent; i++) {
    const decoded = rtpYuv.subarray(i * I420_FRAME, (i + 1) * I420_FRAME);
    const expected = ivfYuv.subarray((i % 30) * I420_FRAME, ((i % 30) + 1) * I420_FRAME);
    assert.ok(decoded.equals(expected), `picture ${i} differs from clip frame ${i % 30}`);
  }

  // RTP carries no pre-skip (RFC 7587 §4.2 leaves it to the decoder), so the RTP decode
  // starts with the encoder's priming samples that the Ogg decode drops.
  assert.equal(rtpPcm.length, audioSent * 960 * 2, 'every Opus packet decoded to 20 ms');
  const { preSkip } = parseOggOpus(await readFile(testdataPath('audio.ogg'))).head;
  const fromRtp = rtpPcm.subarray(preSkip * 2);
  assert.ok(fromRtp.equals(oggPcm.subarray(0, fromRtp.length)), 'decoded audio differs from the clip');
});
