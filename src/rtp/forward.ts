/**
 * A publisher's RTP packet as one viewer receives it (WHEP playback): the payload type the
 * viewer negotiated for the codec, the SSRC its answer announced, and the header extensions
 * replaced by the viewer's own (the mid, or none). Sequence numbers, timestamps, the marker,
 * CSRCs, payload and padding stay as the publisher sent them.
 *
 * Extensions are rewritten rather than kept: the ids are the publisher's negotiation, and the
 * same id can mean another extension to the viewer (a mid read as audio level, or the other way).
 */
import { rtpPayloadOffset } from './header-extensions.js';
import { RTP_HEADER_MIN } from './packet.js';

/**
 * A new packet for one viewer; `extensions` is a whole extension block (oneByteExtensionBlock)
 * or undefined for none. Undefined when the packet's header does not fit in it.
 */
export function forwardedPacket(packet: Buffer, payloadType: number, ssrc: number, extensions: Buffer | undefined): Buffer | undefined {
  const fixed = RTP_HEADER_MIN + (packet[0]! & 0x0f) * 4;
  const payloadAt = rtpPayloadOffset(packet);
  if (fixed > packet.length || payloadAt > packet.length) return undefined;
  const extensionLength = extensions?.length ?? 0;
  const out = Buffer.allocUnsafe(fixed + extensionLength + packet.length - payloadAt);
  packet.copy(out, 0, 0, fixed);
  out[0] = extensions ? out[0]! | 0x10 : out[0]! & ~0x10;
  out[1] = (packet[1]! & 0x80) | (payloadType & 0x7f);
  out.writeUInt32BE(ssrc >>> 0, 8);
  extensions?.copy(out, fixed);
  packet.copy(out, fixed + extensionLength, payloadAt);
  return out;
}
