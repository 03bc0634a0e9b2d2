/**
 * The VP8 payload descriptor that starts every VP8 RTP payload (RFC 7741 §4.2).
 *
 *      0 1 2 3 4 5 6 7
 *     +-+-+-+-+-+-+-+-+
 *     |X|R|N|S|R| PID |   X: extension present, N: non-reference, S: start of partition
 *     +-+-+-+-+-+-+-+-+
 *  X: |I|L|T|K| RSV   |   I: PictureID present, L: TL0PICIDX, T: TID, K: KEYIDX
 *     +-+-+-+-+-+-+-+-+
 *  I: |M| PictureID   |   M: 15-bit PictureID (second byte follows)
 *     +-+-+-+-+-+-+-+-+
 *     |   PictureID   |
 *     +-+-+-+-+-+-+-+-+
 *  L: |   TL0PICIDX   |
 *  T/K: |TID|Y| KEYIDX|
 */

export interface Vp8PayloadDescriptor {
  nonReference: boolean;
  /** S: this packet starts a VP8 partition; with partitionIndex 0 it starts a frame. */
  startOfPartition: boolean;
  partitionIndex: number;
  /** 7- or 15-bit picture ID, if present. */
  pictureId?: number;
  pictureIdBits?: 7 | 15;
  tl0PicIdx?: number;
  temporalLayer?: number;
  layerSync?: boolean;
  keyIndex?: number;
  /** Bytes the descriptor occupies; the VP8 data starts here. */
  length: number;
}

/** Descriptor we write: X=1, I=1, M=1 with a 15-bit PictureID, which browsers expect. */
export const VP8_DESCRIPTOR_LENGTH = 4;

export function writeVp8Descriptor(
  target: Uint8Array,
  fields: { startOfFrame: boolean; pictureId: number },
): void {
  target[0] = 0x80 | (fields.startOfFrame ? 0x10 : 0); // X=1, S, PID=0
  target[1] = 0x80; // I=1
  target[2] = 0x80 | ((fields.pictureId >> 8) & 0x7f); // M=1, high 7 bits
  target[3] = fields.pictureId & 0xff;
}

export function parseVp8Descriptor(payload: Uint8Array): Vp8PayloadDescriptor {
  const need = (n: number): void => {
    if (payload.length < n) throw new Error('VP8 payload descriptor is truncated');
  };
  need(1);
  const b0 = payload[0]!;
  const descriptor: Vp8PayloadDescriptor = {
    nonReference: (b0 & 0x20) !== 0,
    startOfPartition: (b0 & 0x10) !== 0,
    partitionIndex: b0 & 0x07,
    length: 1,
  };
  if ((b0 & 0x80) === 0) return descriptor;

  need(2);
  const ext = payload[1]!;
  let offset = 2;
  if (ext & 0x80) {
    need(offset + 1);
    if (payload[offset]! & 0x80) {
      need(offset + 2);
      descriptor.pictureId = ((payload[offset]! & 0x7f) << 8) | payload[offset + 1]!;
      descriptor.pictureIdBits = 15;
      offset += 2;
    } else {
      descriptor.pictureId = payload[offset]! & 0x7f;
      descriptor.pictureIdBits = 7;
      offset += 1;
    }
  }
  if (ext & 0x40) {
    need(offset + 1);
    descriptor.tl0PicIdx = payload[offset]!;
    offset += 1;
  }
  if (ext & 0x30) {
    // T and K share one byte (RFC 7741 §4.2); each field is meaningful only with its bit.
    need(offset + 1);
    const tk = payload[offset]!;
    if (ext & 0x20) {
      descriptor.temporalLayer = tk >> 6;
      descriptor.layerSync = (tk & 0x20) !== 0;
    }
    if (ext & 0x10) descriptor.keyIndex = tk & 0x1f;
    offset += 1;
  }
  descriptor.length = offset;
  return descriptor;
}

/**
 * Whether an RTP payload starts a VP8 key frame: the first packet of a frame (S=1, PID=0) whose
 * VP8 payload header has P=0 (RFC 7741 §4.3: "P: Inverse key frame flag"). False for anything
 * that does not parse.
 */
export function isVp8KeyframeStart(payload: Uint8Array): boolean {
  try {
    const descriptor = parseVp8Descriptor(payload);
    if (!descriptor.startOfPartition || descriptor.partitionIndex !== 0 || payload.length <= descriptor.length) return false;
    return (payload[descriptor.length]! & 0x01) === 0;
  } catch {
    return false;
  }
}
