/**
 * Which DATA chunks of the client we have (RFC 9260 §6.2: the cumulative TSN, gap blocks and
 * duplicates of our SACKs), in place of werift 0.24's `markReceived`, `sendSack` and
 * `receiveForwardTsnChunk` (RFC 3758 §3.6). All three of werift's sort the TSNs they hold out of
 * order with `Array.prototype.sort()` and no comparator, which compares numbers as strings:
 * - **wrong** across a change in the number of digits (99 < 100 but "100" < "99") and at the 2^32
 *   wrap: werift stops advancing its cumulative TSN and reports gap blocks out of order, so the
 *   client retransmits what we have. We order by serial-number distance from the cumulative TSN.
 * - **wasteful** on the echo's hot path: two spreads, a string sort and a new Set for every DATA
 *   chunk (number-to-string conversion and sorting showed as ~3% of the server's JavaScript thread
 *   in a `perf` profile of the data channel bench; messages/s did not move measurably without
 *   them). In order, the common case, this is one comparison.
 *
 * Everything else (when a SACK is due, duplicates' lifetime, a_rwnd) is werift's behaviour as it
 * was; test/engines/native-sctp-tsn.test.ts holds both to it.
 */

/** SCTP chunk type of a SACK (RFC 9260 §3.3.4). */
const CHUNK_SACK = 3;

/** The parts of werift 0.24's SCTP association (lib/sctp/src/sctp.js) this replaces or reads. */
export interface TsnState {
  lastReceivedTsn: number;
  sackMisOrdered: Set<number>;
  sackDuplicates: number[];
  sackNeeded: boolean;
  sackPacketCount: number;
  sackImmediate: boolean;
  advertisedRwnd: number;
  readonly isStopped: boolean;
  markReceived(tsn: number): boolean;
  sendSack(): Promise<void>;
  sendChunk(chunk: { type: number; readonly bytes: Buffer; reportsGaps?: boolean }): Promise<void>;
  receiveForwardTsnChunk(chunk: ForwardTsn): void;
  inboundStreams: Record<number, InboundStream>;
  getInboundStream(streamId: number): InboundStream;
  /** Delivers one message to the data channels. */
  receive(streamId: number, ppId: number, data: Buffer): void;
}

/** werift's FORWARD-TSN chunk: the new cumulative TSN and, per ordered stream, the last sequence number skipped. */
export interface ForwardTsn {
  cumulativeTsn: number;
  streams: Array<[number, number]>;
}

/** werift's reassembly of one inbound stream. */
interface InboundStream {
  streamSequenceNumber: number;
  popMessages(): Iterable<[number, number, Buffer]>;
  /** Drops chunks at or before `tsn`; the bytes they held. */
  pruneChunks(tsn: number): number;
}

/** a after b in serial-number arithmetic (RFC 1982 on 32 bits), as werift's uint32Gt. */
function after(a: number, b: number): boolean {
  const distance = (a - b) >>> 0;
  return distance !== 0 && distance < 0x8000_0000;
}

/**
 * Records a received TSN. True for a duplicate (werift's contract: the SACK then goes at once
 * and the chunk is not delivered again).
 */
export function markReceived(state: TsnState, tsn: number): boolean {
  const last = state.lastReceivedTsn;
  if (!after(tsn, last) || state.sackMisOrdered.has(tsn)) {
    state.sackDuplicates.push(tsn);
    return true;
  }
  if (tsn === ((last + 1) >>> 0) && state.sackMisOrdered.size === 0) {
    state.lastReceivedTsn = tsn;
  } else {
    state.sackMisOrdered.add(tsn);
    advanceOverHeld(state);
  }
  forgetPassedDuplicates(state);
  return false;
}

/** The cumulative TSN moves on over the TSNs held just after it. */
function advanceOverHeld(state: TsnState): void {
  let next = (state.lastReceivedTsn + 1) >>> 0;
  while (state.sackMisOrdered.delete(next)) {
    state.lastReceivedTsn = next;
    next = (next + 1) >>> 0;
  }
}

/** werift forgets duplicates once the cumulative TSN passes them; so do we. */
function forgetPassedDuplicates(state: TsnState): void {
  if (state.sackDuplicates.length > 0) state.sackDuplicates = state.sackDuplicates.filter((d) => after(d, state.lastReceivedTsn));
}

