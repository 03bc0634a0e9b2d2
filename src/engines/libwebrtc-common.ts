/**
 * What the libwebrtc echo peer and client peer share: the addon, peer configuration, the bounded
 * wait for ICE gathering, state reporting with a single trailing `closed`, and stats sums.
 *
 * npm `@roamhq/wrtc` wraps Chromium's libwebrtc behind the W3C API, so its types are the DOM's
 * (RTCPeerConnection, MediaStreamTrack…), which TypeScript's default lib provides.
 */
import wrtc from '@roamhq/wrtc';
import type { IceState, PeerState } from './engine.js';

export const { RTCPeerConnection: WrtcPeerConnection, nonstandard } = wrtc;

/** No ICE servers: the Echo Test runs on one host or LAN (host candidates only). */
export const PEER_CONFIG: RTCConfiguration = { iceServers: [] };

/**
 * Resolves once gathering is complete, or after `timeoutMs` with whatever was gathered so far
 * (non-trickle: the description we hand out must carry every candidate we will ever have).
 */
export async function waitForGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<'complete' | 'timeout'> {
  if (pc.iceGatheringState === 'complete') return 'complete';
  let timer: NodeJS.Timeout | undefined;
  let listener: (() => void) | undefined;
  try {
    return await new Promise<'complete' | 'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      listener = () => {
        if (pc.iceGatheringState === 'complete') resolve('complete');
      };
      pc.addEventListener('icegatheringstatechange', listener);
    });
  } finally {
    clearTimeout(timer);
    if (listener) pc.removeEventListener('icegatheringstatechange', listener);
  }
}

const PEER_STATES: ReadonlySet<string> = new Set<PeerState>(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);
const ICE_STATES: ReadonlySet<string> = new Set<IceState>([
  'new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed',
]);

/**
 * Forwards the peer connection's states to our listeners. wrtc dispatches its events on a later
 * tick and handlers read the state at dispatch time, so the same state often arrives twice in a
 * row: repeats are dropped. libwebrtc reports `closed` only after a local close(); whoever closes,
 * `closed` is reported exactly once and last, by close().
 */
export class StateReporter {
  readonly #stateListeners: Array<(state: PeerState) => void> = [];
  readonly #iceListeners: Array<(state: IceState) => void> = [];
  #state: PeerState = 'new';
  #ice: IceState = 'new';
  #closed = false;

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  onState(listener: (state: PeerState) => void): void {
    this.#stateListeners.push(listener);
  }

  onIce(listener: (state: IceState) => void): void {
    this.#iceListeners.push(listener);
  }

  /** Subscribes to the peer's state events; `onNativeClosed` runs when libwebrtc says `closed`. */
  follow(pc: RTCPeerConnection, onNativeClosed: () => void): void {
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === 'closed') onNativeClosed();
      else if (PEER_STATES.has(state)) this.#reportState(state);
    };
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (state !== 'closed' && ICE_STATES.has(state)) this.#reportIce(state);
    };
  }

  /** Reports `closed` on both channels, once; later calls and events are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#reportIce('closed');
    this.#reportState('closed');
    this.#closed = true;
  }

  #reportState(state: PeerState): void {
    if (this.#closed || state === this.#state) return;
    this.#state = state;
    for (const listener of this.#stateListeners) this.#call(() => listener(state));
  }

  #reportIce(state: IceState): void {
    if (this.#closed || state === this.#ice) return;
    this.#ice = state;
    for (const listener of this.#iceListeners) this.#call(() => listener(state));
  }

  #call(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.onListenerError(err);
    }
  }
}

/** The W3C RTCStats fields we read; libwebrtc fills them, others may not. */
interface RtpStreamStats {
  type: string;
  kind?: string;
  packetsSent?: number;
  bytesSent?: number;
  headerBytesSent?: number;
  packetsReceived?: number;
  bytesReceived?: number;
  headerBytesReceived?: number;
  pliCount?: number;
  firCount?: number;
  dtlsState?: string;
}

export interface RtpTotals {
  /** outbound-rtp: packets and whole-packet bytes (header + payload) sent. */
  packetsSent: number;
  bytesSent: number;
  /** inbound-rtp: packets and whole-packet bytes received. */
  packetsReceived: number;
  bytesReceived: number;
  /** inbound-rtp pliCount + firCount: keyframe requests this peer sent to the remote sender. */
  keyframeRequestsSent: number;
  /** Whether a DTLS transport reads `closed`: the remote sent close_notify (RFC 5246 §7.2.1). */
  dtlsClosed: boolean;
}

/** Sums RTP stream stats, over every kind or only `kind`. */
export function sumRtpStats(report: RTCStatsReport, kind?: string): RtpTotals {
  const totals: RtpTotals = {
    packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, keyframeRequestsSent: 0, dtlsClosed: false,
  };
  report.forEach((value: RtpStreamStats) => {
    if (value.type === 'transport' && value.dtlsState === 'closed') totals.dtlsClosed = true;
    if (kind !== undefined && value.kind !== kind) return;
    if (value.type === 'outbound-rtp') {
      totals.packetsSent += value.packetsSent ?? 0;
      totals.bytesSent += (value.bytesSent ?? 0) + (value.headerBytesSent ?? 0);
    } else if (value.type === 'inbound-rtp') {
      totals.packetsReceived += value.packetsReceived ?? 0;
      totals.bytesReceived += (value.bytesReceived ?? 0) + (value.headerBytesReceived ?? 0);
      totals.keyframeRequestsSent += (value.pliCount ?? 0) + (value.firCount ?? 0);
    }
  });
  return totals;
}

interface CandidatePairStats {
  type: string;
  requestsReceived?: number;
  responsesReceived?: number;
  packetsReceived?: number;
}

/**
 * What has arrived over ICE, from `candidate-pair` stats: the peer's STUN checks, its answers
 * to ours (libwebrtc checks the selected pair every ~2.5 s), and every other packet. libwebrtc
 * M106 (@roamhq/wrtc 0.10) has no lastPacketReceivedTimestamp, so this is a count.
 */
export function inboundIceActivity(report: RTCStatsReport): number {
  let total = 0;
  report.forEach((value: CandidatePairStats) => {
    if (value.type !== 'candidate-pair') return;
    total += (value.requestsReceived ?? 0) + (value.responsesReceived ?? 0) + (value.packetsReceived ?? 0);
  });
  return total;
}

/** Data channel messages arrive as string or ArrayBuffer (binaryType `arraybuffer`); we hand out string or Buffer. */
export function toMessage(data: unknown): string | Buffer {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

export function messageBytes(data: string | ArrayBuffer | ArrayBufferView): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** Runs a cleanup step and swallows what it throws: close paths must not stop partway. */
export function safely(action: () => unknown, log: (err: unknown) => void): void {
  try {
    const result = action();
    if (result instanceof Promise) result.catch(log);
  } catch (err) {
    log(err);
  }
}
