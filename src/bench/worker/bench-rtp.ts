/**
 * The bench's RTP packets: a valid RTP header (the leg's payload type and SSRC, sequence
 * number = packet index mod 2^16) and a payload that starts with a magic word and the
 * 32-bit packet index, so an echo is matched exactly even by a server that rewrites the header.
 */
export const RTP_MAGIC = 0x42454e43; // "BENC"
export const BENCH_HEADER = 12;

/**
 * Writes header and index into `packet` in place: no allocation per packet. The timestamp is the
 * send time on the 90 kHz video clock, as a real sender stamps its packets.
 */
export function writeBenchRtp(packet: Buffer, payloadType: number, ssrc: number, index: number, nowMs = performance.now()): void {
  packet[0] = 0x80; // V=2, no padding, no extension, no CSRC
  packet[1] = payloadType & 0x7f;
  packet.writeUInt16BE(index & 0xffff, 2);
  packet.writeUInt32BE(Math.floor(nowMs * 90) >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  packet.writeUInt32BE(RTP_MAGIC, 12);
  packet.writeUInt32BE(index >>> 0, 16);
}

/** The index of a bench packet, or -1 for anything else. */
export function benchIndexOf(packet: Buffer): number {
  const at = payloadOffset(packet);
  if (at < 0 || packet.length < at + 8 || packet.readUInt32BE(at) !== RTP_MAGIC) return -1;
  return packet.readUInt32BE(at + 4);
}

/** Where the payload starts: after the CSRCs and a header extension a server may have added (RFC 3550 §5.3.1). */
function payloadOffset(packet: Buffer): number {
  if (packet.length < 12) return -1;
  let at = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < at + 4) return -1;
    at += 4 + 4 * packet.readUInt16BE(at + 2);
  }
  return at;
}
