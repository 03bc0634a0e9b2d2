import type { Logger } from 'pino';
import type { EchoPeer, EchoPeerOptions, Engine, EngineCapabilities, NetworkOptions } from '../engines/engine.js';
import { OfferRefused } from '../engines/kit/refusal.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import { announcePublicAddresses } from '../sdp/public-address.js';
import { keepLoopbackCandidates } from '../sdp/loopback-only.js';
import { planPlayback } from '../sdp/playback.js';
import { candidateKey, type Candidate } from '../sdp/candidate-line.js';
import { EchoError } from '../errors/echo-error.js';
import { Admission } from './admission.js';
import { EchoSession, type CloseReason, type RemoteIce, type SessionTimeouts } from './session.js';
import type { EchoMetrics } from './metrics.js';
import { ECHO_ROLE, type OfferReservation, type SessionHost, type SessionRole, type TricklePatch } from './session-host.js';

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
  /** WHEP viewers one WHIP publisher may have at once (each is a session too). Default 16. */
  maxViewersPerPublisher: number;
}

/** A slot of this process: its answer is the EchoSession itself. */
export interface SessionReservation extends OfferReservation {
  answer(offer: ParsedOffer, role?: SessionRole): Promise<EchoSession>;
}

/**
 * Owns every session of this process: admits them (Admission), answers their offers with the
 * engine, and is the one place they are created and forgotten, so a count of zero really means
 * nothing is left.
 */
export class SessionRegistry implements SessionHost {
  private readonly sessions = new Map<string, EchoSession>();
  /** Per publisher id, its live viewers (WHEP): they end with it. */
  private readonly viewers = new Map<string, Set<EchoSession>>();
  /** Per publisher id, viewers being answered: they count against --max-viewers before they exist. */
  private readonly pendingViewers = new Map<string, number>();
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

  get capabilities(): EngineCapabilities {
    return this.engine.capabilities;
  }

  roleOf(id: string): SessionRole | undefined {
    return this.sessions.get(id)?.role;
  }

  /** The live session `id`, or undefined. */
  get(id: string): EchoSession | undefined {
    return this.sessions.get(id);
  }

