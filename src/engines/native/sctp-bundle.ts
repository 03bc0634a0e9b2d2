/**
 * The SCTP chunks werift writes in one turn of the event loop, sent as few packets (RFC 9260
 * §6.10 bundling) in one hand-over to the data plane. werift 0.24 makes a packet of every chunk
 * and sends a SACK for every packet it receives, so each message the echo answered cost two
 * packets back (a SACK, then the echoed DATA), each a DTLS record, a crossing to the data plane
 * (a wake-up of its thread) and a datagram the client has to read; usrsctp and pion put the SACK
 * in front of the DATA. Here the SACK rides in the packet of the DATA that follows it, small DATA
 * chunks share packets up to the size of the largest packet werift makes itself, and the packets
 * of one turn cross to the plane together.
 *
 * Only DATA and SACK wait (until `setImmediate`: after every event of the plane's batch and the
 * promise chains werift runs for each); any other chunk sends what waits and then goes out at
 * once, in a packet of its own, as werift sent it (INIT-ACK and SHUTDOWN-COMPLETE must not be
 * bundled; the ABORT of a close must not wait for a turn the session may not see).
 *
 * One SACK a turn is right for an echo of small messages, not for a client sending a large one or
 * missing data: its congestion window grows by at most one MTU per SACK (RFC 9260 §7.2.1), and it
 * retransmits a hole at the third SACK that reports it (§7.2.4). Collapsed to one a turn, a
 * usrsctp client sent a 256 KiB message in more, smaller rounds and recovered lost chunks by its
 * retransmission timer: under 5% loss our 256 KiB echo took a median 550-670 ms, libdatachannel's
 * 22-33 ms. So, as RFC 9260 §6.2 asks (a SACK for every second packet, and at once for a packet
 * that leaves or fills a gap), a turn that took fragments of a larger message also sends the SACK
 * of every second packet, and any turn the SACKs that report gaps, each its own packet ahead of
 * the rest (docs/performance.md, "Data channels under loss").
 */
import { crc32c } from 'werift';
import { CHUNK_DATA, DATA_HEADER, type DataChunkFields } from './sctp-receive.js';

const CHUNK_SACK = 3;
const COMMON_HEADER = 12;
/** werift's own largest packet: the common header and a DATA chunk of 1,200 bytes of user data (its USERDATA_MAX_LENGTH). */
export const MAX_BUNDLE_BYTES = COMMON_HEADER + 16 + 1_200;

/** What we use of a werift chunk: `bytes` is the whole chunk, padded to 4 bytes. */
export interface SctpChunk {
  type: number;
  readonly bytes: Buffer;
  /** A SACK (sctp-tsn.ts) that reports gap blocks: some of the client's DATA is missing. */
  readonly reportsGaps?: boolean;
}

function isDataChunkFields(chunk: SctpChunk): chunk is SctpChunk & DataChunkFields {
  return chunk.type === CHUNK_DATA && Buffer.isBuffer((chunk as Partial<DataChunkFields>).userData);
}

/** A chunk's bytes in a packet, padded to 4 (RFC 9260 §3.2). */
function paddedLength(chunk: Buffer | DataChunkFields): number {
  return Buffer.isBuffer(chunk) ? chunk.length : (DATA_HEADER + chunk.userData.length + 3) & ~3;
}

/**
 * Writes a chunk at `at` of a packet (padding zeroed) and says how far it reached. A DATA chunk
 * is written from its fields, at the turn's end (they do not change once werift sent it): werift's
 * own `bytes` makes three buffers of each (~5% of the JavaScript thread in a data channel echo).
 */
function writeChunk(chunk: Buffer | DataChunkFields, packet: Buffer, at: number): number {
  if (Buffer.isBuffer(chunk)) return at + chunk.copy(packet, at);
  const length = DATA_HEADER + chunk.userData.length;
  packet[at] = CHUNK_DATA;
  packet[at + 1] = chunk.flags;
  packet.writeUInt16BE(length, at + 2);
  packet.writeUInt32BE(chunk.tsn >>> 0, at + 4);
  packet.writeUInt16BE(chunk.streamId, at + 8);
  packet.writeUInt16BE(chunk.streamSeqNum, at + 10);
  packet.writeUInt32BE(chunk.protocol >>> 0, at + 12);
  chunk.userData.copy(packet, at + DATA_HEADER);
  const end = at + paddedLength(chunk);
  packet.fill(0, at + length, end);
  return end;
}

/** SACKs of one turn sent ahead of its last, at most (a turn takes up to 32 packets: the plane's batch). */
const MAX_EARLIER_SACKS = 16;

interface Waiting {
  type: number;
  /**
   * A SACK's bytes are written when it is bundled: werift makes one for every packet it takes, and
   * all but a turn's last are dropped. A DATA chunk's too, from its fields.
   */
  chunk: Buffer | SctpChunk | DataChunkFields;
  tag: number;
}

export class SctpBundler {
  #waiting: Waiting[] = [];
  #scheduled = false;
  #closed = false;
  /** This turn took a DATA chunk that is not a message's last fragment. */
  #fragmentsThisTurn = false;
  /** SACKs sent that reported gap blocks: data missing, or (a bug) taken out of order. */
  sacksReportingGaps = 0;

