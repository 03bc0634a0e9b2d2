/**
 * Splits VP8 frames into RTP payloads (RFC 7741 §4).
 *
 * We send a whole frame as if it were one partition (PID 0), which RFC 7741 §4.4 allows:
 * the S bit is set on the frame's first packet only, and the receiver reassembles by
 * timestamp and marker. Every payload starts with a 4-byte descriptor carrying a 15-bit
 * PictureID that grows by one per frame; libwebrtc and GStreamer use it to spot lost frames.
 * The RTP marker bit goes on the frame's last packet (RFC 7741 §4.1).
 */
import { randomInt } from 'node:crypto';
import { VP8_DESCRIPTOR_LENGTH, writeVp8Descriptor } from './vp8-payload-descriptor.js';

export const VP8_CLOCK_RATE = 90_000;

export interface Vp8PacketizerOptions {
  /** Largest RTP payload (descriptor + VP8 data) in bytes. Default 1200, safe under any MTU with SRTP and TURN. */
  maxPayloadSize?: number;
  /** PictureID of the first frame. Default: random, 15 bits. */
  initialPictureId?: number;
}

export interface Vp8Payload {
  payload: Buffer;
  /** Set on the last payload of the frame: the RTP marker bit. */
  marker: boolean;
}

export class Vp8Packetizer {
  readonly maxPayloadSize: number;
  #pictureId: number;

  constructor(options: Vp8PacketizerOptions = {}) {
    this.maxPayloadSize = options.maxPayloadSize ?? 1200;
    if (this.maxPayloadSize <= VP8_DESCRIPTOR_LENGTH) {
      throw new TypeError(`maxPayloadSize must exceed the ${VP8_DESCRIPTOR_LENGTH}-byte descriptor`);
    }
    this.#pictureId = (options.initialPictureId ?? randomInt(0x8000)) & 0x7fff;
  }

  /** PictureID the next frame will carry. */
  get nextPictureId(): number {
    return this.#pictureId;
  }

  /** All payloads of one encoded frame, in order. */
  packetize(frame: Uint8Array): Vp8Payload[] {
    if (frame.length === 0) throw new Error('cannot packetize an empty VP8 frame');
    const pictureId = this.#pictureId;
    this.#pictureId = (pictureId + 1) & 0x7fff;

    // Spread the frame evenly over the fewest packets, rather than n full ones and a runt.
    const room = this.maxPayloadSize - VP8_DESCRIPTOR_LENGTH;
    const count = Math.ceil(frame.length / room);
    const base = Math.floor(frame.length / count);
    const larger = frame.length % count; // the first `larger` chunks carry one byte more

    const payloads: Vp8Payload[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const size = base + (i < larger ? 1 : 0);
      const payload = Buffer.allocUnsafe(VP8_DESCRIPTOR_LENGTH + size);
      writeVp8Descriptor(payload, { startOfFrame: i === 0, pictureId });
      payload.set(frame.subarray(offset, offset + size), VP8_DESCRIPTOR_LENGTH);
      offset += size;
      payloads.push({ payload, marker: i === count - 1 });
    }
    return payloads;
  }
}
