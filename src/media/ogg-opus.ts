/**
 * Reads Opus packets out of an Ogg file (RFC 3533 pages, RFC 7845 Opus mapping).
 *
 * A page carries a table of lacing values: a packet is the run of segments up to and
 * including the first value below 255, and a packet whose last value is 255 continues on
 * the next page. The first two packets of the stream are the OpusHead and OpusTags headers
 * (OpusTags may span pages); every packet after them is one Opus packet (RFC 7845 §3).
 */
import { parseOpusToc } from './opus-toc.js';

export interface OpusHead {
  channels: number;
  /** Samples at 48 kHz a decoder discards at the start (RFC 7845 §5.1). */
  preSkip: number;
  /** The encoder's input rate, informational only; Opus always plays at 48 kHz. */
  inputSampleRate: number;
}

export interface OggOpusFile {
  head: OpusHead;
  /** Opus packets in stream order, headers excluded. */
  packets: Buffer[];
}

interface OggPage {
  headerType: number;
  serial: number;
  segments: number[];
  body: Buffer;
}

const PAGE_HEADER = 27;
const CONTINUED = 0x01;

export function parseOggOpus(file: Buffer): OggOpusFile {
  let serial: number | undefined;
  let head: OpusHead | undefined;
  let sawTags = false;
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];

  for (const page of readPages(file)) {
    // The first logical stream whose first packet is OpusHead is ours; others are skipped.
    if (serial === undefined) {
      if (page.body.subarray(0, 8).toString('latin1') !== 'OpusHead') continue;
      serial = page.serial;
    }
    if (page.serial !== serial) continue;
    // A continued page with nothing pending means we joined mid-packet: drop the fragment.
    let dropFragment = (page.headerType & CONTINUED) !== 0 && pending.length === 0;
    if ((page.headerType & CONTINUED) === 0 && pending.length > 0) {
      throw new Error('Ogg page starts a new packet while the previous one is unfinished');
    }

    let offset = 0;
    let runStart = 0;
    for (const lacing of page.segments) {
      offset += lacing;
      if (lacing === 255) continue;
      const piece = page.body.subarray(runStart, offset);
      runStart = offset;
      if (dropFragment) {
        dropFragment = false;
        continue;
      }
      const packet = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      if (head === undefined) head = parseOpusHead(packet);
      else if (!sawTags) {
        if (packet.subarray(0, 8).toString('latin1') !== 'OpusTags') {
          throw new Error('Ogg Opus stream: second packet is not OpusTags');
        }
        sawTags = true;
      } else {
        parseOpusToc(packet); // throws on a packet no decoder would accept
        packets.push(packet);
      }
    }
    // Segments ending in 255 belong to a packet that continues on the next page.
    if (runStart < offset && !dropFragment) pending.push(page.body.subarray(runStart, offset));
  }

  if (head === undefined) throw new Error('no Ogg Opus stream found (no OpusHead)');
  if (!sawTags) throw new Error('Ogg Opus stream ends before its OpusTags header');
  return { head, packets };
}

function parseOpusHead(packet: Buffer): OpusHead {
  if (packet.length < 19 || packet.toString('latin1', 0, 8) !== 'OpusHead') {
    throw new Error('Ogg Opus stream: first packet is not a valid OpusHead');
  }
  // RFC 7845 §5.1: only the major version (upper nibble) must match.
  if (packet[8]! >> 4 !== 0) throw new Error(`unsupported OpusHead version ${packet[8]}`);
  return {
    channels: packet[9]!,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
  };
}

function* readPages(file: Buffer): Generator<OggPage> {
  let offset = 0;
  while (offset < file.length) {
    if (offset + PAGE_HEADER > file.length || file.toString('latin1', offset, offset + 4) !== 'OggS') {
      throw new Error(`Ogg capture pattern missing [offset:${offset}]`);
    }
    if (file[offset + 4] !== 0) throw new Error(`unsupported Ogg version ${file[offset + 4]}`);
    const segmentCount = file[offset + 26]!;
    const tableEnd = offset + PAGE_HEADER + segmentCount;
    if (tableEnd > file.length) throw new Error(`Ogg page header is truncated [offset:${offset}]`);
    const segments = [...file.subarray(offset + PAGE_HEADER, tableEnd)];
    const bodyLength = segments.reduce((sum, lacing) => sum + lacing, 0);
    const pageEnd = tableEnd + bodyLength;
    if (pageEnd > file.length) throw new Error(`Ogg page body is truncated [offset:${offset}]`);
    const stored = file.readUInt32LE(offset + 22);
    if (oggCrc(file.subarray(offset, pageEnd), 22) !== stored) {
      throw new Error(`Ogg page checksum mismatch [offset:${offset}]`);
    }
    yield {
      headerType: file[offset + 5]!,
      serial: file.readUInt32LE(offset + 14),
      segments,
      body: file.subarray(tableEnd, pageEnd),
    };
    offset = pageEnd;
  }
}

/** RFC 3533 §6: CRC-32, polynomial 0x04c11db7, no reflection, zero init; the CRC field counts as zero. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** The page checksum, computed with the 4 bytes at `crcOffset` taken as zero. */
export function oggCrc(page: Uint8Array, crcOffset = 22): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= crcOffset && i < crcOffset + 4 ? 0 : page[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}
