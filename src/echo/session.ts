import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EchoCounters, EchoPeer, PeerState } from '../engines/engine.js';

/** Why a session ended; one value per path a session can leave by. */
export type CloseReason =
  | 'remote-closed'
  | 'ice-failed'
  | 'connection-failed'
  | 'disconnected'
  | 'connect-timeout'
  | 'max-lifetime'
  | 'shutdown'
  | 'error';

export interface SessionTimeouts {
  /** A session that is not connected this long after its answer is released. */
  connectTimeoutMs: number;
  /** A connected session is released after this long, whatever it does. */
  maxLifetimeMs: number;
  /** ICE `disconnected` may recover; after this long it is treated as gone. */
  disconnectGraceMs: number;
}

export interface SessionSummary {
  id: string;
  state: 'connecting' | 'connected' | 'closed';
  connectMs: number | undefined;
  ageMs: number;
  counters: EchoCounters;
}

/**
 * One client's echo session: owns its EchoPeer and its timers, and ends exactly once,
 * through close(), whichever path it leaves by.
 */
export class EchoSession {
  readonly id = randomUUID();
  readonly closed: Promise<CloseReason>;
  private readonly createdAt = performance.now();
  private connectedAt: number | undefined;
  private closeReason: CloseReason | undefined;
  private resolveClosed!: (reason: CloseReason) => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  private disconnectTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly peer: EchoPeer,
    private readonly timeouts: SessionTimeouts,
    log: Logger,
    private readonly onConnected: (connectMs: number) => void = () => {},
  ) {
    this.log = log.child({ session: this.id });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.schedule(timeouts.connectTimeoutMs, () => {
      if (this.connectedAt === undefined) this.close('connect-timeout');
    });
    peer.onStateChange((state) => this.handleState(state));
    peer.onIceStateChange((state) => {
      if (state === 'failed') this.close('ice-failed');
    });
    this.log.info({ event: 'session-created' }, 'session created');
  }

  get answer() {
    return this.peer.answer;
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  summary(): SessionSummary {
    return {
      id: this.id,
      state: this.closeReason ? 'closed' : this.connectedAt !== undefined ? 'connected' : 'connecting',
      connectMs: this.connectedAt === undefined ? undefined : Math.round(this.connectedAt - this.createdAt),
      ageMs: Math.round(performance.now() - this.createdAt),
      counters: { ...this.peer.counters },
    };
  }

  /** Idempotent: clears timers, closes the peer, and settles `closed` once. */
  close(reason: CloseReason): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.clearDisconnectTimer();
    try {
      this.peer.close();
    } catch (err) {
      this.log.warn({ err }, 'engine failed to close its peer');
    }
    const { counters, connectMs, ageMs } = this.summary();
    this.log.info(
      {
        event: 'session-closed',
        reason,
        connectMs,
        lifetimeMs: ageMs,
        rtpPackets: counters.rtpPackets,
        rtpDropped: counters.rtpDropped,
        rtpBytes: counters.rtpBytes,
        keyframeRequests: counters.keyframeRequests,
        messages: counters.messages,
        messageBytes: counters.messageBytes,
      },
      `session closed: ${reason}`,
    );
    this.resolveClosed(reason);
  }

  private handleState(state: PeerState): void {
    switch (state) {
      case 'connected': {
        this.clearDisconnectTimer();
        if (this.connectedAt !== undefined) return;
        this.connectedAt = performance.now();
        const connectMs = this.connectedAt - this.createdAt;
        this.log.info({ event: 'session-connected', connectMs: Math.round(connectMs * 10) / 10 }, 'session connected');
        this.onConnected(connectMs);
        this.schedule(this.timeouts.maxLifetimeMs, () => this.close('max-lifetime'));
        return;
      }
      case 'disconnected':
        if (!this.disconnectTimer) {
          this.disconnectTimer = setTimeout(() => this.close('disconnected'), this.timeouts.disconnectGraceMs);
        }
        return;
      case 'failed':
        this.close('connection-failed');
        return;
      case 'closed':
        this.close('remote-closed');
        return;
      default:
        return;
    }
  }

  private clearDisconnectTimer(): void {
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.disconnectTimer = undefined;
  }

  private schedule(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
