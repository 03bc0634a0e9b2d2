/**
 * Data channels of one native session: SCTP (RFC 9260) and DCEP (RFC 8832) over the data
 * plane's DTLS application data, echoing every message on the channel it came on, text as
 * text and binary as binary, empty messages included (RFC 8831 §6.6).
 *
 * The SCTP association and DCEP are werift's (`RTCSctpTransport`, pinned to one version in
 * package.json): pure TypeScript already in our dependencies, run by our werift engine and
 * clients in every matrix cell, with DCEP, stream reset and partial reliability. It wants a
 * werift DTLS transport; what it uses of one (transport/sctp.js, setDtlsTransport and
 * BridgeDtls) is an id, `sendData`, a writable `dataReceiver`, `onStateChange` and
 * `iceTransport.role`, and the stand-in below gives exactly that over the plane
 * (test/engines/native-data-channels.test.ts holds werift to it). The alternative, usrsctp,
 * is a system library npm cannot install (Debian's libusrsctp 0.9.5 is from 2021), with
 * threads of its own and a few hundred lines of C++ glue in the addon.
 *
 * werift announces no Zero Checksum Acceptable (RFC 9653) in its INIT/INIT-ACK, so every
 * packet carries its CRC32c: pion 3.1's SCTP drops an INIT with that parameter
 * (docs/sctp-zero-checksum.md), and this adapter's `zeroChecksum` says so for the sub-checks.
 */
import { randomUUID } from 'node:crypto';
import { Event, RTCSctpTransport, type RTCDataChannel, type RTCDtlsTransport } from 'werift';
import { SctpBundler } from './sctp-bundle.js';
import { parseDataAndSacks, receiveDataAndSacks, type ReceivingAssociation } from './sctp-receive.js';
import { replaceRetransmissionTimer, type RetransmissionState } from './sctp-retransmission.js';
import { replaceTsnTracking, type TsnState } from './sctp-tsn.js';

/** RFC 8831 §6.6: an empty message travels as one byte with its own PPID. */
const PPID_STRING_EMPTY = 56;
const PPID_BINARY_EMPTY = 57;
const CHUNK_DATA = 0;
const CHUNK_INIT = 1;
const DATA_FLAG_END = 0x01;
/** werift's SCTP_STATE.CLOSED (lib/sctp/src/const.js): as the server, it stays there until the COOKIE-ECHO. */
const SCTP_STATE_CLOSED = 1;

/** The parts of werift 0.24's RTCSctpTransport this adapter reaches (private in its types). */
interface SctpInternals {
  datachannelReceive(streamId: number, ppId: number, data: Buffer): Promise<void>;
  sctp: {
    handleData(packet: Buffer): Promise<void>;
    sendChunk(chunk: { type: number; readonly bytes: Buffer }): Promise<void>;
    associationState: number;
    state: string;
    localPort: number;
    remotePort: number | undefined;
    remoteVerificationTag: number;
  };
  dataChannelQueue: Array<[RTCDataChannel, number, Buffer]>;
  dataChannelFlush(): Promise<void>;
}

export interface DataChannelEchoOptions {
  /** Sends SCTP packets in order, each one record of DTLS application data (`NativePlane.sendApplicationData`); false when it cannot now. */
  send(packets: Buffer[]): boolean;
  /** `send` writes each packet's CRC32c itself (the plane does, in C++): the bundles leave here without one. */
  senderSealsChecksum?: boolean;
  localPort: number;
  remotePort: number;
  /** What our answer announced: the largest message we take (0: no limit). */
  maxMessageSize: number;
  /** Asked once per channel the client opens; on false it is closed at once and never echoed. */
  admit?(label: string): boolean;
  /** Every channel the client opened is closed again (a data-channel-only client that is done sends no close_notify). */
  onAllClosed?(): void;
  /** Something went wrong inside SCTP with one packet or message; the association goes on. */
  onError?(error: unknown): void;
}

export interface DataChannelCounters {
  messages: number;
  messageBytes: number;
}

