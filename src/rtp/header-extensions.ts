/**
 * RTP header extensions (RFC 3550 §5.3.1) in the two forms of RFC 8285: one-byte elements
 * (profile 0xBEDE, ids 1-14, 1-16 bytes each) and two-byte elements (profile 0x100X, ids 1-255,
 * 0-255 bytes each). Read in both forms, written in the one-byte form, which is what browsers
 * send for the mid (RFC 8843 §15: `urn:ietf:params:rtp-hdrext:sdes:mid`).
 */
import { RTP_HEADER_MIN } from './packet.js';

export const MID_EXTENSION_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

const ONE_BYTE_PROFILE = 0xbede;
/** Two-byte elements: 0x100 in the upper 12 bits, "appbits" in the lower 4 (RFC 8285 §4.3). */
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;

export interface HeaderExtension {
  id: number;
  value: Buffer;
}

/** Where the payload of an RTP packet starts: past the CSRC list and the header extension. */
export function rtpPayloadOffset(packet: Uint8Array): number {
  let offset = RTP_HEADER_MIN + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10 && offset + 4 <= packet.length) offset += 4 + ((packet[offset + 2]! << 8) | packet[offset + 3]!) * 4;
  return offset;
}

/** The payload of an RTP packet, without its header, extension and padding (RFC 3550 §5.1 P bit). */
export function rtpPayloadOf(packet: Buffer): Buffer {
  const offset = rtpPayloadOffset(packet);
  const padding = packet[0]! & 0x20 && packet.length > offset ? packet[packet.length - 1]! : 0;
  return packet.subarray(Math.min(offset, packet.length), Math.max(offset, packet.length - padding));
}

/** Every header extension element of an RTP packet, in order; [] when it has none or they do not parse. */
export function rtpHeaderExtensions(packet: Buffer): HeaderExtension[] {
  if (packet.length < RTP_HEADER_MIN || !(packet[0]! & 0x10)) return [];
  const start = RTP_HEADER_MIN + (packet[0]! & 0x0f) * 4;
  if (start + 4 > packet.length) return [];
  const profile = packet.readUInt16BE(start);
  const end = start + 4 + packet.readUInt16BE(start + 2) * 4;
  if (end > packet.length) return [];
  const elements: HeaderExtension[] = [];
  let at = start + 4;
  if (profile === ONE_BYTE_PROFILE) {
    while (at < end) {
      const byte = packet[at]!;
      if (byte === 0) {
        at++; // padding between elements
        continue;
      }
      const id = byte >> 4;
      if (id === 15) break; // RFC 8285 §4.2: stop reading here
      const length = (byte & 0x0f) + 1;
      if (at + 1 + length > end) return [];
      elements.push({ id, value: packet.subarray(at + 1, at + 1 + length) });
      at += 1 + length;
    }
  } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    while (at < end) {
      const id = packet[at]!;
      if (id === 0) {
        at++;
        continue;
      }
      if (at + 2 > end) return [];
      const length = packet[at + 1]!;
      if (at + 2 + length > end) return [];
      elements.push({ id, value: packet.subarray(at + 2, at + 2 + length) });
      at += 2 + length;
    }
  }
  return elements;
}

/** The value of extension `id` in an RTP packet, if it carries one. */
export function rtpHeaderExtension(packet: Buffer, id: number): Buffer | undefined {
  return rtpHeaderExtensions(packet).find((e) => e.id === id)?.value;
}

/**
 * The extension block (profile, length, elements, zero padding to 32 bits) for one-byte
 * elements, ready to follow the fixed header of a packet whose X bit is set.
 */
export function oneByteExtensionBlock(elements: readonly HeaderExtension[]): Buffer {
  let size = 0;
  for (const { id, value } of elements) {
    if (!Number.isInteger(id) || id < 1 || id > 14) throw new RangeError(`one-byte header extension ids are 1-14, not ${id}`);
    if (value.length < 1 || value.length > 16) throw new RangeError(`one-byte header extension values are 1-16 bytes, not ${value.length}`);
    size += 1 + value.length;
  }
  const words = Math.ceil(size / 4);
  const block = Buffer.alloc(4 + words * 4);
  block.writeUInt16BE(ONE_BYTE_PROFILE, 0);
  block.writeUInt16BE(words, 2);
  let at = 4;
  for (const { id, value } of elements) {
    block[at] = (id << 4) | (value.length - 1);
    value.copy(block, at + 1);
    at += 1 + value.length;
  }
  return block;
}
