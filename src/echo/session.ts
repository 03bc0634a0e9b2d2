import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { describePair, type EchoCounters, type EchoPeer, type PeerState, type Publication } from '../engines/engine.js';
import type { SessionDescription } from '../sdp/description.js';
import { EchoError } from '../errors/echo-error.js';
import { ECHO_ROLE, type SessionRole, type TricklePatch } from './session-host.js';
import { ifMatchSatisfied } from './entity-tag.js';

/** Why a session ended; one value per path a session can leave by. */
export type CloseReason =
  | 'remote-closed'
  | 'ice-failed'
  | 'connection-failed'
  | 'disconnected'
  | 'idle'
  | 'connect-timeout'
  | 'max-lifetime'
  | 'shutdown'
  /** The client's DELETE of its WHIP or WHEP resource. */
  | 'deleted'
  /** A WHEP viewer whose publisher's session ended. */
  | 'publisher-gone'
  | 'error';

export interface SessionTimeouts {
  /** A session that is not connected this long after its answer is released. */
  connectTimeoutMs: number;
  /** A connected session is released after this long, whatever it does. */
  maxLifetimeMs: number;
  /** ICE `disconnected` may recover; after this long it is treated as gone. */
  disconnectGraceMs: number;
  /**
   * A connected session from whose client nothing at all has arrived this long (no RTP or RTCP,
   * no data channel message, no ICE check or answer to ours) is released: the client vanished
   * without a goodbye. A live client, even an idle one, answers ICE every few seconds.
   */
  idleTimeoutMs: number;
}

/** How often a connected session reads its peer's inbound activity: a release comes this late at most. */
const IDLE_CHECK_MS = 500;
/** Liveness probes of a silent peer, at most this often. */
const PROBE_INTERVAL_MS = 1_000;

