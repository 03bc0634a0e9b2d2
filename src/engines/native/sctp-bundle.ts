/**
 * The SCTP chunks werift writes in one turn of the event loop, sent as few packets (RFC 9260
 * §6.10 bundling). werift 0.24 makes a packet of every chunk and sends a SACK for every packet
 * it receives, so each message the echo answers costs two packets back (a SACK, then the echoed
 * DATA), each a DTLS record, a crossing to the data plane and a datagram the client has to read;
 * usrsctp and pion put the SACK in front of the DATA. Here the SACK rides in the packet of the
 * DATA that follows it, and small DATA chunks share packets, up to the size of the largest packet
 * werift makes itself.
 *
 * Only DATA and SACK wait (until `setImmediate`: after every event of the plane's batch and the
 * promise chains werift runs for each); any other chunk sends what waits and then goes out at
 * once, alone, as werift sent it (INIT-ACK and SHUTDOWN-COMPLETE must not be bundled, an ABORT
 * on close must not wait for a turn the session may not see).
 */
import { crc32c } from 'werift';

const CHUNK_DATA = 0;
const CHUNK_SACK = 3;
const COMMON_HEADER = 12;
/** werift's own largest packet: the common header and a DATA chunk of 1,200 bytes of user data (USERDATA_MAX_LENGTH). */
export const MAX_BUNDLE_BYTES = COMMON_HEADER + 16 + 1_200;

/** What a chunk of werift's gives us: `chunk.bytes` is the whole chunk, padded to 4 bytes. */
interface Chunk {
  type: number;
  readonly bytes: Buffer;
}

export class SctpBundler {
  #waiting: Array<{ chunk: Buffer; type: number; tag: number }> = [];
  #scheduled = false;
  #closed = false;

  constructor(
    private readonly send: (packet: Buffer) => boolean,
    private readonly ports: () => { local: number; remote: number },
  ) {}

  /** werift's `sendChunk`: a DATA or SACK chunk waits for the end of this turn, any other is sent at once. */
  add(chunk: Chunk, verificationTag: number): void {
    if (this.#closed) return;
    const bytes = chunk.bytes;
    if (chunk.type !== CHUNK_DATA && chunk.type !== CHUNK_SACK) {
      this.flush();
      this.#sendPacket(verificationTag, [bytes]);
      return;
    }
    this.#waiting.push({ chunk: bytes, type: chunk.type, tag: verificationTag });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Sends what waits. Only the last SACK counts (each one reports everything received so far),
   * and it goes first: control chunks before DATA in a packet (RFC 9260 §6.10), and the client
   * hears of our receipt as early as it can. DATA keeps werift's order.
   */
  flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    let sack: (typeof waiting)[number] | undefined;
    for (let i = waiting.length - 1; i >= 0 && !sack; i--) if (waiting[i]!.type === CHUNK_SACK) sack = waiting[i];
    const ordered = sack ? [sack, ...waiting.filter((w) => w.type !== CHUNK_SACK)] : waiting;
    let packet: Buffer[] = [];
    let bytes = COMMON_HEADER;
    let tag = ordered[0]!.tag;
    for (const { chunk, tag: chunkTag } of ordered) {
      if (packet.length > 0 && (chunkTag !== tag || bytes + chunk.length > MAX_BUNDLE_BYTES)) {
        this.#sendPacket(tag, packet);
        packet = [];
        bytes = COMMON_HEADER;
      }
      tag = chunkTag;
      packet.push(chunk);
      bytes += chunk.length;
    }
    this.#sendPacket(tag, packet);
  }

  /** Nothing more is sent, nothing waiting goes out. */
  close(): void {
    this.#closed = true;
    this.#waiting = [];
  }

  #sendPacket(verificationTag: number, chunks: Buffer[]): void {
    const { local, remote } = this.ports();
    const packet = Buffer.allocUnsafe(COMMON_HEADER + chunks.reduce((sum, c) => sum + c.length, 0));
    packet.writeUInt16BE(local, 0);
    packet.writeUInt16BE(remote, 2);
    packet.writeUInt32BE(verificationTag >>> 0, 4);
    packet.writeUInt32LE(0, 8);
    let at = COMMON_HEADER;
    for (const chunk of chunks) at += chunk.copy(packet, at);
    packet.writeUInt32LE(crc32c(packet) >>> 0, 8);
    // false: the session cannot carry data now; a lost packet, which SCTP's retransmission covers.
    this.send(packet);
  }
}
