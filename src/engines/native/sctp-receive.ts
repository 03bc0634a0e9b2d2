/**
 * The SCTP packets that carry only DATA and SACK chunks (all of a data channel echo's traffic once
 * the association is up), taken without werift 0.24's `parsePacket`: that one copies every packet
 * to check its CRC32c in JavaScript and builds a class instance of 14 fields for each chunk, ~10%
 * of the JavaScript thread in a data channel echo (docs/performance.md, "Data channels past the
 * libdatachannel engine's rate"). The plane checks the CRC32c in C++ as it decrypts the record
 * (`sctpChecksumValid` of its `app-data` event); the chunks become the plain fields werift's
 * `receiveDataChunk` and `receiveSackChunk` read, and the rest is werift's `handleData` as it is.
 * Any other packet (INIT, COOKIE-ECHO, FORWARD-TSN, RE-CONFIG, ABORT, a malformed chunk, a
 * checksum the plane did not vouch for) goes through werift's own `handleData`, unchanged.
 */

export const CHUNK_DATA = 0;
const CHUNK_SACK = 3;
const COMMON_HEADER = 12;
/** A DATA chunk's header: type, flags, length, TSN, stream, sequence number, PPID (RFC 9260 §3.3.1). */
export const DATA_HEADER = 16;
const SACK_HEADER = 16;

/**
 * A DATA chunk (RFC 9260 §3.3.1) by the fields werift 0.24 keeps of one: what its
 * `receiveDataChunk` and inbound streams read, and what the bundler writes of those it sends.
 */
export interface DataChunkFields {
  type: typeof CHUNK_DATA;
  flags: number;
  tsn: number;
  streamId: number;
  streamSeqNum: number;
  protocol: number;
  userData: Buffer;
}

/** A SACK chunk (RFC 9260 §3.3.4) as werift's `receiveSackChunk` reads it. */
export interface InboundSack {
  type: typeof CHUNK_SACK;
  flags: number;
  cumulativeTsn: number;
  advertisedRwnd: number;
  gaps: Array<[number, number]>;
  duplicates: number[];
}

export type InboundChunk = DataChunkFields | InboundSack;

/**
 * The chunks of a packet holding DATA and SACK chunks only, each whole; undefined for anything
 * else (werift's own parser then takes it, and throws where it threw).
 */
export function parseDataAndSacks(packet: Buffer): InboundChunk[] | undefined {
  if (packet.length < COMMON_HEADER) return undefined;
  const chunks: InboundChunk[] = [];
  let at = COMMON_HEADER;
  while (at + 4 <= packet.length) {
    const type = packet[at]!;
    const flags = packet[at + 1]!;
    const length = packet.readUInt16BE(at + 2);
    const end = at + length;
    if (end > packet.length) return undefined;
    if (type === CHUNK_DATA) {
      if (length < DATA_HEADER) return undefined;
      chunks.push({
        type,
        flags,
        tsn: packet.readUInt32BE(at + 4),
        streamId: packet.readUInt16BE(at + 8),
        streamSeqNum: packet.readUInt16BE(at + 10),
        protocol: packet.readUInt32BE(at + 12),
        userData: packet.subarray(at + DATA_HEADER, end),
      });
    } else if (type === CHUNK_SACK) {
      if (length < SACK_HEADER) return undefined;
      const gapCount = packet.readUInt16BE(at + 12);
      const duplicateCount = packet.readUInt16BE(at + 14);
      if (SACK_HEADER + 4 * (gapCount + duplicateCount) > length) return undefined;
      const gaps: Array<[number, number]> = [];
      let field = at + SACK_HEADER;
      for (let i = 0; i < gapCount; i++, field += 4) gaps.push([packet.readUInt16BE(field), packet.readUInt16BE(field + 2)]);
      const duplicates: number[] = [];
      for (let i = 0; i < duplicateCount; i++, field += 4) duplicates.push(packet.readUInt32BE(field));
      chunks.push({ type, flags, cumulativeTsn: packet.readUInt32BE(at + 4), advertisedRwnd: packet.readUInt32BE(at + 8), gaps, duplicates });
    } else {
      return undefined;
    }
    // Chunks are padded to 4 bytes (RFC 9260 §3.2); werift's parser steps the same way.
    at = end + ((4 - (length % 4)) % 4);
  }
  return chunks.length > 0 ? chunks : undefined;
}

/** The parts of werift 0.24's SCTP association its `handleData` uses past the parse. */
export interface ReceivingAssociation {
  isStopped: boolean;
  localVerificationTag: number;
  sackNeeded: boolean;
  sackHasNewDataInPacket: boolean;
  sackPacketCount: number;
  sackImmediate: boolean;
  receiveChunk(chunk: InboundChunk): Promise<void>;
  scheduleSack(): Promise<void>;
}

/** werift 0.24's `handleData` past its parse, for a packet `parseDataAndSacks` took (no INIT in it). */
export async function receiveDataAndSacks(association: ReceivingAssociation, verificationTag: number, chunks: InboundChunk[]): Promise<void> {
  if (association.isStopped || verificationTag !== association.localVerificationTag) return;
  association.sackHasNewDataInPacket = false;
  for (const chunk of chunks) await association.receiveChunk(chunk);
  if (association.sackNeeded) {
    if (association.sackHasNewDataInPacket) association.sackPacketCount++;
    if (association.sackPacketCount >= 2) association.sackImmediate = true;
    await association.scheduleSack();
  }
}
