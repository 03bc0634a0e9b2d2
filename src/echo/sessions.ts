import type { Logger } from 'pino';
import type { Engine, NetworkOptions, SessionDescription } from '../engines/engine.js';
import { announcePublicAddresses } from '../sdp/public-address.js';
import { EchoError } from '../errors/echo-error.js';
import { EchoSession, type CloseReason, type SessionTimeouts } from './session.js';
import type { EchoMetrics } from './metrics.js';

export interface SessionRegistryOptions extends SessionTimeouts {
  maxSessions: number;
  gatherTimeoutMs: number;
  /** How the echo peers gather and connect (ICE servers, ports). */
  network: NetworkOptions;
  /** Addresses announced in the answers' host candidates (1:1 NAT); empty: the local ones. */
  publicIps: readonly string[];
}

/**
 * Owns every live session: enforces the session limit, and is the one place sessions are
 * created and forgotten, so a count of zero really means nothing is left.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, EchoSession>();
  /** Offers being answered right now: they count against the limit before they exist. */
  private pending = 0;
  private shuttingDown = false;
  /** Draining: no new offers, live sessions go on (SIGTERM; see EchoServer.drain). */
  private draining = false;
  /** Waiters for the moment nothing is left: no session and no offer being answered. */
  private readonly emptyWaiters = new Set<() => void>();

  constructor(
    private readonly engine: Engine,
    private readonly options: SessionRegistryOptions,
    private readonly log: Logger,
    private readonly metrics?: EchoMetrics,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get engineName(): string {
    return this.engine.name;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  list(): EchoSession[] {
    return [...this.sessions.values()];
  }

  async create(offer: SessionDescription): Promise<EchoSession> {
    if (this.shuttingDown) throw EchoError.shuttingDown();
    if (this.draining) throw EchoError.draining();
    if (this.sessions.size + this.pending >= this.options.maxSessions) {
      throw EchoError.tooManySessions(this.options.maxSessions);
    }
    this.pending++;
    let peer;
    try {
      peer = await this.engine.createEchoPeer(offer, { gatherTimeoutMs: this.options.gatherTimeoutMs, network: this.options.network, log: this.log });
    } catch (err) {
      this.pending--;
      this.notifyIfEmpty();
      throw EchoError.offerRejected(err instanceof Error ? err.message : String(err));
    }
    const answer = { type: peer.answer.type, sdp: announcePublicAddresses(peer.answer.sdp, this.options.publicIps) };
    const session = new EchoSession(peer, answer, this.options, this.log, (ms) => this.metrics?.connectSeconds.observe(ms / 1000));
    // Counted as pending until it is registered, so that whenEmpty() never sees a gap between the two.
    this.pending--;
    if (this.shuttingDown) {
      session.close('shutdown');
      this.notifyIfEmpty();
      throw EchoError.shuttingDown();
    }
    this.sessions.set(session.id, session);
    this.metrics?.created.inc();
    void session.closed.then((reason) => this.forget(session, reason));
    return session;
  }

  /**
   * Stops accepting offers (they get ECHO_ERR_DRAINING) and leaves live sessions alone. An offer
   * already being answered is still answered: its client was accepted before the drain began.
   */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves once no session is alive and no offer is being answered. */
  whenEmpty(): Promise<void> {
    if (this.sessions.size === 0 && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.add(resolve));
  }

  /** Stops accepting offers, closes every session, and resolves once all are gone. */
  async closeAll(reason: CloseReason = 'shutdown'): Promise<void> {
    this.shuttingDown = true;
    const all = this.list();
    for (const session of all) session.close(reason);
    await Promise.all(all.map((s) => s.closed));
  }

  private forget(session: EchoSession, reason: CloseReason): void {
    this.sessions.delete(session.id);
    const { counters } = session.summary();
    this.metrics?.closed.inc({ reason });
    this.metrics?.echoedPackets.inc(counters.rtpPackets);
    this.metrics?.echoedMessages.inc(counters.messages);
    this.notifyIfEmpty();
  }

  private notifyIfEmpty(): void {
    if (this.sessions.size > 0 || this.pending > 0) return;
    for (const resolve of this.emptyWaiters) resolve();
    this.emptyWaiters.clear();
  }
}