/**
 * What werift 0.24's RTCSctpTransport uses of its DTLS transport (transport/sctp.js:
 * setDtlsTransport, BridgeDtls, isServer), over anything that sends a packet. werift's SCTP
 * waits for the remote INIT when its ICE role is not controlling (our case: the client sends it).
 */
export function dtlsStandIn(send: (packet: Buffer) => boolean, state: Event<['closed' | 'new' | 'connected' | 'failed' | 'connecting']>, role: 'controlled' | 'controlling') {
  return {
    id: randomUUID(),
    iceTransport: { role },
    onStateChange: state,
    /** BridgeDtls sets it; DataChannelEcho.receive hands packets to the association itself. */
    dataReceiver: (_data: Buffer) => {},
    sendData: async (data: Buffer) => {
      if (!send(data)) throw new Error('DTLS cannot carry data now');
    },
  };
}

/** A DATA chunk (type 0) without its E flag (RFC 9260 §3.3.1): part of a message that spans packets. */
function carriesFragment(packet: Buffer): boolean {
  for (let at = 12; at + 4 <= packet.length; ) {
    if (packet[at] === CHUNK_DATA && (packet[at + 1]! & DATA_FLAG_END) === 0) return true;
    const length = packet.readUInt16BE(at + 2);
    if (length < 4) return false;
    at += (length + 3) & ~3;
  }
  return false;
}

export class DataChannelEcho {
  readonly counters: DataChannelCounters = { messages: 0, messageBytes: 0 };
  /** We never offer SCTP zero checksum (RFC 9653): pion 3.1 clients cannot take it. */
  readonly zeroChecksum = false;
  readonly #sctp: RTCSctpTransport;
  readonly #internals: SctpInternals;
  readonly #dtlsState = new Event<['closed' | 'new' | 'connected' | 'failed' | 'connecting']>();
  readonly #channels = new Set<RTCDataChannel>();
  readonly #bundler: SctpBundler;
  #started = false;
  #closed = false;
  /** The packets taken so far, handled in order (receive). */
  #inbound: Promise<void> = Promise.resolve();

