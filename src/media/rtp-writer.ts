/**
 * Writes the RTP fixed header (RFC 3550 §5.1) for one outgoing stream: version 2, no
 * padding, no CSRCs, and header extensions only when the stream has some (RFC 8285 one-byte
 * form: the mid a browser writes in every packet, RFC 8843 §15). The first sequence number
 * and timestamp are random, as RFC 3550 §5.1 asks, so every session starts somewhere different.
 */
import { randomInt } from 'node:crypto';
import { oneByteExtensionBlock, type HeaderExtension } from '../rtp/header-extensions.js';
import { RTP_HEADER_MIN } from '../rtp/packet.js';

export interface RtpStreamOptions {
  payloadType: number;
  ssrc: number;
  /** First sequence number. Default: random. */
  initialSequence?: number;
  /** RTP timestamp of media time zero. Default: random. */
  initialTimestamp?: number;
  /** Header extensions written, unchanged, into every packet (ids as negotiated). Default none. */
  extensions?: readonly HeaderExtension[];
}

export interface WrittenRtp {
  packet: Buffer;
  sequence: number;
  timestamp: number;
}

export class RtpStreamWriter {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly initialTimestamp: number;
  /** The extension block after the fixed header, or an empty buffer. */
  readonly #extensionBlock: Buffer;
  #nextSequence: number;

  constructor(options: RtpStreamOptions) {
    if (!Number.isInteger(options.payloadType) || options.payloadType < 0 || options.payloadType > 127) {
      throw new TypeError(`RTP payload type must be 0..127 [payloadType:${options.payloadType}]`);
    }
    this.payloadType = options.payloadType;
    this.ssrc = options.ssrc >>> 0;
    this.#nextSequence = (options.initialSequence ?? randomInt(0x10000)) & 0xffff;
    this.initialTimestamp = (options.initialTimestamp ?? randomInt(0x100000000)) >>> 0;
    this.#extensionBlock = options.extensions?.length ? oneByteExtensionBlock(options.extensions) : Buffer.alloc(0);
  }

  /** The sequence number the next write() will use. */
  get nextSequence(): number {
    return this.#nextSequence;
  }

  /**
   * One packet: header + payload, in a fresh buffer the caller may hand to a stack.
   * @param mediaTime clock-rate units since the stream's start; wraps like RTP timestamps do.
   */
  write(payload: Uint8Array, mediaTime: number, marker: boolean): WrittenRtp {
    const sequence = this.#nextSequence;
    this.#nextSequence = (sequence + 1) & 0xffff;
    const timestamp = (this.initialTimestamp + mediaTime) >>> 0;
    const extensions = this.#extensionBlock;
    const packet = Buffer.allocUnsafe(RTP_HEADER_MIN + extensions.length + payload.length);
    packet[0] = extensions.length > 0 ? 0x90 : 0x80; // V=2, P=0, X when extended, CC=0
    packet[1] = (marker ? 0x80 : 0) | this.payloadType;
    packet.writeUInt16BE(sequence, 2);
    packet.writeUInt32BE(timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    extensions.copy(packet, RTP_HEADER_MIN);
    packet.set(payload, RTP_HEADER_MIN + extensions.length);
    return { packet, sequence, timestamp };
  }
}