/** What a session knows of its client's ICE session, to take trickled candidates (WHIP/WHEP PATCH). */
export interface RemoteIce {
  ufrag?: string;
  pwd?: string;
  /** The offer's distinct candidates (candidateKey), counted against the limit with trickled ones. */
  candidates: ReadonlySet<string>;
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
  /** Random (a v4 UUID): a WHIP/WHEP resource URL is not to be guessed (RFC 9725, security considerations). */
  readonly id = randomUUID();
  /** The strong entity-tag of the client's ICE session: WHIP/WHEP ETag and If-Match (RFC 9725). */
  readonly etag = `"${randomBytes(12).toString('base64url')}"`;
  /** Candidates of the offer and trickled since (candidateKey). */
  private readonly remoteCandidates: Set<string>;
  readonly closed: Promise<CloseReason>;
  /** Settles when the session first connects; never, for one that does not. */
  readonly connected: Promise<void>;
  private resolveConnected!: () => void;
  private readonly createdAt = performance.now();
  private connectedAt: number | undefined;
  private closeReason: CloseReason | undefined;
  private resolveClosed!: (reason: CloseReason) => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  private disconnectTimer: NodeJS.Timeout | undefined;
  private idleCheck: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly peer: EchoPeer,
    /** What the client gets: the peer's answer, as the server announces it (public addresses). */
    readonly answer: SessionDescription,
    private readonly timeouts: SessionTimeouts,
    log: Logger,
    private readonly onConnected: (connectMs: number) => void = () => {},
    readonly role: SessionRole = ECHO_ROLE,
    private readonly remoteIce: RemoteIce = { candidates: new Set() },
  ) {
    this.remoteCandidates = new Set(remoteIce.candidates);
    this.log = log.child({ session: this.id, ...(role.kind === 'echo' ? {} : { role: role.kind }), ...(role.kind === 'viewer' ? { publisher: role.publisher } : {}) });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.connected = new Promise((resolve) => (this.resolveConnected = resolve));
    this.schedule(timeouts.connectTimeoutMs, () => {
      if (this.connectedAt === undefined) this.close('connect-timeout');
    });
    peer.onStateChange((state) => this.handleState(state));
    peer.onIceStateChange((state) => {
      if (state === 'failed') this.close('ice-failed');
    });
    this.log.info({ event: 'session-created' }, 'session created');
  }

  get isConnected(): boolean {
    return this.connectedAt !== undefined;
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /** A publisher's media, for its viewers (WHIP sessions of an engine with playback). */
  get publication(): Publication | undefined {
    return this.peer.publication;
  }

  /**
   * Takes a PATCH's trickled candidates (RFC 9725, trickle ICE), in the order RFC 9110 §13.2.2
   * evaluates: the precondition first (428 without If-Match, 412 for another ICE session), then
   * new ICE credentials (an ICE restart: 422, not done), then the candidate limit (422); then
   * every candidate goes to the stack. Throws EchoError.
   */
  trickle(patch: TricklePatch, engine: string): void {
    if (!this.peer.addRemoteCandidate) throw EchoError.methodNotAllowed('PATCH', 'DELETE');
    if (patch.ifMatch === undefined) throw EchoError.preconditionRequired();
    if (!ifMatchSatisfied(patch.ifMatch, this.etag)) throw EchoError.preconditionFailed(patch.ifMatch, this.etag);
    if (patch.ufrag !== undefined && (patch.ufrag !== this.remoteIce.ufrag || patch.pwd !== this.remoteIce.pwd)) {
      throw EchoError.iceRestartUnsupported(engine);
    }
    const fresh = patch.candidates.filter((c) => !this.remoteCandidates.has(c.key));
    const total = this.remoteCandidates.size + new Set(fresh.map((c) => c.key)).size;
    if (total > patch.maxCandidates) throw EchoError.tooManyCandidates(total, patch.maxCandidates);
    for (const candidate of fresh) {
      this.remoteCandidates.add(candidate.key);
      this.peer.addRemoteCandidate({ candidate: candidate.candidate, mid: candidate.mid });
    }
    this.log.info({ event: 'candidates-trickled', added: fresh.length, repeated: patch.candidates.length - fresh.length }, `${fresh.length} trickled candidates added`);
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
    clearInterval(this.idleCheck);
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
        this.onConnected(connectMs);
        this.resolveConnected();
        void this.peer.selectedPair().then((pair) => {
          // What the server's own stack says of DTLS, SRTP and SCTP, where its engine tells
          // (EchoPeer.transportFacts): the matrix reads it beside the client's sub-checks.
          const transport = this.peer.transportFacts?.();
          this.log.info({ event: 'session-connected', connectMs: Math.round(connectMs * 10) / 10, selectedPair: describePair(pair), ...(transport ? { transport } : {}) }, 'session connected');
        });
        this.schedule(this.timeouts.maxLifetimeMs, () => this.close('max-lifetime'));
        this.watchInboundActivity();
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

  /**
   * The idle rule: release once the peer's inbound activity count has not moved for
   * `idleTimeoutMs`. From half that on, the peer is asked to make the client answer
   * (probeLiveness), at most once a second.
   */
  private watchInboundActivity(): void {
    const { idleTimeoutMs } = this.timeouts;
    let last: number | undefined;
    let changedAt = performance.now();
    let probedAt = -Infinity;
    this.idleCheck = setInterval(() => {
      const now = performance.now();
      const activity = this.peer.inboundActivity();
      if (activity === undefined || activity !== last) {
        last = activity;
        changedAt = now;
        return;
      }
      const silentMs = now - changedAt;
      if (silentMs >= idleTimeoutMs) {
        this.log.debug({ silentMs: Math.round(silentMs) }, 'nothing received from the client');
        this.close('idle');
      } else if (silentMs >= idleTimeoutMs / 2 && now - probedAt >= PROBE_INTERVAL_MS) {
        probedAt = now;
        this.peer.probeLiveness();
      }
    }, Math.min(IDLE_CHECK_MS, idleTimeoutMs / 10));
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

