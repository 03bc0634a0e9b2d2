import type { Logger } from 'pino';
import type { EchoPeer, Engine, NetworkOptions } from '../engines/engine.js';
import { OfferRefused } from '../engines/kit/refusal.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import { announcePublicAddresses } from '../sdp/public-address.js';
import { EchoError } from '../errors/echo-error.js';
import { Admission } from './admission.js';
import { EchoSession, type CloseReason, type SessionTimeouts } from './session.js';
import type { EchoMetrics } from './metrics.js';
import type { OfferReservation, SessionHost } from './session-host.js';

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

/** A slot of this process: its answer is the EchoSession itself. */
export interface SessionReservation extends OfferReservation {
  answer(offer: ParsedOffer): Promise<EchoSession>;
}

/**
 * Owns every session of this process: admits them (Admission), answers their offers with the
 * engine, and is the one place they are created and forgotten, so a count of zero really means
 * nothing is left.
 */
export class SessionRegistry implements SessionHost {
  private readonly sessions = new Map<string, EchoSession>();
  private readonly admission: Admission;

  constructor(
    private readonly engine: Engine,
    private readonly options: SessionRegistryOptions,
    private readonly log: Logger,
    private readonly metrics?: EchoMetrics,
  ) {
    this.admission = new Admission(options);
  }

  get size(): number {
    return this.sessions.size;
  }

  get engineName(): string {
    return this.engine.name;
  }

  get isDraining(): boolean {
    return this.admission.isDraining;
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

  reserve(client: string): SessionReservation {
    const slot = this.admission.reserve(client);
    return {
      answer: async (offer) => {
        try {
          slot.checkOpen();
          const session = await this.answer(offer, client);
          // No await from here on: admitted and registered in one step, or discarded.
          slot.admit(session.id, { connected: session.isConnected, discard: () => session.close('shutdown') });
          this.sessions.set(session.id, session);
          this.metrics?.created.inc();
          void session.closed.then((reason) => this.forget(session, reason));
          return session;
        } finally {
          slot.release();
        }
      },
      release: () => slot.release(),
    };
  }

  startDraining(): void {
    this.admission.startDraining();
  }

  whenEmpty(): Promise<void> {
    return this.admission.whenEmpty();
  }

  async closeAll(reason: CloseReason = 'shutdown'): Promise<void> {
    this.admission.shutDown();
    const all = this.list();
    for (const session of all) session.close(reason);
    await Promise.all(all.map((s) => s.closed));
  }

  /**
   * The engine's answer, as a session. A refusal of the stack (OfferRefused) is the client's
   * 422; anything else the engine throws is a bug: 500, with the error and the engine named.
   */
  private async answer(offer: ParsedOffer, client: string): Promise<EchoSession> {
    const log = this.log;
    const maxDataChannels = this.options.maxDataChannels;
    let channels = 0;
    let peer: EchoPeer;
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
      if (err instanceof OfferRefused) throw EchoError.offerRejected(err.message);
      if (err instanceof EchoError) throw err;
      throw EchoError.internal(err, { engine: this.engine.name });
    }
    const answer = { type: peer.answer.type, sdp: announcePublicAddresses(peer.answer.sdp, this.options.publicIps) };
    const session: EchoSession = new EchoSession(peer, answer, this.options, log, (ms) => {
      this.metrics?.connectSeconds.observe(ms / 1000);
      this.admission.connected(session.id);
    });
    return session;
  }

  private forget(session: EchoSession, reason: CloseReason): void {
    this.sessions.delete(session.id);
    this.admission.closed(session.id);
    const { counters } = session.summary();
    this.metrics?.closed.inc({ reason });
    this.metrics?.echoedPackets.inc(counters.rtpPackets);
    if (counters.rtpDropped) this.metrics?.droppedPackets.inc(counters.rtpDropped);
    this.metrics?.echoedMessages.inc(counters.messages);
  }
}
