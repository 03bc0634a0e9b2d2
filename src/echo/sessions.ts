import type { Logger } from 'pino';
import type { Engine, NetworkOptions } from '../engines/engine.js';
import type { SessionDescription } from '../sdp/description.js';
import { announcePublicAddresses } from '../sdp/public-address.js';
import { EchoError } from '../errors/echo-error.js';
import { EchoSession, type CloseReason, type SessionTimeouts } from './session.js';
import type { EchoMetrics } from './metrics.js';
import type { CreateOptions, SessionHost } from './session-host.js';
import { UnconnectedPerClient } from './unconnected.js';

export interface SessionRegistryOptions extends SessionTimeouts {
  maxSessions: number;
  gatherTimeoutMs: number;
  /** How the echo peers gather and connect (ICE servers, ports). */
  network: NetworkOptions;
  /** Addresses announced in the answers' host candidates (1:1 NAT); empty: the local ones. */
  publicIps: readonly string[];
  /**
   * Sessions one client (an IPv4 address, an IPv6 /64) may hold before they connect, offers
   * being answered included. Default: 5% of maxSessions, at least 2.
   */
  maxUnconnectedPerAddress: number;
  /** Data channels a client may open over one session's life; later ones are closed at once. Default 16. */
  maxDataChannels: number;
}


/**
 * Owns every live session: enforces the session limits, and is the one place sessions are
 * created and forgotten, so a count of zero really means nothing is left.
 */
export class SessionRegistry implements SessionHost {
  private readonly sessions = new Map<string, EchoSession>();
  /** Offers being answered right now: they count against the limit before they exist. */
  private pending = 0;
  /** Per client: sessions not connected yet, and offers of it being answered. */
  private readonly unconnected: UnconnectedPerClient;
  private readonly clientOf = new Map<EchoSession, string>();
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
  ) {
    this.unconnected = new UnconnectedPerClient(options.maxUnconnectedPerAddress, options.connectTimeoutMs);
  }

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

  health(): Record<string, unknown> {
    return {};
  }

  async metricsText(): Promise<string> {
    return this.metrics ? this.metrics.registry.metrics() : '';
  }

  async create(offer: SessionDescription, { client, prepare }: CreateOptions = { client: 'local' }): Promise<EchoSession> {
    if (this.shuttingDown) throw EchoError.shuttingDown();
    if (this.draining) throw EchoError.draining();
    if (this.sessions.size + this.pending >= this.options.maxSessions) {
      throw EchoError.tooManySessions(this.options.maxSessions);
    }
    this.unconnected.reserve(client);
    this.pending++;
    let session: EchoSession;
    try {
      const prepared = prepare ? await prepare(offer) : offer;
      if (this.shuttingDown) throw EchoError.shuttingDown();
      session = await this.answer(prepared, client);
    } catch (err) {
      this.pending--;
      this.notifyIfEmpty();
      throw err;
    } finally {
      this.unconnected.release(client);
    }
    // Counted as pending until it is registered (no await between), so whenEmpty() never sees a gap.
    this.pending--;
    if (this.shuttingDown) {
      session.close('shutdown');
      this.notifyIfEmpty();
      throw EchoError.shuttingDown();
    }
    this.sessions.set(session.id, session);
    this.clientOf.set(session, client);
    if (!session.isConnected) this.unconnected.track(client, session.id);
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

  private async answer(offer: SessionDescription, client: string): Promise<EchoSession> {
    const log = this.log;
    const maxDataChannels = this.options.maxDataChannels;
    let channels = 0;
    let peer;
    try {
      peer = await this.engine.createEchoPeer(offer, {
        gatherTimeoutMs: this.options.gatherTimeoutMs,
        network: this.options.network,
        log,
        admitDataChannel: (label) => {
          if (++channels <= maxDataChannels) return true;
          log.warn({ event: 'datachannel-refused', client, label, maxDataChannels }, 'data channel over the limit closed');
          this.metrics?.dataChannelsRefused.inc();
          return false;
        },
      });
    } catch (err) {
      throw EchoError.offerRejected(err instanceof Error ? err.message : String(err));
    }
    const answer = { type: peer.answer.type, sdp: announcePublicAddresses(peer.answer.sdp, this.options.publicIps) };
    const session: EchoSession = new EchoSession(peer, answer, this.options, log, (ms) => {
      this.metrics?.connectSeconds.observe(ms / 1000);
      this.unconnected.untrack(client, session.id);
    });
    return session;
  }

  private forget(session: EchoSession, reason: CloseReason): void {
    this.sessions.delete(session.id);
    const client = this.clientOf.get(session);
    this.clientOf.delete(session);
    if (client !== undefined) this.unconnected.untrack(client, session.id);
    const { counters } = session.summary();
    this.metrics?.closed.inc({ reason });
    this.metrics?.echoedPackets.inc(counters.rtpPackets);
    if (counters.rtpDropped) this.metrics?.droppedPackets.inc(counters.rtpDropped);
    this.metrics?.echoedMessages.inc(counters.messages);
    this.notifyIfEmpty();
  }

  private notifyIfEmpty(): void {
    if (this.sessions.size > 0 || this.pending > 0) return;
    for (const resolve of this.emptyWaiters) resolve();
    this.emptyWaiters.clear();
  }
}
