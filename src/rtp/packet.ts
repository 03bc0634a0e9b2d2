/**
 * The few RTP/RTCP header fields the echo path touches, read and written in place.
 * Hand-written on purpose: it runs once per echoed packet and must not allocate.
 * RFC 3550 §5.1 (RTP header), §6.4 (RTCP), RFC 5761 §4 (telling RTP from RTCP on one port).
 */

export const RTP_HEADER_MIN = 12;

/** RTCP packet types occupy 192..223 in the second byte when RTP and RTCP share a port (RFC 5761). */
export function isRtcp(packet: Uint8Array): boolean {
  if (packet.length < 4) return false;
  const pt = packet[1]!;
  return pt >= 192 && pt <= 223;
}

export function isRtp(packet: Uint8Array): boolean {
  return packet.length >= RTP_HEADER_MIN && packet[0]! >> 6 === 2 && !isRtcp(packet);
}

export function rtpPayloadType(packet: Uint8Array): number {
  return packet[1]! & 0x7f;
}

export function rtpSequenceNumber(packet: Uint8Array): number {
  return (packet[2]! << 8) | packet[3]!;
}

export function rtpTimestamp(packet: Uint8Array): number {
  return ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0;
}

export function rtpSsrc(packet: Uint8Array): number {
  return ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0;
}

export function setRtpSsrc(packet: Uint8Array, ssrc: number): void {
  packet[8] = ssrc >>> 24;
  packet[9] = (ssrc >>> 16) & 0xff;
  packet[10] = (ssrc >>> 8) & 0xff;
  packet[11] = ssrc & 0xff;
}

/** A random non-zero 32-bit SSRC. */
export function randomSsrc(): number {
  return (Math.floor(Math.random() * 0xfffffffe) + 1) >>> 0;
}