/**
 * The peer abandoned everything up to `chunk.cumulativeTsn` (RFC 3758 §3.6): the cumulative TSN
 * moves there and on over what we hold after it; what waits in reassembly is delivered or pruned,
 * as werift does.
 */
export function receiveForwardTsn(state: TsnState, chunk: ForwardTsn): void {
  state.sackNeeded = true;
  state.sackImmediate = true;
  if (!after(chunk.cumulativeTsn, state.lastReceivedTsn)) return;
  state.lastReceivedTsn = chunk.cumulativeTsn >>> 0;
  for (const tsn of state.sackMisOrdered) if (!after(tsn, state.lastReceivedTsn)) state.sackMisOrdered.delete(tsn);
  advanceOverHeld(state);
  forgetPassedDuplicates(state);
  for (const [streamId, sequence] of chunk.streams) {
    const stream = state.getInboundStream(streamId);
    stream.streamSequenceNumber = (sequence + 1) & 0xffff;
    for (const message of stream.popMessages()) {
      state.advertisedRwnd += message[2].length;
      state.receive(...message);
    }
  }
  for (const stream of Object.values(state.inboundStreams)) state.advertisedRwnd += stream.pruneChunks(state.lastReceivedTsn);
}

/** What one SACK reports, taken when werift sends it. */
export interface SackContent {
  cumulativeTsn: number;
  advertisedRwnd: number;
  /** The TSNs held beyond the cumulative one, any order. */
  received: readonly number[];
  duplicates: readonly number[];
}

/** The SACK chunk (RFC 9260 §3.3.4): gap blocks in TSN order, at most 65,535 of each kind. */
export function sackChunk(content: SackContent): Buffer {
  const cumulative = content.cumulativeTsn;
  const offsets = content.received.map((tsn) => (tsn - cumulative) >>> 0).sort((a, b) => a - b);
  const gaps: Array<[number, number]> = [];
  for (const offset of offsets) {
    // A gap block says its offsets in 16 bits; no peer runs that far ahead of our window.
    if (offset > 0xffff || gaps.length === 0xffff) break;
    const open = gaps[gaps.length - 1];
    if (open && offset === open[1] + 1) open[1] = offset;
    else gaps.push([offset, offset]);
  }
  const duplicates = content.duplicates.slice(0, 0xffff);
  const bytes = Buffer.alloc(16 + 4 * (gaps.length + duplicates.length));
  bytes.writeUInt8(CHUNK_SACK, 0);
  bytes.writeUInt16BE(bytes.length, 2);
  bytes.writeUInt32BE(cumulative >>> 0, 4);
  bytes.writeUInt32BE(Math.max(0, Math.min(content.advertisedRwnd, 0xffff_ffff)), 8);
  bytes.writeUInt16BE(gaps.length, 12);
  bytes.writeUInt16BE(duplicates.length, 14);
  let at = 16;
  for (const [start, end] of gaps) {
    bytes.writeUInt16BE(start, at);
    bytes.writeUInt16BE(end, at + 2);
    at += 4;
  }
  for (const tsn of duplicates) {
    bytes.writeUInt32BE(tsn >>> 0, at);
    at += 4;
  }
  return bytes;
}

/** Puts these in place of the association's own (its sendChunk stays whatever it is). */
export function replaceTsnTracking(association: TsnState): void {
  association.markReceived = (tsn) => markReceived(association, tsn);
  association.receiveForwardTsnChunk = (chunk) => receiveForwardTsn(association, chunk);
  association.sendSack = async () => {
    if (association.isStopped || !association.sackNeeded) return;
    // Written only if sent: the bundler (sctp-bundle.ts) keeps a turn's last SACK, and some before
    // it while data is missing or a large message comes in; it drops the rest.
    const content: SackContent = {
      cumulativeTsn: association.lastReceivedTsn,
      advertisedRwnd: association.advertisedRwnd,
      received: association.sackMisOrdered.size > 0 ? [...association.sackMisOrdered] : [],
      duplicates: association.sackDuplicates,
    };
    const reportsGaps = content.received.length > 0;
    await association.sendChunk({ type: CHUNK_SACK, reportsGaps, get bytes() { return sackChunk(content); } }).catch(() => undefined);
    // As werift: what this SACK reported is done with (a new array: `content` keeps the old one).
    association.sackDuplicates = [];
    association.sackNeeded = false;
    association.sackPacketCount = 0;
    association.sackImmediate = false;
  };
}
