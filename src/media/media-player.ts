/**
 * Plays a clip into one media leg as RTP, in real time and in a loop, the way a camera or
 * microphone would: each frame goes out when its media time comes due, packetized per its
 * RTP payload format, so servers that decode and re-encode (aiortc, GStreamer, libwebrtc)
 * receive media they can actually decode.
 *
 * It records when each sequence number left, so the client can match echoed packets to
 * their send time and compute round trips, and keeps the last packets it sent, so it can
 * answer a NACK (RFC 4585 §6.2.1) by sending the packet again, as a sender without RTX does.
 * A PLI or FIR about its stream makes the next frame a keyframe.
 */
import { performance } from 'node:perf_hooks';
import type { MediaKind } from '../sdp/description.js';
import type { HeaderExtension } from '../rtp/header-extensions.js';
import { genericNacks, keyframeRequestTargets } from '../rtp/rtcp.js';
import { type MediaClip, loadClip } from './clips.js';
import { packetizeOpus } from './opus-packetizer.js';
import { RtpStreamWriter } from './rtp-writer.js';
import { Vp8Packetizer } from './vp8-packetizer.js';

/** Where the player sends: one media section (an engine's RtpLeg is one). */
export interface RtpTarget {
  readonly kind: MediaKind;
  /** Payload type of the codec sent: VP8 for video, Opus for audio. */
  readonly payloadType: number;
  readonly ssrc: number;
  /** One complete RTP packet (header + payload); the stack encrypts it. */
  send(packet: Buffer): void;
}

export interface SentPacket {
  sequence: number;
  timestamp: number;
  marker: boolean;
  /** Bytes of the whole RTP packet. */
  size: number;
  /** performance.now() when it was handed to the target, in ms. */
  sentAt: number;
}

export interface MediaPlayerStats {
  packets: number;
  bytes: number;
  frames: number;
  /** Completed passes through the clip. */
  loops: number;
  /** Times target.send threw; the player keeps going (the first error is kept). */
  sendErrors: number;
  /** Packets sent again because a NACK asked for them (not in `packets`). */
  retransmissions: number;
  /** PLI/FIR about this stream that were answered with a keyframe. */
  keyframeRequests: number;
}

export interface MediaPlayerOptions {
  /** Start again from the top at the end of the clip. Default true. */
  loop?: boolean;
  /** Called for every packet after it was sent. Keep it cheap: it runs on the pacing path. */
  onSent?: (packet: SentPacket) => void;
  /**
   * If the event loop stalls for longer than this, the player resumes from now instead of
   * bursting every overdue frame at once. Default 500 ms.
   */
  maxCatchUpMs?: number;
  /** Header extensions to write into every packet (the mid, where the stack does not add it). Default none. */
  extensions?: readonly HeaderExtension[];
}

/** Packets kept for retransmission: 2 s of the clip's video (~300 kbit/s, 1200-byte packets). */
const HISTORY_SIZE = 512;

export class MediaPlayer {
  readonly target: RtpTarget;
  readonly clip: MediaClip;
  readonly stats: MediaPlayerStats = { packets: 0, bytes: 0, frames: 0, loops: 0, sendErrors: 0, retransmissions: 0, keyframeRequests: 0 };
  firstSendError: unknown;

  readonly #writer: RtpStreamWriter;
  readonly #vp8: Vp8Packetizer | undefined;
  readonly #loop: boolean;
  readonly #onSent: ((packet: SentPacket) => void) | undefined;
  readonly #maxCatchUpMs: number;
  /** Sequence number → performance.now() at send. 16-bit keys, so it never outgrows 65536 entries. */
  readonly #sendTimes = new Map<number, number>();
  /** The last HISTORY_SIZE packets written, at sequence % HISTORY_SIZE, for NACKs. */
  readonly #history: Array<{ sequence: number; packet: Buffer } | undefined> = new Array(HISTORY_SIZE);
  /** Pending holdBack() requests: the next packets written are kept but not sent. */
  readonly #holdBacks: Array<(sequence: number) => void> = [];

  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #finished = false;
  /** Wall-clock ms at which media time 0 is due. */
  #clockStart = 0;
  /** Index of the next frame in the clip. */
  #frameIndex = 0;
  /** Media time (clock units) of clip time 0 in the current pass. */
  #passStart = 0;

  constructor(target: RtpTarget, clip: MediaClip, options: MediaPlayerOptions = {}) {
    if (target.kind !== clip.kind) {
      throw new TypeError(`cannot play a ${clip.kind} clip into a ${target.kind} leg`);
    }
    this.target = target;
    this.clip = clip;
    this.#writer = new RtpStreamWriter({ payloadType: target.payloadType, ssrc: target.ssrc, extensions: options.extensions });
    this.#vp8 = clip.kind === 'video' ? new Vp8Packetizer() : undefined;
    this.#loop = options.loop ?? true;
    this.#onSent = options.onSent;
    this.#maxCatchUpMs = options.maxCatchUpMs ?? 500;
  }

  get running(): boolean {
    return this.#running;
  }

  /** True once a non-looping player has sent the whole clip. */
  get finished(): boolean {
    return this.#finished;
  }

  /** When the packet with this sequence number was sent (performance.now() ms), if it was. */
  sendTimeOf(sequence: number): number | undefined {
    return this.#sendTimes.get(sequence);
  }

