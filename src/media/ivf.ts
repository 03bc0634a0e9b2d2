/**
 * Reads the IVF container libvpx writes: a 32-byte file header, then per frame a 12-byte
 * header (size, 64-bit timestamp) and the raw VP8 frame. All integers are little-endian.
 * Layout as written by libvpx `ivfenc.c` and FFmpeg `ivfenc.c` (no RFC describes IVF).
 */

export interface IvfHeader {
  /** FourCC of the codec, `VP80` for VP8. */
  fourcc: string;
  width: number;
  height: number;
  /** Frame timestamps count in units of `timebaseNumerator / timebaseDenominator` seconds. */
  timebaseNumerator: number;
  timebaseDenominator: number;
  /** Frame count the header claims; FFmpeg writes it, some muxers leave 0. */
  declaredFrameCount: number;
}

export interface IvfFrame {
  /** Presentation timestamp in the header's timebase. */
  timestamp: bigint;
  /** The same timestamp in seconds. */
  seconds: number;
  /** A VP8 keyframe (RFC 6386 §9.1: bit 0 of the frame tag is 0 on keyframes). */
  keyframe: boolean;
  data: Buffer;
}

export interface IvfFile {
  header: IvfHeader;
  frames: IvfFrame[];
}

const FILE_HEADER_MIN = 32;
const FRAME_HEADER = 12;

export function parseIvf(file: Buffer): IvfFile {
  if (file.length < FILE_HEADER_MIN || file.toString('latin1', 0, 4) !== 'DKIF') {
    throw new Error('not an IVF file: missing DKIF signature');
  }
  const headerLength = file.readUInt16LE(6);
  const header: IvfHeader = {
    fourcc: file.toString('latin1', 8, 12),
    width: file.readUInt16LE(12),
    height: file.readUInt16LE(14),
    timebaseDenominator: file.readUInt32LE(16),
    timebaseNumerator: file.readUInt32LE(20),
    declaredFrameCount: file.readUInt32LE(24),
  };
  if (header.timebaseDenominator === 0 || header.timebaseNumerator === 0) {
    throw new Error('IVF header has a zero timebase');
  }

  const frames: IvfFrame[] = [];
  let offset = Math.max(headerLength, FILE_HEADER_MIN);
  while (offset + FRAME_HEADER <= file.length) {
    const size = file.readUInt32LE(offset);
    const timestamp = file.readBigUInt64LE(offset + 4);
    const start = offset + FRAME_HEADER;
    if (start + size > file.length) {
      throw new Error(`IVF frame ${frames.length} is truncated [offset:${offset}, size:${size}]`);
    }
    const data = file.subarray(start, start + size);
    frames.push({
      timestamp,
      seconds: (Number(timestamp) * header.timebaseNumerator) / header.timebaseDenominator,
      keyframe: isVp8Keyframe(data),
      data,
    });
    offset = start + size;
  }
  return { header, frames };
}

/** RFC 6386 §9.1: the frame tag's lowest bit is 0 for a keyframe, 1 for an interframe. */
export function isVp8Keyframe(frame: Uint8Array): boolean {
  return frame.length > 0 && (frame[0]! & 0x01) === 0;
}
