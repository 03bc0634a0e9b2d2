/**
 * RTP payloads for Opus (RFC 7587 §4.2): one Opus packet per RTP packet, no extra header.
 * The timestamp runs at 48 kHz whatever the actual sample rate (RFC 7587 §4.1), and
 * advances by the packet's duration, which the TOC byte tells. The marker bit is only for
 * the first packet after DTX silence (RFC 7587 §4.2); we never use DTX, so it stays 0.
 */
import { opusPacketSamples } from './opus-toc.js';

export { OPUS_CLOCK_RATE } from './opus-toc.js';

export interface OpusPayload {
  payload: Buffer;
  marker: false;
  /** 48 kHz samples this packet plays for. */
  samples: number;
}

export function packetizeOpus(packet: Buffer): OpusPayload {
  return { payload: packet, marker: false, samples: opusPacketSamples(packet) };
}
