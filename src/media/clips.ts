/**
 * The clips the client plays: `testdata/video.ivf` (VP8) and `testdata/audio.ogg` (Opus),
 * made by scripts/make-testdata.sh. Each is read and parsed once per process and shared by
 * every player, since a load test may run many sessions at once.
 */
import { readFile } from 'node:fs/promises';
import type { MediaKind } from '../sdp/description.js';
import { parseIvf } from './ivf.js';
import { parseOggOpus } from './ogg-opus.js';
import { OPUS_CLOCK_RATE, opusPacketSamples } from './opus-toc.js';
import { testdataPath } from './package-root.js';
import { VP8_CLOCK_RATE } from './vp8-packetizer.js';

export interface ClipFrame {
  /** When this frame plays, in clock-rate units from the start of the clip. */
  mediaTime: number;
  /** Video keyframe; always true for audio, where any packet can start playback. */
  keyframe: boolean;
  /** One encoded VP8 frame or one Opus packet. */
  data: Buffer;
}

export interface MediaClip {
  kind: MediaKind;
  codec: 'VP8' | 'opus';
  clockRate: number;
  /** Length of one pass in clock-rate units: where a looped pass begins. */
  duration: number;
  frames: readonly ClipFrame[];
}

export const CLIP_FILES: Record<MediaKind, string> = { video: 'video.ivf', audio: 'audio.ogg' };

const cache = new Map<string, Promise<MediaClip>>();

/** Loads (once) the clip for a kind; `path` overrides the shipped file, for tests. */
export function loadClip(kind: MediaKind, path: string = testdataPath(CLIP_FILES[kind])): Promise<MediaClip> {
  const key = `${kind}:${path}`;
  let clip = cache.get(key);
  if (clip === undefined) {
    clip = readFile(path).then((file) => (kind === 'video' ? videoClip(file) : audioClip(file)));
    // A failed load is not cached, so a fixed file can be retried.
    clip.catch(() => cache.delete(key));
    cache.set(key, clip);
  }
  return clip;
}

export function videoClip(file: Buffer): MediaClip {
  const { header, frames } = parseIvf(file);
  if (header.fourcc !== 'VP80') throw new Error(`IVF clip is ${header.fourcc}, not VP8`);
  if (frames.length === 0) throw new Error('IVF clip has no frames');
  if (!frames[0]!.keyframe) throw new Error('IVF clip does not start with a keyframe');
  const toTicks = (seconds: number): number => Math.round(seconds * VP8_CLOCK_RATE);
  const clipFrames = frames.map((frame) => ({
    mediaTime: toTicks(frame.seconds) - toTicks(frames[0]!.seconds),
    keyframe: frame.keyframe,
    data: frame.data,
  }));
  // Each frame lasts until the next; the last one as long as the one before it.
  const last = clipFrames[clipFrames.length - 1]!.mediaTime;
  const previous = clipFrames.length > 1 ? clipFrames[clipFrames.length - 2]!.mediaTime : last - 3000;
  return { kind: 'video', codec: 'VP8', clockRate: VP8_CLOCK_RATE, duration: last + (last - previous), frames: clipFrames };
}

export function audioClip(file: Buffer): MediaClip {
  const { packets } = parseOggOpus(file);
  if (packets.length === 0) throw new Error('Ogg Opus clip has no packets');
  let mediaTime = 0;
  const frames = packets.map((data) => {
    const frame = { mediaTime, keyframe: true, data };
    mediaTime += opusPacketSamples(data);
    return frame;
  });
  return { kind: 'audio', codec: 'opus', clockRate: OPUS_CLOCK_RATE, duration: mediaTime, frames };
}
