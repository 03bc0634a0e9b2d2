/**
 * The Opus TOC byte (RFC 6716 §3.1): which mode and frame size a packet uses and how many
 * frames it carries. The player needs it to know how long each packet plays, because an
 * Ogg file only gives granule positions per page, not per packet.
 */

export const OPUS_CLOCK_RATE = 48_000;

/** Frame sizes in 48 kHz samples, indexed by the TOC config number (RFC 6716 §3.1, Table 2). */
const FRAME_SAMPLES_BY_CONFIG: readonly number[] = [
  // SILK-only NB, MB, WB: 10, 20, 40, 60 ms
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  // Hybrid SWB, FB: 10, 20 ms
  480, 960, 480, 960,
  // CELT-only NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

export interface OpusToc {
  config: number;
  stereo: boolean;
  /** Samples per frame at 48 kHz. */
  frameSamples: number;
  frameCount: number;
}

/** Parses the TOC (and, for code 3, the frame count byte). Throws on a malformed packet. */
export function parseOpusToc(packet: Uint8Array): OpusToc {
  if (packet.length < 1) throw new Error('empty Opus packet');
  const toc = packet[0]!;
  const config = toc >> 3;
  const code = toc & 0x03;
  let frameCount: number;
  if (code === 0) frameCount = 1;
  else if (code === 1 || code === 2) frameCount = 2;
  else {
    // Code 3: byte 1 is v|p|M, M = frame count, at least 1 (RFC 6716 §3.2.5).
    if (packet.length < 2) throw new Error('Opus code 3 packet without its frame count byte');
    frameCount = packet[1]! & 0x3f;
    if (frameCount === 0) throw new Error('Opus code 3 packet with zero frames');
  }
  const frameSamples = FRAME_SAMPLES_BY_CONFIG[config]!;
  // RFC 6716 §3.2.5: a packet holds at most 120 ms of audio.
  if (frameSamples * frameCount > 5760) throw new Error('Opus packet longer than 120 ms');
  return { config, stereo: (toc & 0x04) !== 0, frameSamples, frameCount };
}

/** Samples at 48 kHz this packet plays for: what its RTP timestamp advances by (RFC 7587 §4.1). */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = parseOpusToc(packet);
  return toc.frameSamples * toc.frameCount;
}
