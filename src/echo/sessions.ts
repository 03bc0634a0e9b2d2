import type { Logger } from 'pino';
import type { Engine, SessionDescription } from '../engines/engine.js';
import { EchoError } from '../errors/echo-error.js';
import { EchoSession, type CloseReason, type SessionTimeouts } from './session.js';
import type { EchoMetrics } from './metrics.js';
import type { SessionHost } from './session-host.js';

export interface SessionRegistryOptions extends SessionTimeouts {
  maxSessions: number;
  gatherTimeoutMs: number;
}

/**
 * Owns every live session: enforces the session limit, and is the one place sessions are
 * created and forgotten, so a count of zero really means nothing is left.
 */
export class SessionRegistry implements SessionHost {
  private readonly sessions = new Map<string, EchoSession>();
  /** Offers being answered right now: they count against the limit before they exist. */
  private pending = 0;
  private shuttingDown = false;

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

  list(): EchoSession[] {
    return [...this.sessions.values()];
  }

  async create(offer: SessionDescription): Promise<EchoSession> {
    if (this.shuttingDown) throw EchoError.shuttingDown();
    if (this.sessions.size + this.pending >= this.options.maxSessions) {
      throw EchoError.tooManySessions(this.options.maxSessions);
    }
    this.pending++;
    let peer;
    try {
      peer = await this.engine.createEchoPeer(offer, { gatherTimeoutMs: this.options.gatherTimeoutMs, log: this.log });
    } catch (err) {
      throw EchoError.offerRejected(err instanceof Error ? err.message : String(err));
    } finally {
      this.pending--;
    }
    const session = new EchoSession(peer, this.options, this.log, (ms) => this.metrics?.connectSeconds.observe(ms / 1000));
    if (this.shuttingDown) {
      session.close('shutdown');
      throw EchoError.shuttingDown();
    }
    this.sessions.set(session.id, session);
    this.metrics?.created.inc();
    void session.closed.then((reason) => this.forget(session, reason));
    return session;
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
    if (counters.rtpDropped) this.metrics?.droppedPackets.inc(counters.rtpDropped);
    this.metrics?.echoedMessages.inc(counters.messages);
  }
}
