/** Builds Ogg pages by hand (RFC 3533 §6), so tests can lay packets out across pages at will. */
import { oggCrc } from '../../src/media/ogg-opus.js';

export interface PageSpec {
  /** Bytes of the page body, split at lacing boundaries by `segments`. */
  segments: number[];
  body: Buffer;
  continued?: boolean;
  first?: boolean;
  serial?: number;
}

export function oggPage(spec: PageSpec, sequence: number): Buffer {
  const header = Buffer.alloc(27 + spec.segments.length);
  header.write('OggS', 0, 'latin1');
  header[5] = (spec.continued ? 0x01 : 0) | (spec.first ? 0x02 : 0);
  header.writeBigInt64LE(-1n, 6); // no packet ends here is fine for a reader that ignores granules
  header.writeUInt32LE(spec.serial ?? 0x1234, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = spec.segments.length;
  Buffer.from(spec.segments).copy(header, 27);
  const page = Buffer.concat([header, spec.body]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** Lacing values for one whole packet of `length` bytes (a final value below 255, maybe 0). */
export function lacing(length: number): number[] {
  return [...Array<number>(Math.floor(length / 255)).fill(255), length % 255];
}

export function opusHead(): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // channels
  head.writeUInt16LE(312, 10);
  head.writeUInt32LE(48000, 12);
  return head;
}

export function opusTags(padding = 0): Buffer {
  const vendor = Buffer.from('test');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4 + padding);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  return tags;
}

/** A 20 ms CELT fullband mono packet (TOC config 31, code 0) of `length` bytes, filled with `fill`. */
export function opusPacket(length: number, fill: number): Buffer {
  const packet = Buffer.alloc(length, fill);
  packet[0] = (31 << 3) | 0;
  return packet;
}