  async end(id: string, reason: CloseReason): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session) return false;
    session.close(reason);
    await session.closed;
    return true;
  }

  async trickle(id: string, patch: TricklePatch): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) throw EchoError.noSuchResource(`session ${id}`);
    session.trickle(patch, this.engine.name);
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
      answer: async (offer, role = ECHO_ROLE) => {
        try {
          slot.checkOpen();
          const session = await this.answer(offer, client, role);
          // No await from here on: admitted and registered in one step, or discarded.
          slot.admit(session.id, { connected: session.isConnected, discard: () => session.close('shutdown') });
          this.sessions.set(session.id, session);
          if (role.kind === 'viewer') this.addViewer(role.publisher, session);
          this.metrics?.created.inc();
          if (role.kind !== 'echo') this.metrics?.createdByRole.inc({ role: role.kind });
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
  private async answer(offer: ParsedOffer, client: string, role: SessionRole): Promise<EchoSession> {
    const log = this.log;
    const maxDataChannels = this.options.maxDataChannels;
    let channels = 0;
    const options: EchoPeerOptions = {
      gatherTimeoutMs: this.options.gatherTimeoutMs,
      network: this.options.network,
      log,
      admitDataChannel: (label) => {
        if (++channels <= maxDataChannels) return true;
        log.warn({ event: 'datachannel-refused', client, label, maxDataChannels }, 'data channel over the limit closed');
        this.metrics?.dataChannelsRefused.inc();
        return false;
      },
      ...(role.kind === 'publisher' && this.engine.capabilities.playback ? { publish: true } : {}),
    };
    const publisher = role.kind === 'viewer' ? this.publisherFor(role.publisher) : undefined;
    if (publisher) this.pendingViewers.set(publisher.id, (this.pendingViewers.get(publisher.id) ?? 0) + 1);
    let peer: EchoPeer;
    try {
      if (publisher) {
        const publication = publisher.publication!;
        const plan = planPlayback(offer.parsed, publication.tracks);
        peer = await this.engine.createViewerPeer!(offer, publication, plan, options);
      } else {
        peer = await this.engine.createEchoPeer(offer, options);
      }
    } catch (err) {
      if (err instanceof OfferRefused) throw EchoError.offerRejected(err.message);
      if (err instanceof EchoError) throw err;
      throw EchoError.internal(err, { engine: this.engine.name });
    } finally {
      if (publisher) this.releasePendingViewer(publisher.id);
    }
    const local = this.options.network.loopbackOnly ? keepLoopbackCandidates(peer.answer.sdp) : peer.answer.sdp;
    const answer = { type: peer.answer.type, sdp: announcePublicAddresses(local, this.options.publicIps) };
    const session: EchoSession = new EchoSession(
      peer,
      answer,
      this.options,
      log,
      (ms) => {
        this.metrics?.connectSeconds.observe(ms / 1000);
        this.admission.connected(session.id);
      },
      role,
      remoteIceOf(offer),
    );
    // The publisher may have ended while the viewer's answer was made.
    if (publisher?.isClosed) {
      session.close('publisher-gone');
      throw EchoError.noSuchResource(`WHIP session ${publisher.id}`);
    }
    return session;
  }

  /**
   * The live publisher a viewer asks for, or the EchoError that says why there is none to
   * watch: no such WHIP session (404), an engine without playback (501), too many viewers (503).
   */
  private publisherFor(id: string): EchoSession {
    const publisher = this.sessions.get(id);
    if (!publisher || publisher.isClosed || publisher.role.kind !== 'publisher') throw EchoError.noSuchResource(`WHIP session ${id}`);
    if (!this.engine.capabilities.playback || !this.engine.createViewerPeer || !publisher.publication) throw EchoError.playbackUnsupported(this.engine.name);
    const max = this.options.maxViewersPerPublisher;
    if ((this.viewers.get(id)?.size ?? 0) + (this.pendingViewers.get(id) ?? 0) >= max) throw EchoError.tooManyViewers(max);
    return publisher;
  }

  private releasePendingViewer(id: string): void {
    const left = (this.pendingViewers.get(id) ?? 1) - 1;
    if (left > 0) this.pendingViewers.set(id, left);
    else this.pendingViewers.delete(id);
  }

  private addViewer(publisher: string, viewer: EchoSession): void {
    let set = this.viewers.get(publisher);
    if (!set) this.viewers.set(publisher, (set = new Set()));
    set.add(viewer);
  }

  private forget(session: EchoSession, reason: CloseReason): void {
    this.sessions.delete(session.id);
    this.admission.closed(session.id);
    const { role } = session;
    if (role.kind === 'viewer') this.viewers.get(role.publisher)?.delete(session);
    if (role.kind === 'publisher') {
      // Its viewers have nothing left to watch.
      const viewers = this.viewers.get(session.id);
      this.viewers.delete(session.id);
      for (const viewer of viewers ?? []) viewer.close('publisher-gone');
    }
    const { counters } = session.summary();
    this.metrics?.closed.inc({ reason });
    if (role.kind === 'viewer') this.metrics?.forwardedPackets.inc(counters.rtpPackets);
    else this.metrics?.echoedPackets.inc(counters.rtpPackets);
    if (counters.rtpDropped) this.metrics?.droppedPackets.inc(counters.rtpDropped);
    this.metrics?.echoedMessages.inc(counters.messages);
  }
}

/** The client's ICE credentials and the offer's candidates, for trickled candidates later. */
function remoteIceOf(offer: ParsedOffer): RemoteIce {
  const parts = [offer.parsed, ...offer.parsed.media] as Array<{ iceUfrag?: string; icePwd?: string; candidates?: Candidate[] }>;
  const candidates = new Set(parts.flatMap((p) => (p.candidates ?? []).map(candidateKey)));
  const ufrag = parts.find((p) => p.iceUfrag !== undefined)?.iceUfrag;
  const pwd = parts.find((p) => p.icePwd !== undefined)?.icePwd;
  return { candidates, ...(ufrag !== undefined ? { ufrag: String(ufrag) } : {}), ...(pwd !== undefined ? { pwd: String(pwd) } : {}) };
}
