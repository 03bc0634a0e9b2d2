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

const FMT_NACK = 1;

/** One generic NACK (RFC 4585 §6.2.1, PT 205 FMT 1): the sequence numbers its sender lost of `mediaSsrc`. */
export interface GenericNack {
  senderSsrc: number;
  mediaSsrc: number;
  sequences: number[];
}

/** Every generic NACK inside a (compound) RTCP packet, each FCI (PID + BLP) expanded into sequence numbers. */
export function genericNacks(rtcp: Uint8Array): GenericNack[] {
  const nacks: GenericNack[] = [];
  let offset = 0;
  while (offset + 4 <= rtcp.length) {
    const length = (((rtcp[offset + 2]! << 8) | rtcp[offset + 3]!) + 1) * 4;
    if (offset + length > rtcp.length) break;
    if (rtcp[offset + 1] === RTPFB && (rtcp[offset]! & 0x1f) === FMT_NACK && length >= 16) {
      const sequences: number[] = [];
      for (let fci = offset + 12; fci + 4 <= offset + length; fci += 4) {
        const pid = (rtcp[fci]! << 8) | rtcp[fci + 1]!;
        const blp = (rtcp[fci + 2]! << 8) | rtcp[fci + 3]!;
        sequences.push(pid);
        // BLP bit i set: packet PID+i+1 is lost too.
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) sequences.push((pid + bit + 1) & 0xffff);
      }
      nacks.push({ senderSsrc: readUint32(rtcp, offset + 4), mediaSsrc: readUint32(rtcp, offset + 8), sequences });
    }
    offset += length;
  }
  return nacks;
}

/**
 * A generic NACK from `senderSsrc` about `mediaSsrc` for these sequence numbers, packed as
 * few FCI entries as RFC 4585 §6.2.1 allows (each: a PID and a bitmask of the 16 after it).
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, sequences: readonly number[]): Buffer {
  if (sequences.length === 0) throw new RangeError('a NACK names at least one sequence number');
  const fcis: Array<{ pid: number; blp: number }> = [];
  for (const sequence of [...new Set(sequences.map((s) => s & 0xffff))]) {
    const entry = fcis.find((f) => {
      const distance = (sequence - f.pid) & 0xffff;
      return distance >= 1 && distance <= 16;
    });
    if (entry) entry.blp |= 1 << (((sequence - entry.pid) & 0xffff) - 1);
    else fcis.push({ pid: sequence, blp: 0 });
  }
  const packet = Buffer.alloc(12 + fcis.length * 4);
  packet[0] = 0x80 | FMT_NACK;
  packet[1] = RTPFB;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  fcis.forEach(({ pid, blp }, i) => {
    packet.writeUInt16BE(pid, 12 + i * 4);
    packet.writeUInt16BE(blp, 14 + i * 4);
  });
  return packet;
}

/**
 * For an echo server that keeps sequence numbers: the NACKs in `rtcp` about the echo stream
 * (`echoSsrc`), as one NACK from the echo about the client's own stream (`clientSsrc`), for the
 * same sequence numbers; undefined when `rtcp` asks nothing of the echo stream.
 */
export function relayedNack(rtcp: Uint8Array, echoSsrc: number, clientSsrc: number): Buffer | undefined {
  const lost = genericNacks(rtcp).filter((n) => n.mediaSsrc === echoSsrc >>> 0).flatMap((n) => n.sequences);
  return lost.length > 0 ? buildNack(echoSsrc, clientSsrc, lost) : undefined;
}
