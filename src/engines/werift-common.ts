/**
 * What the werift echo peer and client peer share: peer configuration, the bounded wait for
 * ICE gathering, state reporting with a single trailing `closed`, and a DTLS close_notify.
 */
import type { RTCPeerConnectionConfig, RTCDtlsTransport, RTCPeerConnection } from 'werift';
import type { IceState, PeerState } from './engine.js';

/**
 * Options both sides use. No ICE servers (the Echo Test runs on one host or LAN). IPv4 only:
 * werift paces its connectivity checks 20 ms apart and keeps checking every pair before it
 * reports `connected`, so each IPv6 pair adds 20 ms on both sides (measured, see the report).
 */
export const BASE_PEER_CONFIG: RTCPeerConnectionConfig = {
  iceServers: [],
  iceUseIpv6: false,
  iceUseLinkLocalAddress: false,
};

/** Resolves when gathering is complete or `timeoutMs` passed, whichever comes first. */
export async function waitForGatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  let timer: NodeJS.Timeout | undefined;
  let subscription: { unSubscribe: () => void } | undefined;
  try {
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      subscription = pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') resolve();
      });
      if (pc.iceGatheringState === 'complete') resolve();
    });
  } finally {
    clearTimeout(timer);
    subscription?.unSubscribe();
  }
}

/**
 * Forwards werift's connection and ICE states to our listeners and guarantees the interface's
 * promise: `closed` is reported exactly once, last, whoever closed.
 */
export class StateReporter {
  private readonly stateListeners: Array<(state: PeerState) => void> = [];
  private readonly iceListeners: Array<(state: IceState) => void> = [];
  private lastIce: IceState = 'new';
  private closed = false;

  onState(listener: (state: PeerState) => void): void {
    this.stateListeners.push(listener);
  }

  onIce(listener: (state: IceState) => void): void {
    this.iceListeners.push(listener);
  }

  /** Subscribes to the peer's events; returns the unsubscribers. */
  follow(pc: RTCPeerConnection, onWeriftClosed: () => void): Array<() => void> {
    return [
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'closed') onWeriftClosed();
        else this.state(state);
      }).unSubscribe,
      pc.iceConnectionStateChange.subscribe((state) => {
        if (state !== 'closed') this.ice(state);
      }).unSubscribe,
    ];
  }

  state(state: Exclude<PeerState, 'closed'>): void {
    if (this.closed) return;
    for (const listener of this.stateListeners) listener(state);
  }

  ice(state: Exclude<IceState, 'closed'>): void {
    if (this.closed) return;
    // werift 0.24 reports `completed` once before `checking` when the gatherer finishes;
    // RTCIceConnectionState only reaches `completed` after checking, so that one is dropped.
    if (state === 'completed' && (this.lastIce === 'new' || this.lastIce === 'checking')) return;
    this.lastIce = state;
    for (const listener of this.iceListeners) listener(state);
  }

  /** Reports `closed` on both channels, once; later calls and events are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.iceListeners) safely(() => listener('closed'));
    for (const listener of this.stateListeners) safely(() => listener('closed'));
  }
}

/**
 * werift's close() tears down sockets without telling the peer (its DtlsTransport.stop() has
 * "todo impl send alert"), so a remote werift server only notices after the 30 s ICE consent
 * timeout. Browsers, pion and libdatachannel send a close_notify alert (RFC 5246 §7.2.1); this
 * does the same by encrypting one alert record through werift's DTLS socket, which has no API
 * for it: we borrow its application-data path and retag the record before encryption.
 */
export async function sendDtlsCloseNotify(dtls: RTCDtlsTransport | undefined): Promise<void> {
  const socket = dtls?.state === 'connected' ? (dtls.dtls as unknown as DtlsSocketInternals | undefined) : undefined;
  const cipher = socket?.cipher;
  if (!socket || typeof socket.send !== 'function' || typeof cipher?.encryptPacket !== 'function') return;
  const encryptPacket = cipher.encryptPacket.bind(cipher);
  const ALERT = 21;
  cipher.encryptPacket = (pkt) => {
    pkt.recordLayerHeader.contentType = ALERT;
    return encryptPacket(pkt);
  };
  let sent: Promise<void>;
  try {
    // AlertLevel warning (1), AlertDescription close_notify (0).
    sent = socket.send(Buffer.from([1, 0]));
  } finally {
    delete cipher.encryptPacket; // back to the prototype's method
  }
  await sent.catch(() => undefined);
  // werift does not wait for the datagram to leave; closing the socket at once would drop it.
  await new Promise((resolve) => setImmediate(resolve));
}

interface DtlsSocketInternals {
  send(data: Buffer): Promise<void>;
  cipher?: { encryptPacket?: (pkt: { recordLayerHeader: { contentType: number } }) => unknown };
}

export function safely(action: () => unknown): void {
  try {
    const result = action();
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // close paths must not throw; the peer is going away anyway
  }
}