  constructor(private readonly options: DataChannelEchoOptions) {
    const sctp = new RTCSctpTransport(options.localPort, options.maxMessageSize);
    const internals = sctp as unknown as SctpInternals;
    // werift calls its DCEP handler from an event without catching it: a message with an unknown
    // PPID, or an ACK for a channel it does not know, would be an unhandled rejection.
    const receive = internals.datachannelReceive;
    internals.datachannelReceive = (streamId, ppId, data) => receive(streamId, ppId, data).catch((error: unknown) => this.#error(error));
    sctp.setDtlsTransport(dtlsStandIn((packet) => options.send([packet]), this.#dtlsState, 'controlled') as unknown as RTCDtlsTransport);
    // werift's sendChunk, as it is (one packet per chunk), but for the bundling (sctp-bundle.ts).
    const association = internals.sctp;
    const bundler = new SctpBundler(options.send, () => ({ local: association.localPort, remote: association.remotePort! }), options.senderSealsChecksum);
    association.sendChunk = async (chunk) => {
      if (association.state === 'closed') return;
      if (association.remotePort === undefined) throw new Error('invalid remote port');
      bundler.add(chunk, association.remoteVerificationTag);
    };
    this.#bundler = bundler;
    // werift's own sorts TSNs as strings: wrong across a change of digits and slow (sctp-tsn.ts).
    replaceTsnTracking(association as unknown as TsnState);
    // werift waits at least 1 s to retransmit what fast retransmit missed, then resends what the
    // client already has (sctp-retransmission.ts).
    replaceRetransmissionTimer(association as unknown as RetransmissionState);
    // The client's limit bounds what we may send back: every message goes back as it came.
    sctp.setRemoteMaxMessageSize(options.maxMessageSize);
    sctp.setRemotePort(options.remotePort);
    sctp.onDataChannel.subscribe((channel) => this.#echo(channel));
    this.#sctp = sctp;
    this.#internals = internals;
  }

  /** SACKs we sent that reported gap blocks (sctp-bundle.ts): none on a path that loses and reorders nothing. */
  get sacksReportingGaps(): number {
    return this.#bundler.sacksReportingGaps;
  }

  /** Open channels, as the client sees them. */
  get channels(): number {
    return this.#channels.size;
  }

  /** Once DTLS is connected: the association starts (the client sends the INIT, we answer). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#sctp.start(this.options.remotePort).catch((error: unknown) => this.#error(error));
  }

  /**
   * One SCTP packet, decrypted (`app-data`). Never throws. `checksumVerified`: the plane found its
   * CRC32c right, so a packet of DATA and SACK chunks skips werift's parser (sctp-receive.ts).
   */
  receive(packet: Buffer, checksumVerified = false): void {
    if (this.#closed) return;
    // An INIT (chunk type 1, alone in its packet) after the first would restart the association
    // (RFC 9260 §5.2.2), which werift 0.24 does not implement: it resets its TSN state and then runs
    // out of memory (one crafted INIT took the process to the 1.5 GB heap limit; found by
    // test/engines/native-data-channels.test.ts). No WebRTC stack restarts SCTP inside one DTLS
    // session, so an INIT once the association is up is dropped.
    if (packet.length > 12 && packet[12] === CHUNK_INIT && this.#internals.sctp.associationState !== SCTP_STATE_CLOSED) return;
    if (carriesFragment(packet)) this.#bundler.noteFragment();
    // Straight to the association rather than through BridgeDtls, whose callback drops the promise;
    // one packet after the other: werift awaits a SACK's handling before the DATA bundled behind
    // it, so a packet taken meanwhile had its DATA marked first, and our SACKs reported gaps that
    // were not there (each a miss indication to the client, three a needless fast retransmit).
    // Nothing handleData awaits waits for the client: its one wait on the network, the transport's
    // flush after a SACK (for room in the congestion window), finds werift's queue empty, as every
    // send takes its own message off it at once (datachannelSend, dataChannelFlush).
    const sctp = this.#internals.sctp;
    const chunks = checksumVerified ? parseDataAndSacks(packet) : undefined;
    const handle = chunks ? () => receiveDataAndSacks(sctp as unknown as ReceivingAssociation, packet.readUInt32BE(4), chunks) : () => sctp.handleData(packet);
    this.#inbound = this.#inbound.then(handle).catch((error: unknown) => this.#error(error));
  }

  /** Idempotent: closes the association (an ABORT to the client while DTLS still carries it) and every channel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    // stop() sends its ABORT at once (sctp-bundle.ts: only DATA and SACK wait); after it nothing goes out.
    this.#sctp.stop().catch(() => undefined);
    this.#bundler.close();
    this.#dtlsState.execute('closed');
    this.#sctp.onDataChannel.allUnsubscribe();
  }

  #echo(channel: RTCDataChannel): void {
    if (this.#closed) return;
    if (this.options.admit?.(channel.label) === false) {
      channel.close();
      return;
    }
    this.#channels.add(channel);
    channel.stateChanged.subscribe((state) => {
      if (state !== 'closed' || !this.#channels.delete(channel) || this.#channels.size > 0 || this.#closed) return;
      try {
        this.options.onAllClosed?.();
      } catch (error) {
        this.#error(error);
      }
    });
    channel.onMessage.subscribe((data) => {
      if (this.#closed) return;
      this.counters.messages++;
      this.counters.messageBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      try {
        this.#send(channel, data);
      } catch (error) {
        this.#error(error);
      }
    });
  }

  /**
   * werift 0.24 sends an empty message as no DATA chunk at all while its stream sequence moves
   * on, which stalls the channel (src/engines/werift/messages.ts): empty messages go out as
   * RFC 8831 says, through werift's own send queue.
   */
  #send(channel: RTCDataChannel, data: string | Buffer): void {
    if (data.length > 0) {
      channel.send(data);
      return;
    }
    this.#internals.dataChannelQueue.push([channel, typeof data === 'string' ? PPID_STRING_EMPTY : PPID_BINARY_EMPTY, Buffer.from([0])]);
    this.#internals.dataChannelFlush().catch((error: unknown) => this.#error(error));
  }

  #error(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // the listener's own
    }
  }
}