  /** Starts (or resumes) sending; the first frame goes out at once. Idempotent. */
  start(): void {
    if (this.#running || this.#finished) return;
    this.#running = true;
    this.#clockStart = performance.now() - this.#msOf(this.#nextMediaTime());
    this.#tick();
  }

  /** Stops sending and clears the pending timer. Idempotent; start() resumes. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Answers a PLI/FIR: a clip cannot encode a fresh keyframe, so the player jumps to the
   * clip's most recent keyframe at or before the current position and continues from
   * there, with timestamps still moving forward. No-op for audio.
   */
  requestKeyframe(): void {
    if (this.clip.kind !== 'video') return;
    const frames = this.clip.frames;
    let k = Math.min(this.#frameIndex, frames.length - 1);
    while (k > 0 && !frames[k]!.keyframe) k--;
    if (k === this.#frameIndex) return; // the next frame already is a keyframe
    const due = this.#nextMediaTime();
    this.#frameIndex = k;
    this.#passStart = due - frames[k]!.mediaTime;
  }

  /**
   * RTCP from the leg: a PLI/FIR about our SSRC makes the next frame a keyframe, a generic NACK
   * about it sends the packets it names again, unchanged (same sequence number: no RTX), from
   * the history. Anything else is ignored. Returns the sequence numbers sent again.
   */
  handleRtcp(rtcp: Buffer): number[] {
    const ssrc = this.target.ssrc >>> 0;
    if (keyframeRequestTargets(rtcp).includes(ssrc)) {
      this.stats.keyframeRequests++;
      this.requestKeyframe();
    }
    const resent: number[] = [];
    for (const nack of genericNacks(rtcp)) {
      if (nack.mediaSsrc !== ssrc) continue;
      for (const sequence of nack.sequences) {
        const kept = this.#history[sequence % HISTORY_SIZE];
        if (kept?.sequence !== sequence) continue; // too old, or never written
        try {
          this.target.send(kept.packet);
        } catch (err) {
          if (this.stats.sendErrors++ === 0) this.firstSendError = err;
          continue;
        }
        this.stats.retransmissions++;
        resent.push(sequence);
      }
    }
    return resent;
  }

  /**
   * Writes the next packet into the history without sending it, as if the network lost it on
   * the way out, and resolves with its sequence number: a NACK for it gets it sent. For tests
   * of loss recovery; the caller bounds the wait (it resolves only while the player runs).
   */
  holdBackNext(): Promise<number> {
    return new Promise((resolve) => this.#holdBacks.push(resolve));
  }

  #nextMediaTime(): number {
    const frame = this.clip.frames[this.#frameIndex];
    return this.#passStart + (frame === undefined ? this.clip.duration : frame.mediaTime);
  }

  #msOf(mediaTime: number): number {
    return (mediaTime * 1000) / this.clip.clockRate;
  }

  #tick(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    let now = performance.now();
    if (now - (this.#clockStart + this.#msOf(this.#nextMediaTime())) > this.#maxCatchUpMs) {
      // We were starved (a blocked event loop, a suspended laptop): resume from now.
      this.#clockStart = now - this.#msOf(this.#nextMediaTime());
    }
    while (this.#running && this.#clockStart + this.#msOf(this.#nextMediaTime()) <= now) {
      this.#sendFrame();
      if (this.#frameIndex >= this.clip.frames.length) {
        this.stats.loops++;
        if (!this.#loop) {
          this.#finished = true;
          this.stop();
          return;
        }
        this.#passStart += this.clip.duration;
        this.#frameIndex = 0;
      }
      now = performance.now();
    }
    if (!this.#running) return; // target.send or onSent may have called stop()
    const wait = Math.max(0, this.#clockStart + this.#msOf(this.#nextMediaTime()) - now);
    this.#timer = setTimeout(() => this.#tick(), wait);
  }

  #sendFrame(): void {
    const frame = this.clip.frames[this.#frameIndex]!;
    const mediaTime = this.#passStart + frame.mediaTime;
    this.#frameIndex++;
    const payloads = this.#vp8 !== undefined ? this.#vp8.packetize(frame.data) : [packetizeOpus(frame.data)];
    for (const { payload, marker } of payloads) {
      const { packet, sequence, timestamp } = this.#writer.write(payload, mediaTime, marker);
      this.#history[sequence % HISTORY_SIZE] = { sequence, packet };
      const heldBack = this.#holdBacks.shift();
      if (heldBack) {
        heldBack(sequence);
        continue;
      }
      const sentAt = performance.now();
      try {
        this.target.send(packet);
      } catch (err) {
        if (this.stats.sendErrors++ === 0) this.firstSendError = err;
        continue;
      }
      this.#sendTimes.set(sequence, sentAt);
      this.stats.packets++;
      this.stats.bytes += packet.length;
      this.#onSent?.({ sequence, timestamp, marker, size: packet.length, sentAt });
    }
    this.stats.frames++;
  }
}

/** A player for a leg, on the shipped clip of the leg's kind (loaded once per process). */
export async function createMediaPlayer(target: RtpTarget, options: MediaPlayerOptions = {}): Promise<MediaPlayer> {
  return new MediaPlayer(target, await loadClip(target.kind), options);
}
