/**
 * Keyframe requests in RTCP: Picture Loss Indication (RFC 4585 §6.3.1, PT 206 FMT 1) and
 * Full Intra Request (RFC 5104 §4.3.1, PT 206 FMT 4). The echo server relays them from the
 * echoed stream to the client's own sender, so an echoed video starts on the next keyframe.
 */

const PSFB = 206;
const FMT_PLI = 1;
const FMT_FIR = 4;

/** The media SSRCs that the keyframe requests inside a (compound) RTCP packet are about. */
export function keyframeRequestTargets(rtcp: Uint8Array): number[] {
  const targets: number[] = [];
  let offset = 0;
  while (offset + 4 <= rtcp.length) {
    const fmt = rtcp[offset]! & 0x1f;
    const pt = rtcp[offset + 1]!;
    const length = (((rtcp[offset + 2]! << 8) | rtcp[offset + 3]!) + 1) * 4;
    if (length < 4 || offset + length > rtcp.length) break;
    if (pt === PSFB && fmt === FMT_PLI && length >= 12) {
      targets.push(readUint32(rtcp, offset + 8));
    } else if (pt === PSFB && fmt === FMT_FIR) {
      // FIR names its targets in FCI entries of 8 bytes each, after the common header and sender SSRC.
      for (let fci = offset + 12; fci + 8 <= offset + length; fci += 8) targets.push(readUint32(rtcp, fci));
    }
    offset += length;
  }
  return targets;
}

/** A standalone PLI from `senderSsrc` about `mediaSsrc`. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x80 | FMT_PLI;
  packet[1] = PSFB;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

const BYE = 203;

/** The SSRCs that BYE packets (RFC 3550 §6.6) inside a (compound) RTCP packet say goodbye for. */
export function byeSources(rtcp: Uint8Array): number[] {
  const sources: number[] = [];
  let offset = 0;
  while (offset + 4 <= rtcp.length) {
    const count = rtcp[offset]! & 0x1f;
    const length = (((rtcp[offset + 2]! << 8) | rtcp[offset + 3]!) + 1) * 4;
    if (offset + length > rtcp.length) break;
    if (rtcp[offset + 1] === BYE) {
      for (let i = 0; i < count && offset + 8 + i * 4 <= offset + length; i++) sources.push(readUint32(rtcp, offset + 4 + i * 4));
    }
    offset += length;
  }
  return sources;
}

/** A BYE for one source: what a sender says when it stops for good, so the other side can let go. */
export function buildBye(ssrc: number): Buffer {
  const packet = Buffer.alloc(8);
  packet[0] = 0x81;
  packet[1] = BYE;
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  return packet;
}

const RTPFB = 205;

/**
 * For one feedback packet (RTPFB 205 or PSFB 206, RFC 4585 §6.1): the media SSRC it is about
 * (FIR names it in its first FCI entry, RFC 5104 §4.3.1). Undefined for any other RTCP.
 */
export function rtcpFeedbackMediaSsrc(rtcp: Uint8Array): number | undefined {
  if (rtcp.length < 12) return undefined;
  const pt = rtcp[1];
  if (pt === PSFB && (rtcp[0]! & 0x1f) === FMT_FIR) return rtcp.length >= 16 ? readUint32(rtcp, 12) : undefined;
  return pt === RTPFB || pt === PSFB ? readUint32(rtcp, 8) : undefined;
}