  /**
   * @param send hands SCTP packets to DTLS, each one record, in order; false when it cannot now
   *   (lost packets, which SCTP's retransmission covers).
   * @param ports the association's ports, read when a packet is made.
   * @param senderSeals `send` writes each packet's CRC32c (the plane, in C++): leave it zero here.
   */
  constructor(
    private readonly send: (packets: Buffer[]) => boolean,
    private readonly ports: () => { local: number; remote: number },
    private readonly senderSeals = false,
  ) {}

  /** werift's `sendChunk`: a DATA or SACK chunk waits for the end of this turn, any other goes at once. */
  add(chunk: SctpChunk, verificationTag: number): void {
    if (this.#closed) return;
    if (chunk.type !== CHUNK_DATA && chunk.type !== CHUNK_SACK) {
      const packets = this.#bundle();
      packets.push(this.#packet(verificationTag, [chunk.bytes]));
      this.send(packets);
      return;
    }
    // As werift would: a DATA chunk it cannot write (a length past 16 bits) is its sendChunk's rejection.
    let waiting: Buffer | SctpChunk | DataChunkFields = chunk;
    if (chunk.type === CHUNK_DATA) {
      if (!isDataChunkFields(chunk)) waiting = chunk.bytes;
      else if (DATA_HEADER + chunk.userData.length > 0xffff) throw new RangeError(`a DATA chunk of ${chunk.userData.length} bytes`);
    }
    this.#waiting.push({ type: chunk.type, chunk: waiting, tag: verificationTag });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The packet being taken carries part of a message that spans packets (DATA without its E flag). */
  noteFragment(): void {
    this.#fragmentsThisTurn = true;
  }

  /** Sends what waits. */
  flush(): void {
    this.#scheduled = false;
    const packets = this.#bundle();
    if (packets.length > 0) this.send(packets);
  }

  /** Nothing more is sent; what waits is dropped. */
  close(): void {
    this.#closed = true;
    this.#waiting = [];
    this.#fragmentsThisTurn = false;
  }

  /**
   * What waits, as packets. The last SACK reports everything received so far, and it goes first:
   * control chunks before DATA in a packet (RFC 9260 §6.10), and the client hears of our receipt
   * as early as it can. Earlier SACKs are dropped but those the class comment keeps, which go
   * ahead, each alone. DATA keeps werift's order.
   */
  #bundle(): Buffer[] {
    const waiting = this.#waiting;
    if (waiting.length === 0) return [];
    this.#waiting = [];
    const fragments = this.#fragmentsThisTurn;
    this.#fragmentsThisTurn = false;
    const sacks = waiting.filter((w) => w.type === CHUNK_SACK);
    const sack = sacks[sacks.length - 1];
    const packets: Buffer[] = [];
    // werift SACKs every packet it takes: the i-th SACK of a turn is its (i+1)-th packet's.
    const earlier = sacks.slice(0, -1).filter((w, i) => (w.chunk as SctpChunk).reportsGaps || (fragments && i % 2 === 1));
    for (const { chunk, tag } of earlier.slice(-MAX_EARLIER_SACKS)) {
      const bytes = sackBytes(chunk as SctpChunk);
      if (!bytes) continue;
      packets.push(this.#packet(tag, [bytes]));
      if ((chunk as SctpChunk).reportsGaps) this.sacksReportingGaps++;
    }
    if (sack && (sack.chunk as SctpChunk).reportsGaps) this.sacksReportingGaps++;
    const ordered = sack ? [sack, ...waiting.filter((w) => w.type !== CHUNK_SACK)] : waiting;
    let chunks: Array<Buffer | DataChunkFields> = [];
    let bytes = COMMON_HEADER;
    let tag = ordered[0]!.tag;
    for (const { type, chunk: waiting, tag: chunkTag } of ordered) {
      const chunk = type === CHUNK_SACK ? sackBytes(waiting as SctpChunk) : (waiting as Buffer | DataChunkFields);
      if (!chunk) continue;
      const length = paddedLength(chunk);
      if (chunks.length > 0 && (chunkTag !== tag || bytes + length > MAX_BUNDLE_BYTES)) {
        packets.push(this.#packet(tag, chunks));
        chunks = [];
        bytes = COMMON_HEADER;
      }
      tag = chunkTag;
      chunks.push(chunk);
      bytes += length;
    }
    if (chunks.length > 0) packets.push(this.#packet(tag, chunks));
    return packets;
  }

  #packet(verificationTag: number, chunks: Array<Buffer | DataChunkFields>): Buffer {
    const { local, remote } = this.ports();
    let size = COMMON_HEADER;
    for (const chunk of chunks) size += paddedLength(chunk);
    const packet = Buffer.allocUnsafe(size);
    packet.writeUInt16BE(local, 0);
    packet.writeUInt16BE(remote, 2);
    packet.writeUInt32BE(verificationTag >>> 0, 4);
    packet.writeUInt32LE(0, 8);
    let at = COMMON_HEADER;
    for (const chunk of chunks) at = writeChunk(chunk, packet, at);
    if (!this.senderSeals) packet.writeUInt32LE(crc32c(packet) >>> 0, 8);
    return packet;
  }
}

/**
 * A SACK werift cannot write (its gap blocks out of range after a crafted packet: found by the
 * fuzzing in test/engines/native-data-channels.test.ts) is dropped, as werift's own sendChunk
 * failure would be; it must not throw out of a setImmediate.
 */
function sackBytes(chunk: SctpChunk): Buffer | undefined {
  try {
    return chunk.bytes;
  } catch {
    return undefined;
  }
}
